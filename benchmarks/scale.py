"""Scale-out: a synthetic catalogue of --products (default 1,000,000) on PostgreSQL, its similar-items
model built through the project's own code, and the similar-items and search APIs measured through
gunicorn on 127.0.0.1 (wrk), with their parts (ANN query, lexical query, query encoder) timed alone.

The catalogue lives in its own database (--db, default scale_bench, created here and dropped at the end
unless --keep): a category tree (departments > product types > a few hundred leaves), brands, and titles
built from a vocabulary (brand, topic words, qualifier, product type, colour, material, model code), so a
word query matches anything from one row (a model code) to a tenth of the catalogue (a colour).

Vectors are NOT the text encoder's: embedding 1M titles takes hours on 2 cores. They are the clustered
384-d unit vectors of benchmarks/similarity_ann.py (matched to real MiniLM statistics); each leaf
category holds products of one or two vector topics. Everything after the vectors is the project's build:
`SimilarityArtifact.write` (HNSW above SIMILAR_EXACT_MAX_SIZE), `content_lists` (same-leaf exact search,
then the index), `hybrid_lists` and `similar_item_rows` (content and hybrid rows, 10 per product each, as
a build without behaviour stores), the artifact stored, registered and activated through
recommend.core.registry. Two loads take a faster road than the build (each is also timed the build's way
on a sample): the neighbour rows go in with COPY instead of INSERT batches, and the search table
`recommend_product_search` is filled with one INSERT ... SELECT (the build's to_tsvector expression) instead
of one upsert per product. Not built: the core vector table (ProductVector) and the duplicate scan.

Serving runs with the production shape (DEBUG=0, PostgreSQL, --redis as cache when given), 2 gunicorn
workers, throttles off. Cold means the application caches cannot answer: the similar-items cache is off
(SIMILAR_CACHE_SECONDS=0) and each request asks for another product / another query (so the query encoder
runs every time); PostgreSQL's and the OS's caches are warm as on a running site. SEARCH_MIN_SIMILARITY is
-1 on the server: synthetic vectors are not in the encoder's space, so real cosines would drop the semantic
half; at -1 it contributes its full SEARCH_CANDIDATES, as it does for a real catalogue.

Run: nice -n 10 .venv/bin/python benchmarks/scale.py [--products 1000000] [--seconds 15] [--keep] [--reuse] [--quick]
(--keep --workdir DIR keeps the database and artifacts; --reuse --workdir DIR measures them again without the
build: the build's timings belong to the run that built them and are not reported, only its date, and the
results go to scale.reuse.*. --quick: 20,000 products, 3 s per wrk run, HNSW above 5,000, scale.quick.*.)
Writes scale.* into benchmarks/results/scale.json and scale.md (BENCH_RESULTS_DIR elsewhere).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from api_load import gunicorn_site, parse_wrk
from common import ROOT, setup_django, write_results

sys.path.insert(0, str(ROOT))  # similarity_ann imports the project's ANN index
from scale_build import build, probe
from scale_data import (
    PG,
    SECRET,
    admin_execute,
    database_exists,
    drop_database,
    log,
    proc_status_mb,
    table_sizes_mb,
)


def run_probe(workdir: Path, queries: list[str], ids: list[int]) -> dict[str, float]:
    spec = workdir / "probe.json"
    spec.write_text(json.dumps({"queries": queries, "ids": ids}))
    env = {**os.environ, "SEARCH_MIN_SIMILARITY": "-1"}  # as on the servers (see the module docstring)
    done = subprocess.run(
        [sys.executable, __file__, "--probe", str(spec)], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("PROBE ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"probe failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(line[len("PROBE ") :])


WRK_LUA = """
local items = {ITEMS}
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
local counter = 0
request = function()
  counter = counter + 1
  local i = ((tid - 1) * STRIDE + counter) % #items + 1
  return wrk.format("GET", string.format("PATH", items[i]))
end
"""


def wrk_run(path: str, items: list[str], *, seconds: int, connections: int, port: int) -> dict[str, float]:
    """wrk on `path` % item, each thread walking its own part of `items` (distinct requests until it wraps)."""
    threads = min(2, connections)
    script = (
        WRK_LUA.replace("ITEMS", ",".join(f'"{item}"' for item in items))
        .replace("STRIDE", str(max(1, len(items) // threads)))
        .replace("PATH", path)
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "30s",
               "-s", handle.name, f"http://127.0.0.1:{port}"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    os.unlink(handle.name)
    print(result.stdout, flush=True)
    stats = parse_wrk(result.stdout)
    requests = re.search(r"(\d+) requests in", result.stdout)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", result.stdout)
    stats["errors"] += float(sum(int(n) for n in socket.groups())) if socket else 0.0
    stats["requests"] = float(requests.group(1)) if requests else 0.0
    return stats


def get(port: int, path: str, timeout: float = 600) -> float:
    started = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: HTTP {response.status}")
    return time.monotonic() - started


def warm_workers(port: int, paths: list[str], parallel: int) -> float:
    """Each worker loads the encoder and the artifact on its first search (seconds at 1M): not measured.
    Rounds of `parallel` concurrent requests until a whole round is quick. Returns the slowest first request."""
    slowest, remaining = 0.0, itertools.cycle(paths)
    with ThreadPoolExecutor(parallel) as pool:
        for round_number in range(30):
            times = list(pool.map(lambda path: get(port, path), [next(remaining) for _ in range(parallel)]))
            slowest = max(slowest, *times)
            if max(times) < 2.0 and round_number >= 2:
                break
    return round(slowest, 1)


def worker_rss(server: subprocess.Popen[bytes]) -> tuple[float, float]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return (
        max(proc_status_mb("VmRSS", pid) for pid in children),
        max(proc_status_mb("VmHWM", pid) for pid in children),
    )


def measure_http(
    args: argparse.Namespace, workdir: Path, queries: list[str], ids: list[int], database_url: str
) -> dict[str, float]:
    out: dict[str, float] = {}
    (workdir / "static").mkdir(exist_ok=True)  # the API serves no static files; an empty folder keeps whitenoise quiet
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET,
        "SEARCH_MIN_SIMILARITY": "-1",
        "STATIC_ROOT": str(workdir / "static"),
    }
    if args.redis:
        import redis

        env.update(REDIS_URL=args.redis, CELERY_BROKER_URL=args.redis)
    quote = urllib.parse.quote_plus
    warm_queries, measured_queries = queries[200:300], [quote(q) for q in queries[300:]]
    warm_ids, measured_ids = ids[400:500], ids[500:]
    similar = "/api/v1/products/%s/similar?limit=10"
    search = "/api/v1/search?q=%s&limit=10"
    connections = args.connections

    if args.redis:
        redis.Redis.from_url(args.redis).flushdb()
    with gunicorn_site(
        workdir, workers=args.workers, port=args.port, extra_env={**env, "SIMILAR_CACHE_SECONDS": "0"}
    ) as server:
        out["first_search_s"] = warm_workers(
            port=args.port, paths=[search % quote(q) for q in warm_queries], parallel=2 * args.workers
        )
        warm_workers(port=args.port, paths=[similar % pk for pk in warm_ids], parallel=2 * args.workers)
        for name, path, items in (("similar", similar, measured_ids), ("search", search, measured_queries)):
            log(f"wrk {name} (cold) {args.seconds}s")
            stats = wrk_run(
                path, [str(i) for i in items], seconds=args.seconds, connections=connections, port=args.port
            )
            for key in ("p50_ms", "p99_ms", "rps", "errors", "requests"):
                out[f"{name}_{key}"] = stats[key]
            out[f"{name}_distinct"] = float(len(items))
        log(f"wrk search (repeated queries: encoder cache) {args.seconds}s")
        stats = wrk_run(search, measured_queries[:50], seconds=args.seconds, connections=connections, port=args.port)
        for key in ("p50_ms", "p99_ms", "rps", "errors"):
            out[f"search_repeated_{key}"] = stats[key]
        out["worker_rss_mb"], out["worker_rss_peak_mb"] = worker_rss(server)

    if args.redis:
        redis.Redis.from_url(args.redis).flushdb()
    with gunicorn_site(workdir, workers=args.workers, port=args.port, extra_env=env):
        hot = [str(pk) for pk in measured_ids[:500]]
        for pk in hot:  # fill the cache: each list once
            get(args.port, similar % pk)
        log(f"wrk similar (cached) {args.seconds}s")
        stats = wrk_run(similar, hot, seconds=args.seconds, connections=connections, port=args.port)
        for key in ("p50_ms", "p99_ms", "rps", "errors"):
            out[f"similar_cached_{key}"] = stats[key]
    return out


# --- main -----------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--db", default="scale_bench", help="PostgreSQL database (on 127.0.0.1) made for the run.")
    parser.add_argument("--seconds", type=int, default=15, help="Each measured wrk run.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--redis", default="", help="Cache URL as in production ('' = per-process memory).")
    parser.add_argument("--workdir", type=Path, default=None, help="VAR_DIR parent (artifacts); kept with --keep.")
    parser.add_argument("--keep", action="store_true", help="Keep the database and the workdir.")
    parser.add_argument("--reuse", action="store_true", help="Measure an earlier --keep run's site, no build.")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="20,000 products, 3 s per wrk run (smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.products, args.seconds = min(args.products, 20_000), 3
        os.environ.setdefault("SIMILAR_EXACT_MAX_SIZE", "5000")  # an HNSW index, as 1M builds
    if args.probe:
        probe(args.probe)
        return
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install -y wrk")
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="scale-"))).resolve()
    database_url = f"{PG}/{args.db}"
    os.environ.update(DATABASE_URL=database_url, SECRET_KEY=SECRET, VAR_DIR=str(workdir / "var"), DEBUG="0")
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)  # the build process caches in memory; the servers get --redis
    os.environ["LOG_LEVEL"] = "WARNING"
    reuse = args.reuse and database_exists(args.db)
    if not reuse:
        drop_database(args.db)
        admin_execute(f'CREATE DATABASE "{args.db}"')
    started, load_start = time.monotonic(), round(os.getloadavg()[0], 2)
    try:
        setup_django()
        state = workdir / "state.json"
        if reuse:
            figures, queries, ids = json.loads(state.read_text())
        else:
            figures, queries, ids = build(args.products, workdir)
            state.write_text(json.dumps([figures, queries, ids]))
        sizes = table_sizes_mb()
        from django.db import connections

        connections.close_all()
        log("probe: artifact load, RSS, each part alone, recall")
        parts = run_probe(workdir, queries[:200], ids)
        log(f"probe: {parts}")
        http = measure_http(args, workdir, queries, ids, database_url)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(args.db)
            shutil.rmtree(workdir, ignore_errors=True)
    values: dict[str, Any] = {
        "scale.products": float(args.products),
        "scale.gunicorn_workers": float(args.workers),
        "scale.wrk_connections": float(args.connections),
        "scale.wrk_seconds": float(args.seconds),
        "scale.redis_cache": float(bool(args.redis)),
    }
    if reuse:  # the build ran in an earlier run: its timings are that run's, not this one's
        values["scale.reused_build_date"] = figures.get("build_date", "unknown")
        figures = {key: value for key, value in figures.items() if key in STRUCTURE}
    values.update({f"scale.{key}": value for key, value in figures.items()})
    values.update({f"scale.db.{table}_mb": mb for table, mb in sizes.items()})
    values.update({f"scale.{key}": value for key, value in parts.items()})
    values.update({f"scale.{key}": value for key, value in http.items()})
    values["scale.rss_mb"] = parts["rss_serving_mb"]
    values["scale.rss_peak_mb"] = parts["rss_serving_peak_mb"]
    values["scale.errors"] = http["similar_errors"] + http["search_errors"]
    values["scale.seconds_last_run"] = round(time.monotonic() - started, 1)
    # The 2 cores are shared: other jobs' load is part of the serving figures too.
    values["scale.load_average_start"], values["scale.load_average_end"] = load_start, round(os.getloadavg()[0], 2)
    values["meta.vectors"] = (
        "synthetic clustered 384-d unit vectors (benchmarks/similarity_ann.py), not the text encoder; leaves follow"
        " the vector topics"
    )
    values["meta.cold"] = (
        "SIMILAR_CACHE_SECONDS=0 and a different product / query per request (encoder runs each time);"
        " PostgreSQL and OS caches warm"
    )
    title = f"Scale: {args.products:,} synthetic products"
    write_results("scale", values, title, part="reuse" if reuse else None, quick=args.quick, table=table(values))
    for key, value in sorted(values.items()):
        print(f"{key:40} {value}")


# What a reused build still says about the catalogue measured (not timings).
STRUCTURE = {
    "leaves",
    "brands",
    "index_kind_hnsw",
    "artifact_mb",
    "artifact_index_mb",
    "artifact_vectors_mb",
    "similar_rows",
}


def table(values: dict[str, Any]) -> list[str]:
    def v(key: str) -> Any:
        return values.get(f"scale.{key}", "(reused build)")

    def ms(prefix: str) -> str:
        return f"{v(prefix + '_p50_ms')} / {v(prefix + '_p99_ms')} ms"

    rows = [
        ("products / leaf categories / brands", f"{v('products'):,.0f} / {v('leaves'):.0f} / {v('brands'):.0f}"),
        ("similar items API, cold: p50 / p99, req/s", f"{ms('similar')}, {v('similar_rps')}"),
        ("similar items API, cached: p50 / p99, req/s", f"{ms('similar_cached')}, {v('similar_cached_rps')}"),
        ("search API, distinct queries: p50 / p99, req/s", f"{ms('search')}, {v('search_rps')}"),
        ("search API, repeated queries: p50 / p99, req/s", f"{ms('search_repeated')}, {v('search_repeated_rps')}"),
        ("errors (non-2xx and socket)", f"{v('errors'):.0f}"),
        ("ANN query alone, k=16 / k=100, p50", f"{v('ann_p50_ms')} / {v('ann_k100_p50_ms')} ms"),
        ("lexical query alone, p50 / p99", f"{ms('lexical')} (median {v('lexical_matches_median'):.0f} matches)"),
        ("query encoder alone, p50", f"{v('encode_query_p50_ms')} ms"),
        (f"ANN recall@10 vs exact ({v('recall_queries'):.0f} queries)", f"{v('recall_at_10')}"),
        ("RSS: artifact loaded / serving (peak)", f"{v('rss_artifact_mb')} / {v('rss_mb')} ({v('rss_peak_mb')}) MB"),
        ("gunicorn worker RSS after the runs (peak)", f"{v('worker_rss_mb')} ({v('worker_rss_peak_mb')}) MB"),
        (
            "artifact tar (index / vectors)",
            f"{v('artifact_mb')} ({v('artifact_index_mb')} / {v('artifact_vectors_mb')}) MB",
        ),
        (
            "tables: products / similar rows / search",
            f"{v('db.catalog_product_mb')} / {v('db.recommend_similaritem_mb')}"
            f" / {v('db.recommend_product_search_mb')} MB",
        ),
        (
            "build: index / content neighbours / rows (COPY) / tsvector + GIN",
            f"{v('build.index_s')} / {v('build.content_neighbours_s')} / {v('build.rows_copy_s')}"
            f" / {v('build.tsvector_s')} + {v('build.gin_index_s')} s",
        ),
        ("build total (peak RSS)", f"{v('build_total_s')} s ({v('build_peak_rss_mb')} MB)"),
        (
            "load average of the shared 2 cores: build start / measuring start, end",
            f"{v('build_load_average_start')} / {v('load_average_start')}, {v('load_average_end')}",
        ),
    ]
    return ["| measure | value |", "|---|---|", *(f"| {label} | {value} |" for label, value in rows)]


if __name__ == "__main__":
    main()
