"""Helpers every benchmark shares: Django setup on a throw-away database and the result writer."""

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def setup_django(sqlite_path: Path | None = None, fresh: bool = True) -> None:
    """Configure Django; with `sqlite_path`, on a migrated SQLite database there (emptied first if `fresh`)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if sqlite_path is not None:
        if fresh:
            sqlite_path.unlink(missing_ok=True)
        os.environ["SQLITE_PATH"] = str(sqlite_path)
    import django

    django.setup()
    if sqlite_path is not None:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def machine() -> str:
    system = f"{platform.system()} {platform.release()}"
    return f"{platform.machine()} {os.cpu_count()} cpu, {system}, Python {platform.python_version()}"


def write_results(name: str, values: dict[str, Any], title: str, markdown: str | None = None) -> Path:
    """Merge flat dotted keys into results/<name>.json (keeping keys other scripts own) and write a table.

    The table goes to results/<markdown or name>.md; it lists only `values` when `markdown` is given.
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    merged = json.loads(path.read_text()) if path.exists() else {}
    merged.update(values)
    merged["meta.date"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    merged["meta.machine"] = machine()
    path.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    rows = [
        f"| {key} | {value:.4g} |" if isinstance(value, float) else f"| {key} | {value} |"
        for key, value in sorted((values if markdown else merged).items())
    ]
    table = f"# {title}\n\n| key | value |\n|---|---|\n" + "\n".join(rows) + "\n"
    (RESULTS / f"{markdown or name}.md").write_text(table)
    return path
