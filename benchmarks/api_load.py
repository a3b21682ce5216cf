"""Load test of the serving path: similar items (and search) through gunicorn on 127.0.0.1.

Builds a throw-away SQLite site with the 20,000 Flipkart products, runs the similar-items build
(real MiniLM embeddings), starts gunicorn with the production settings shape, and drives it with
`wrk` (Debian package) for a bounded time, every request for a random product.

Run: .venv/bin/python benchmarks/api_load.py [--seconds 20] [--workers 3] [--connections 4] [--workdir DIR] [--quick]
Writes api.similar.{p50_ms,p99_ms,rps} (and api.search.*) to benchmarks/results/api_load.{json,md}
(--quick: 500 products, 3 s per run, api_load.quick.*).
"""

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common import ROOT, setup_django, write_results

LUA = """
local ids = {%s}
request = function()
  return wrk.format("GET", "/api/v1/products/" .. ids[math.random(#ids)] .. "/similar?strategy=%s&limit=10")
end
"""
SEARCH_LUA = """
local queries = {%s}
request = function()
  return wrk.format("GET", "/api/v1/search?q=" .. queries[math.random(#queries)] .. "&limit=10")
end
"""


def prepare_site(workdir: Path, limit: int | None) -> list[int]:
    """Import and build; an earlier run's site in `workdir` is reused (its embeddings too)."""
    os.environ["VAR_DIR"] = str(workdir / "var")
    setup_django(workdir / "site.sqlite3", fresh=False)
    from django.conf import settings

    from catalog.models import Product
    from catalog.services import import_preset
    from recommend.core.jobs import automatic_jobs_suspended
    from recommend.core.registry import active_version_id
    from recommend.models import ModelVersion
    from recommend.similarity.services import similarity_build

    if active_version_id(ModelVersion.Kind.SIMILAR) is None:
        with automatic_jobs_suspended():
            import_preset(name="flipkart", data_dir=settings.SHOP_DATA_DIR, limit=limit)
        started = time.monotonic()
        version = similarity_build(progress=lambda f, m: print(f"\r{f:5.0%} {m[:60]:60}", end="", flush=True))
        print(f"\nbuilt {version} in {time.monotonic() - started:.0f}s")
    return list(Product.objects.values_list("pk", flat=True))


def parse_wrk(output: str) -> dict[str, float]:
    def ms(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", output, re.M))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "p50_ms": round(ms(percentiles["50"]), 2),
        "p99_ms": round(ms(percentiles["99"]), 2),
        "rps": round(rps, 1),
        "errors": float(errors.group(1)) if errors else 0.0,
    }


def run_wrk(script: str, seconds: int, connections: int, port: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    url = f"http://127.0.0.1:{port}"
    # Warm-up pass (fills the per-process caches), then the measured run.
    subprocess.run(["wrk", "-t1", f"-c{connections}", "-d5s", "-s", handle.name, url], capture_output=True, check=True)
    result = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", handle.name, url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    print(result.stdout)
    return parse_wrk(result.stdout)


@contextmanager
def gunicorn_site(
    workdir: Path, *, workers: int, port: int, extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Serve `workdir`'s SQLite site (or `extra_env`'s DATABASE_URL) with gunicorn on 127.0.0.1:`port` until the
    block ends (ready when it starts); the block gets the gunicorn master process."""
    env = {
        **os.environ,
        "SQLITE_PATH": str(workdir / "site.sqlite3"),
        "VAR_DIR": str(workdir / "var"),
        "SECRET_KEY": "load-test-only",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_COOKIES": "0",
        "LOG_LEVEL": "WARNING",
        "API_THROTTLE": "0",  # the load tests measure the server, not the rate limiter
        **(extra_env or {}),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        wait_until_ready(server, f"http://127.0.0.1:{port}/api/v1/categories/?depth=1", workers=workers)
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a busy machine: do not leave it behind, do not fail the run for it
            server.kill()
            server.wait(timeout=30)


def wait_until_ready(server: subprocess.Popen[bytes], url: str, *, workers: int, seconds: float = 300) -> None:
    """Block until `url` answered 200 `workers` times in a row (every worker booted and imported the site), or
    fail with a clear message when the server died or the deadline passed. A loaded machine can take a minute:
    the deadline is generous because measuring a server that is not up yet measures nothing."""
    deadline = time.monotonic() + seconds
    answered = 0
    while answered < workers:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with code {server.returncode} before answering {url}")
        if time.monotonic() > deadline:
            raise SystemExit(f"gunicorn did not answer {url} within {seconds:.0f} s")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                answered = answered + 1 if response.status == 200 else 0
        except OSError:
            answered = 0
            time.sleep(0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--limit", type=int, default=None, help="Only the first N Flipkart products.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--redis", default="redis://127.0.0.1:6379/13", help="Shared cache as in production ('' = per-process memory)."
    )
    parser.add_argument("--workdir", type=Path, default=None, help="Reuse an earlier run's site and embeddings.")
    parser.add_argument("--quick", action="store_true", help="500 products, 3 s per run (smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.limit, args.seconds = args.limit or 500, 3
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install -y wrk")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="api-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    ids = prepare_site(workdir, args.limit)
    extra_env: dict[str, str] = {}
    if args.redis:
        import redis

        redis.Redis.from_url(args.redis).flushdb()
        extra_env.update(REDIS_URL=args.redis, CELERY_BROKER_URL=args.redis)
    with gunicorn_site(workdir, workers=args.workers, port=args.port, extra_env=extra_env):
        sample = random.Random(0).sample(ids, min(len(ids), 5000))
        results: dict[str, float] = {
            "api.products": float(len(ids)),
            "api.gunicorn_workers": float(args.workers),
            "api.redis_cache": float(bool(args.redis)),
            "api.connections": float(args.connections),
            "api.seconds": float(args.seconds),
        }
        for key, value in run_wrk(
            LUA % (",".join(map(str, sample)), "hybrid"), args.seconds, args.connections, args.port
        ).items():
            results[f"api.similar.{key}"] = value
        queries = ["iphone+case", "running+shoes", "cotton+kurta", "wall+clock", "baby+girl+dress", "sofa+cover"]
        search_script = SEARCH_LUA % ",".join(f'"{q}"' for q in queries)
        # Unmeasured warm-up: each worker loads the text encoder (seconds) on its first search; a
        # running site has long done that, and the p99 should not be three model loads.
        run_wrk(search_script, 3, args.workers, args.port)
        for key, value in run_wrk(search_script, args.seconds, 4, args.port).items():
            results[f"api.search.{key}"] = value
    title = (
        f"API load: gunicorn {args.workers} workers, wrk {args.connections} connections x {args.seconds}s, "
        f"{len(ids)} products, cache {'Redis' if args.redis else 'per-process memory'}"
    )
    write_results("api_load", results, title, quick=args.quick)
    for key, value in sorted(results.items()):
        print(f"{key:28} {value}")


if __name__ == "__main__":
    main()
