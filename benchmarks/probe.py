"""Issue 21's probes rerun as one bounded command: bad input, permission escapes, lost derived work, a stalled
worker, and beat entries no worker registers. Writes benchmarks/results/reliability.json.

- probe.server_errors: the fuzzer's hostile cases (NUL bytes in parameters, bodies and facets, repeated
  parameters, JSON nested 10,000 deep) and generated examples on every operation (`benchmarks/fuzz.py --quick`
  in a throw-away folder), counting 5xx answers.
- probe.permission_escapes: the view-only-staff admin walk (every admin action and custom admin page), the
  visitor-history permission and the visitor-identity probes (a visitor id never signs anyone in), as tests:
  each failed case is one escape.
- beat.unregistered_tasks: beat entries whose task a freshly started worker process does not register.
- faults.lost_derived_work, faults.worker_stall_recovery_seconds: the two fault tests on a private
  redis-server with a real Celery worker (tests/integration/test_derived_work_lost.py: the broker comes back
  empty after 30 products were saved; test_worker_stall_recovery.py: Redis hung 20 s with SIGSTOP/SIGCONT).
  Needs PostgreSQL (PG_URL, default the CI database) and redis-server; skipped with --no-faults.

Run: .venv/bin/python benchmarks/probe.py [--no-faults]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from common import ROOT, write_results

PERMISSION_TESTS = [
    "tests/unit/test_h21_admin_permissions.py",
    "tests/unit/test_h21_visitor_history.py",
    "tests/unit/test_h21_visitor_identity.py",
]
FAULT_TESTS = ["tests/integration/test_derived_work_lost.py", "tests/integration/test_worker_stall_recovery.py"]
UNREGISTERED = """
import json, django
django.setup()
from config.celery import app
app.loader.import_default_modules()
print(json.dumps([e["task"] for e in app.conf.beat_schedule.values() if e["task"] not in app.tasks]))
"""


def pytest_cases(paths: list[str], env: dict[str, str], extra: list[str]) -> tuple[int, int, str]:
    """(cases run, cases failed, captured output) of a pytest run over `paths`."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "junit.xml"
        command = [sys.executable, "-m", "pytest", *paths, "-q", "-p", "no:randomly", f"--junitxml={report}", *extra]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
        if not report.exists():
            raise SystemExit(f"pytest did not run: {done.stdout[-2000:]}{done.stderr[-2000:]}")
        suite = ET.parse(report).getroot()
        suite = suite if suite.tag == "testsuite" else suite[0]
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        return int(suite.get("tests", 0)) - int(suite.get("skipped", 0)), failed, done.stdout


def server_errors() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "BENCH_RESULTS_DIR": folder}
        command = [sys.executable, "benchmarks/fuzz.py", "--quick", "--workdir", folder]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
        if done.returncode != 0:
            raise SystemExit(f"fuzz.py failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
        values = json.loads(next(Path(folder).glob("fuzz*.json")).read_text())
    requests = next(v for k, v in values.items() if k.endswith("requests"))
    errors = next(v for k, v in values.items() if k.endswith("server_errors"))
    return float(requests), float(errors)


def unregistered_tasks() -> list[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", UNREGISTERED], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def faults() -> dict[str, float]:
    env = {
        **os.environ,
        "DATABASE_URL": os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/test"),
        "REDIS_URL": "redis://127.0.0.1:6379/14",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/15",
        "SECRET_KEY": "probe-only",
        "DEBUG": "0",
        "SECURE_COOKIES": "0",
    }
    cases, failed, output = pytest_cases(FAULT_TESTS, env, ["-m", "integration", "-s"])
    if failed:
        print(f"{failed} fault test(s) failed:\n{output[-4000:]}", file=sys.stderr)
    lost = re.search(r"faults\.lost_derived_work = (\d+)", output)
    stall = re.search(r"faults\.worker_stall_recovery_seconds = ([\d.]+|None)", output)
    return {
        "faults.tests": float(cases),
        "faults.tests_failed": float(failed),
        "faults.lost_derived_work": float(lost.group(1)) if lost else float("nan"),
        "faults.worker_stall_recovery_seconds": float(stall.group(1)) if stall and stall.group(1) != "None" else -1.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-faults", action="store_true", help="Skip the PostgreSQL + Redis + worker fault tests.")
    args = parser.parse_args()
    requests, errors = server_errors()
    cases, escapes, _ = pytest_cases(PERMISSION_TESTS, {**os.environ}, [])
    unregistered = unregistered_tasks()
    values = {
        "probe.requests": requests,
        "probe.server_errors": errors,
        "probe.permission_cases": float(cases),
        "probe.permission_escapes": float(escapes),
        "beat.unregistered_tasks": float(len(unregistered)),
    }
    if not args.no_faults:
        values.update(faults())
    table = [
        "| probe | result |",
        "|---|---|",
        f"| hostile and generated requests, 5xx answers | {requests:.0f} requests, {errors:.0f} server errors |",
        f"| view-only staff and visitor-identity cases, escapes | {cases} cases, {escapes} escapes |",
        f"| beat entries no worker registers | {len(unregistered)} {unregistered or ''} |",
    ]
    if not args.no_faults:
        table += [
            f"| derived work lost when Redis came back empty | {values['faults.lost_derived_work']:.0f} |",
            f"| worker stall (Redis hung 20 s) recovered in | {values['faults.worker_stall_recovery_seconds']} s |",
        ]
    write_results("reliability", values, "Reliability and security probes (issue 21)", table=table)
    for key, value in sorted(values.items()):
        print(f"{key:40} {value}")


if __name__ == "__main__":
    main()
