"""The README's figures table, rendered from benchmarks/results/*.json: every figure there comes from a results file.

    .venv/bin/python benchmarks/readme_figures.py            # rewrite the table between the markers in README.md
    .venv/bin/python benchmarks/readme_figures.py --check    # exit 1 with a diff when README.md differs (make lint)

Each row names the results file (and its run's date and commit) it comes from, and puts the strongest baseline
measured in the same run beside the headline figure, saying so when the baseline is ahead. A figure whose key is
missing is rendered as not measured, never guessed. `--check` also fails when a results file lacks the run stamp
`meta.commit` / `meta.command` (benchmarks/common.write_results writes both).
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.figure_rows import ROWS, Missing, Results  # noqa: E402

START, END = "<!-- figures:start -->", "<!-- figures:end -->"
# JSON files in results/ that are not a run's results (the duplicate scorer similarity.py trains and saves).
NOT_RESULTS = {"duplicate_scorer.json"}
REQUIRED_META = ("meta.commit", "meta.command")


def render(directory: Path) -> str:
    """The figures block (markers included) from the results files in `directory`."""
    r = Results(directory)
    lines = [
        START,
        "<!-- rendered by benchmarks/readme_figures.py from benchmarks/results/*.json: edit those, not this -->",
        "",
        "| what | result | strongest baseline, same run | from |",
        "|---|---|---|---|",
    ]
    for row in ROWS:
        try:
            cells = row(r)
        except Missing as missing:
            cells = (row.__qualname__.split(".")[0].removesuffix("_row"), f"not measured ({missing})", "—", "—")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([*lines, END])


def replace_block(readme: str, block: str) -> str:
    if START not in readme or END not in readme:
        raise SystemExit(f"README has no {START} ... {END} block")
    head, rest = readme.split(START, 1)
    return head + block + rest.split(END, 1)[1]


def unstamped(directory: Path) -> list[str]:
    """Results files without the run stamp keys."""
    problems = []
    for path in sorted(directory.glob("*.json")):
        if path.name in NOT_RESULTS:
            continue
        values = json.loads(path.read_text())
        missing = [key for key in REQUIRED_META if key not in values]
        if missing:
            problems.append(f"{path.name}: no {', '.join(missing)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 with a diff when the README differs")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = parser.parse_args(argv)
    current = args.readme.read_text()
    wanted = replace_block(current, render(args.results))
    if not args.check:
        if wanted != current:
            args.readme.write_text(wanted)
        print(f"{args.readme}: figures rendered from {args.results}")
        return 0
    failed = False
    for problem in unstamped(args.results):
        print(f"results file without its run stamp: {problem}", file=sys.stderr)
        failed = True
    if wanted != current:
        diff = difflib.unified_diff(current.splitlines(), wanted.splitlines(), "README.md", "rendered", lineterm="")
        print("\n".join(diff))
        print("README figures differ from the results files: run benchmarks/readme_figures.py", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
