"""Helpers every benchmark shares: Django setup on a throw-away database and the result writer."""

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# BENCH_RESULTS_DIR: where a run writes (CI's short load run writes to a temporary folder).
RESULTS = Path(os.environ.get("BENCH_RESULTS_DIR") or ROOT / "benchmarks" / "results")


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


def write_results(
    name: str,
    values: dict[str, Any],
    title: str,
    markdown: str | None = None,
    *,
    replace_prefixes: tuple[str, ...] = (),
    replace_all: bool = False,
    table: list[str] | None = None,
) -> Path:
    """The one result writer: merge flat dotted keys into results/<name>.json and write a Markdown table.

    Keys other scripts own are kept; keys starting with `replace_prefixes` (sections this run measured
    again) are dropped first, and `replace_all` starts from an empty file. `meta.date` and `meta.machine`
    are set (a script may pass its own `meta.machine`). The table goes to results/<markdown or name>.md:
    the script's own `table` lines (headline rows) followed by every key, or only the key/value rows
    (of `values` when `markdown` is given, of the whole file otherwise).
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    merged = {} if replace_all or not path.exists() else json.loads(path.read_text())
    merged = {key: value for key, value in merged.items() if not key.startswith(replace_prefixes)}
    merged.update(values)
    merged["meta.date"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    merged["meta.machine"] = values.get("meta.machine", machine())
    path.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    rows = [
        f"| {key} | {value:.4g} |" if isinstance(value, float) else f"| {key} | {value} |"
        for key, value in sorted((values if markdown else merged).items())
    ]
    header = f"# {title}\n\n"
    if table is not None:
        header += f"{merged['meta.date']} on {merged['meta.machine']}.\n\n" + "\n".join(table) + "\n\nAll keys:\n\n"
    (RESULTS / f"{markdown or name}.md").write_text(header + "| key | value |\n|---|---|\n" + "\n".join(rows) + "\n")
    return path
