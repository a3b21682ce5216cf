"""API fuzzing, the longer run: every operation of the OpenAPI schema with more generated examples than the
unit test (tests/unit/test_h14_fuzz.py), valid and invalid inputs, anonymous and with a staff token; then the
hand-written hostile cases (tests/fuzzing_edge_cases.py: NUL bytes in query parameters, JSON bodies and storefront
facets, repeated parameters with a NUL first or last, JSON nested 10,000 deep) on every operation and page.

A throw-away SQLite site with the built-in sample catalog (catalog/sample_data.py); requests go through the
WSGI app in process (no server, nothing leaves the machine). Search runs the real text encoder.

Run: .venv/bin/python benchmarks/fuzz.py [--examples 40] [--workdir DIR] [--quick]  (--quick: 3 examples, fuzz.quick.*)
Writes fuzz.requests, fuzz.server_errors, fuzz.schema_violations (targets 0 and 0), fuzz.edge_cases and fuzz.operations
into benchmarks/results/fuzz.json, the failures found (if any) into fuzz.failures, and a table to fuzz.md.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, setup_django, write_results


def prepare_site(workdir: Path) -> str:
    """The sample catalog and a staff token; returns the token."""
    os.environ["VAR_DIR"] = str(workdir / "var")
    setup_django(workdir / "site.sqlite3")
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from catalog.sample_data import write_sample_dataset
    from catalog.services import import_preset
    from recommend.core.jobs import automatic_jobs_suspended

    data_dir = write_sample_dataset(workdir / "sample")
    with automatic_jobs_suspended():
        for name in ("flipkart", "groceries"):
            import_preset(name=name, data_dir=data_dir, limit=300)
    staff = User.objects.create_superuser("fuzz-staff", "fuzz@example.com", "fuzz-only-password")
    return Token.objects.create(user=staff).key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=40, help="Examples per operation, mode and role.")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="3 examples per operation, mode and role (smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.examples = 3
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="fuzz-"))
    token = prepare_site(workdir)
    sys.path.insert(0, str(ROOT))
    from tests.fuzzing import fuzz_api
    from tests.fuzzing_edge_cases import database_refusing_nul

    started = time.monotonic()
    with database_refusing_nul():  # SQLite would store a NUL byte that PostgreSQL refuses: fail as there
        report = fuzz_api(
            roles={"anonymous": {}, "staff": {"Authorization": f"Token {token}"}}, max_examples=args.examples
        )
    seconds = time.monotonic() - started
    failures = report.server_errors + report.schema_violations
    for failure in failures[:50]:
        print(failure)
    values: dict[str, object] = {
        **report.summary(),
        "fuzz.examples_per_operation": float(args.examples),
        "fuzz.seconds": round(seconds, 1),
        "fuzz.failures": [f"{f['operation']} [{f['role']}, {f['status']}]: {f['error']}" for f in failures[:20]],
        **{f"fuzz.status.{status}": float(count) for status, count in sorted(report.by_status.items())},
    }
    table = [
        "| measure | value |",
        "|---|---|",
        f"| operations (every one in /api/schema/) | {report.operations} |",
        f"| requests (positive + negative, anonymous + staff) | {report.requests} |",
        f"| of which hand-written (NUL, repeated parameters, deep JSON) | {report.edge_cases} |",
        f"| server errors (5xx other than a documented 503) | {len(report.server_errors)} |",
        f"| responses that break the schema | {len(report.schema_violations)} |",
    ]
    path = write_results("fuzz", values, "API fuzzing (schemathesis)", quick=args.quick, table=table)
    print(f"{report.requests} requests, {len(report.server_errors)} server errors, "
          f"{len(report.schema_violations)} schema violations in {seconds:.0f}s -> {path}")  # fmt: skip


if __name__ == "__main__":
    main()
