"""Bought-together serving through gunicorn on 127.0.0.1: the Groceries shop imported, built, then loaded.

Imports the Groceries preset into a throw-away SQLite site (167 products, 14,963 orders) the normal
way, times the build from the database (rules + graph + validation-chosen blend), starts gunicorn and
drives GET /api/v1/products/{id}/bought-together and POST /api/v1/basket/complete with `wrk`
(Debian package) for a bounded time, random products / baskets of 1-5 products per request.

Run alone: .venv/bin/python benchmarks/bought_together_api.py [--seconds 15] [--workers 2] [--quick]
(benchmarks/bought_together.py --api runs it too, into its own file). Writes api.* keys to
bought_together_api.json (--quick: 3 s per run, bought_together_api.quick.json).
"""

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from api_load import gunicorn_site, run_wrk
from common import setup_django, write_results

GET_LUA = """
local ids = {%s}
request = function()
  return wrk.format("GET", "/api/v1/products/" .. ids[math.random(#ids)] .. "/bought-together?limit=4")
end
"""
POST_LUA = """
local ids = {%s}
request = function()
  local n = math.random(5)
  local basket = {}
  for i = 1, n do basket[i] = ids[math.random(#ids)] end
  local body = '{"product_ids": [' .. table.concat(basket, ",") .. '], "limit": 4}'
  return wrk.format("POST", "/api/v1/basket/complete", {["Content-Type"] = "application/json"}, body)
end
"""


def prepare_site(workdir: Path) -> tuple[list[int], float]:
    os.environ["VAR_DIR"] = str(workdir / "var")
    setup_django(workdir / "site.sqlite3", fresh=True)
    from django.conf import settings

    from catalog.models import Product
    from catalog.services import import_preset
    from recommend.bought_together.services import bought_together_build
    from recommend.core.jobs import automatic_jobs_suspended

    with automatic_jobs_suspended():
        import_preset(name="groceries", data_dir=settings.SHOP_DATA_DIR)
    started = time.monotonic()
    version = bought_together_build()
    build_seconds = time.monotonic() - started
    print(f"built {version} in {build_seconds:.1f}s: {version.metrics}")
    return list(Product.objects.values_list("pk", flat=True)), build_seconds


def measure_api(seconds: int = 15, workers: int = 2, connections: int = 4, port: int = 8775) -> dict[str, Any]:
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install -y wrk")
    workdir = Path(tempfile.mkdtemp(prefix="bt-api-"))
    ids, build_seconds = prepare_site(workdir)
    results: dict[str, Any] = {
        "api.build_from_database_s": round(build_seconds, 1),
        "api.gunicorn_workers": workers,
        "api.connections": connections,
        "api.seconds": seconds,
    }
    sample = ",".join(map(str, random.Random(0).sample(ids, len(ids))))
    try:
        with gunicorn_site(workdir, workers=workers, port=port):
            for name, script in (("product", GET_LUA % sample), ("basket", POST_LUA % sample)):
                for key, value in run_wrk(script, seconds, connections, port).items():
                    results[f"api.{name}.{key}"] = value
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="3 s per run (smoke run)")
    args = parser.parse_args()
    results = measure_api(3 if args.quick else args.seconds, args.workers, args.connections)
    write_results("bought_together_api", results, "Bought-together API through gunicorn (wrk)", quick=args.quick)
    for key, value in sorted(results.items()):
        print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
