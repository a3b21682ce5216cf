"""Helpers every benchmark shares: Django setup on a throw-away database and the result writer.

One invocation of a benchmark writes one results file, `results/<name>[.<part>][.quick].json`, with every
key that run measured and nothing else, stamped with what produced it (`meta.commit`, `meta.command`,
`meta.date`, `meta.machine`, `meta.load_avg_start` / `meta.load_avg_end`, `meta.wall_seconds`). A partial
rerun (one section, the API only, ...) names its `part` and writes its own file; nothing is merged from an
earlier run. benchmarks/readme_figures.py renders the README's figures from these files.
"""

import json
import os
import platform
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# BENCH_RESULTS_DIR: where a run writes (CI's short runs and `make benchmarks` write to a temporary folder).
RESULTS = Path(os.environ.get("BENCH_RESULTS_DIR") or ROOT / "benchmarks" / "results")
META_KEYS = (
    "meta.commit",
    "meta.command",
    "meta.date",
    "meta.machine",
    "meta.load_avg_start",
    "meta.load_avg_end",
    "meta.wall_seconds",
)
# The run starts when a benchmark imports this module (before it loads data or models).
_STARTED = time.monotonic()
_LOAD_START = os.getloadavg()


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


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """CPU model and cores, OS and Python: where a figure was measured."""
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu_model()}, {os.cpu_count()} cores, {system}, Python {platform.python_version()}"


def git_commit(root: Path = ROOT) -> str:
    """HEAD's hash, with `-dirty` when the working tree has changes; 'unknown' outside a git checkout."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            # Results files written by earlier runs are not code: they do not make a run "dirty".
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!benchmarks/results"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}-dirty" if status else head


_COMMIT = git_commit()  # the code this run started from


def command_line() -> str:
    """The command that started this run, as it could be typed again."""
    return shlex.join([Path(sys.executable).name, *sys.argv])


def run_meta() -> dict[str, Any]:
    """The stamp of this run: commit, command, date, machine, load average at start and end, wall seconds."""
    return {
        "meta.commit": _COMMIT,
        "meta.command": command_line(),
        "meta.date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "meta.machine": machine(),
        "meta.load_avg_start": [round(x, 2) for x in _LOAD_START],
        "meta.load_avg_end": [round(x, 2) for x in os.getloadavg()],
        "meta.wall_seconds": round(time.monotonic() - _STARTED, 1),
    }


def results_name(name: str, part: str | None = None, quick: bool = False) -> str:
    """`name`, `name.part`, `name.quick` or `name.part.quick`: the file stem one kind of run writes."""
    return ".".join([name, *([part] if part else []), *(["quick"] if quick else [])])


def write_results(
    name: str,
    values: dict[str, Any],
    title: str,
    *,
    part: str | None = None,
    quick: bool = False,
    table: list[str] | None = None,
    directory: Path | None = None,
) -> Path:
    """Write this run's `values` (flat dotted keys) to results/<stem>.json and a Markdown table to <stem>.md.

    The file holds this run only: an earlier file of the same stem is replaced, never merged. `part` names a
    partial run (e.g. one section) so it never replaces the whole run's file; `quick` (a smoke run on small
    slices) adds `.quick`. The run's stamp (`run_meta`) is added; a script may add its own `meta.*` notes.
    The Markdown holds the script's own `table` lines (headline rows) followed by every key.
    """
    directory = directory or RESULTS
    directory.mkdir(parents=True, exist_ok=True)
    stem = results_name(name, part, quick)
    stamped = {**values, **run_meta(), "meta.quick": bool(quick)}
    if part:
        stamped["meta.part"] = part
    path = directory / f"{stem}.json"
    path.write_text(json.dumps(stamped, indent=2, sort_keys=True) + "\n")
    rows = [
        f"| {key} | {value:.4g} |" if isinstance(value, float) else f"| {key} | {value} |"
        for key, value in sorted(stamped.items())
    ]
    header = f"# {title}\n\n{stamped['meta.date']}, commit {stamped['meta.commit']}, on {stamped['meta.machine']}.\n"
    header += f"Command: `{stamped['meta.command']}`.\n\n"
    if table is not None:
        header += "\n".join(table) + "\n\nAll keys:\n\n"
    (directory / f"{stem}.md").write_text(header + "| key | value |\n|---|---|\n" + "\n".join(rows) + "\n")
    return path
