"""Import speed on SQLite: 20,000 Flipkart products and 198,502 Amazon Beauty interactions.

Run: .venv/bin/python benchmarks/import_speed.py [--quick]  ->  benchmarks/results/import.json and import.md
(--quick: the first 2,000 rows of each file, written to import.quick.*)
Each import runs on a fresh database (first run, the slow case); a second run measures re-import.
"""

import argparse
import tempfile
import time
from pathlib import Path

from common import setup_django, write_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="the first 2,000 rows of each file (smoke run)")
    args = parser.parse_args()
    limit = 2000 if args.quick else None
    workdir = Path(tempfile.mkdtemp(prefix="import-bench-"))
    setup_django(workdir / "bench.sqlite3")
    from django.conf import settings

    from catalog.services import import_preset

    data_dir = args.data_dir or settings.SHOP_DATA_DIR
    results: dict[str, float | int] = {}

    started = time.perf_counter()
    (flipkart,) = import_preset(name="flipkart", data_dir=data_dir, limit=limit)
    results["flipkart.seconds"] = round(time.perf_counter() - started, 2)
    results["flipkart.products"] = flipkart.created + flipkart.updated
    results["flipkart.errors"] = len(flipkart.errors)
    started = time.perf_counter()
    (again,) = import_preset(name="flipkart", data_dir=data_dir, limit=limit)
    results["flipkart.reimport_seconds"] = round(time.perf_counter() - started, 2)
    results["flipkart.reimport_created"] = again.created

    items, interactions = import_preset(name="beauty", data_dir=data_dir, limit=limit)
    results["beauty.items"] = items.created
    results["beauty.items_seconds"] = round(items.seconds, 2)
    results["beauty.interactions"] = interactions.created
    results["beauty.seconds"] = round(interactions.seconds, 2)
    _, again_interactions = import_preset(name="beauty", data_dir=data_dir, limit=limit)
    results["beauty.reimport_seconds"] = round(again_interactions.seconds, 2)
    results["beauty.reimport_created"] = again_interactions.created

    path = write_results("import", results, "Import speed (SQLite, fresh database)", quick=args.quick)
    for key, value in sorted(results.items()):
        print(f"{key:32} {value}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
