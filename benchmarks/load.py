"""Bounded mixed load through gunicorn on 127.0.0.1: storefront pages, similar items, recommendations,
bought-together, search (page and API) and event-ingest writes, then a count of what was stored.

Builds a throw-away SQLite site with the first --limit Flipkart products (real data, SHOP_DATA_DIR) and
their similar-items build (real MiniLM embeddings), collects static files, starts gunicorn with the
production settings shape (DEBUG=0, throttles off: one client is the whole load) and drives it with `wrk`
for --seconds after a 5 s warm-up (encoder loads, caches). Every ingest request carries a unique
event_id; afterwards the events stored are counted in the database and compared with the events the
server accepted (201 responses).

Run: .venv/bin/python benchmarks/load.py [--seconds 15] [--workers 2] [--connections 4] [--limit 1000] [--quick]
(--quick: 150 products, 3 s, written to load.quick.*)
Writes load.rps, load.p50_ms, load.p99_ms, load.errors, load.events_sent, load.events_accepted and
load.events_stored into benchmarks/results/load.json (targets: 0 errors, stored == accepted) and load.md.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from api_load import gunicorn_site, parse_wrk
from common import ROOT, setup_django, write_results

# Shares of the mix, in percent (they add up to 100).
MIX = {"home": 10, "product": 20, "search_page": 5, "similar": 20, "recommendations": 10, "bought": 10, "search": 5}
EVENTS_SHARE = 20

LUA = """
local ids = {%(ids)s}
local queries = {%(queries)s}
local token = "%(token)s"
local threads = {}
local counter = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  sent, accepted, failed = 0, 0, 0
end

local function pick(list) return list[math.random(#list)] end

request = function()
  local roll = math.random(100)
  local id = pick(ids)
  counter = counter + 1
  if roll <= %(events)d then
    sent = sent + 1
    local body = string.format(
      '{"visitor_id":"load-%%d-%%d","event":"view","product":%%d,"event_id":"load-%%d-%%d"}',
      tid, counter %% 97, id, tid, counter)
    return wrk.format("POST", "/api/v1/interactions/",
      {["Content-Type"] = "application/json", ["Authorization"] = "Token " .. token}, body)
  end
  roll = roll - %(events)d
  %(branches)s
  return wrk.format("GET", "/api/v1/search/?q=" .. pick(queries))
end

response = function(status, headers, body)
  if status >= 400 then failed = failed + 1 end
  if status == 201 then
    local created = body:match('"created":%%s*(%%d+)')
    if created then accepted = accepted + tonumber(created) end
  end
end

done = function(summary, latency, requests)
  local s, a, f = 0, 0, 0
  for _, thread in ipairs(threads) do
    s = s + thread:get("sent"); a = a + thread:get("accepted"); f = f + thread:get("failed")
  end
  io.write(string.format("LOAD sent=%%d accepted=%%d failed=%%d\\n", s, a, f))
end
"""

PATHS = {
    "home": '"/"',
    "product": '"/p/" .. id .. "/"',
    "search_page": '"/search/?q=" .. pick(queries)',
    "similar": '"/api/v1/products/" .. id .. "/similar/?limit=10"',
    "recommendations": '"/api/v1/recommendations/?limit=10"',
    "bought": '"/api/v1/products/" .. id .. "/bought-together/"',
}
QUERIES = ["shirt", "watch", "running+shoes", "cotton+kurta", "wall+clock", "mobile+cover", "sofa"]


def lua_script(ids: list[int], token: str, events: int = EVENTS_SHARE) -> str:
    branches, upto = [], 0
    for name, share in MIX.items():
        if name == "search":
            continue
        upto += share
        branches.append(f'if roll <= {upto} then return wrk.format("GET", {PATHS[name]}) end')
    return LUA % {
        "ids": ",".join(map(str, ids)),
        "queries": ",".join(f'"{q}"' for q in QUERIES),
        "token": token,
        "events": events,
        "branches": "\n  ".join(branches),
    }


def prepare_site(workdir: Path, limit: int) -> tuple[list[int], str]:
    """Import, build similar items, make a staff token; reused when `workdir` already holds a site."""
    os.environ["VAR_DIR"] = str(workdir / "var")
    setup_django(workdir / "site.sqlite3", fresh=False)
    from django.conf import settings
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from catalog.models import Product
    from catalog.services import import_preset
    from recommend.core.jobs import automatic_jobs_suspended
    from recommend.core.registry import active_version_id
    from recommend.models import ModelVersion
    from recommend.similarity.services import similarity_build

    if active_version_id(ModelVersion.Kind.SIMILAR) is None:
        with automatic_jobs_suspended():
            import_preset(name="flipkart", data_dir=settings.SHOP_DATA_DIR, limit=limit)
        similarity_build(progress=lambda f, m: print(f"\r{f:5.0%} {m[:60]:60}", end="", flush=True))
        print()
    staff = User.objects.filter(username="load-staff").first() or User.objects.create_superuser(
        "load-staff", "load@example.com", "load-only-password"
    )
    token = Token.objects.get_or_create(user=staff)[0].key
    ids = list(Product.objects.filter(is_active=True).values_list("pk", flat=True)[:2000])
    return ids, token


def collect_static(workdir: Path) -> None:
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "load-test-only", "STATIC_ROOT": str(workdir / "static")}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)


def events_stored() -> int:
    from catalog.models import Interaction

    return Interaction.objects.filter(visitor_id__startswith="load-").count()


def wrk_script(script: str) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    return handle.name


def warm_up(ids: list[int], token: str, *, connections: int, port: int) -> None:
    """Each worker loads the text encoder and fills its caches on its first requests: not measured (no events)."""
    script = wrk_script(lua_script(ids, token, events=0))
    subprocess.run(
        ["wrk", "-t2", f"-c{connections}", "-d5s", "-s", script, f"http://127.0.0.1:{port}"],
        capture_output=True, check=True,
    )  # fmt: skip


def run(script: str, *, seconds: int, connections: int, port: int) -> tuple[dict[str, float], dict[str, int]]:
    handle_name = wrk_script(script)
    result = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s", "-s", handle_name,
         f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    print(result.stdout)
    counts = dict(re.findall(r"(sent|accepted|failed)=(\d+)", result.stdout))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", result.stdout)
    stats = parse_wrk(result.stdout)
    connect, read, write, timeout = (int(n) for n in socket.groups()) if socket else (0, 0, 0, 0)
    stats["socket_errors"] = float(connect + read + write + timeout)
    stats["broken_connections"] = float(connect + read + write)  # refused or cut: never just slowness
    stats["timeouts"] = float(timeout)  # no answer within wrk's 10 s: a busy machine, not a wrong one
    return stats, {key: int(value) for key, value in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--limit", type=int, default=1000, help="Flipkart products in the site.")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--workdir", type=Path, default=None, help="Reuse an earlier run's site and embeddings.")
    parser.add_argument("--quick", action="store_true", help="150 products, 3 s (smoke run)")
    parser.add_argument("--events-share", type=int, default=EVENTS_SHARE, help="Percent of requests that post events.")
    args = parser.parse_args()
    if args.quick:
        args.limit, args.seconds = 150, 3
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install -y wrk")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="load-"))
    ids, token = prepare_site(workdir, args.limit)
    from catalog.models import Interaction

    Interaction.objects.filter(visitor_id__startswith="load-").delete()  # a reused site starts from none
    collect_static(workdir)
    extra_env = {"STATIC_ROOT": str(workdir / "static"), "ALLOWED_HOSTS": "127.0.0.1"}
    started = time.monotonic()
    with gunicorn_site(workdir, workers=args.workers, port=args.port, extra_env=extra_env):
        warm_up(ids, token, connections=args.connections, port=args.port)
        script = lua_script(ids, token, events=args.events_share)
        stats, counts = run(script, seconds=args.seconds, connections=args.connections, port=args.port)
    stored = events_stored()
    values = {
        "load.rps": stats["rps"],
        "load.p50_ms": stats["p50_ms"],
        "load.p99_ms": stats["p99_ms"],
        "load.errors": stats["errors"] + stats["socket_errors"],
        "load.http_errors": stats["errors"],
        "load.broken_connections": stats["broken_connections"],
        "load.timeouts": stats["timeouts"],
        "load.events_sent": float(counts.get("sent", 0)),
        "load.events_accepted": float(counts.get("accepted", 0)),
        "load.events_stored": float(stored),
        "load.seconds": float(args.seconds),
        "load.connections": float(args.connections),
        "load.gunicorn_workers": float(args.workers),
        "load.products": float(len(ids)),
        "load.wall_seconds": round(time.monotonic() - started, 1),
    }
    mix = ", ".join(f"{name} {share} %" for name, share in MIX.items())
    table = [
        "| measure | value |",
        "|---|---|",
        f"| mix | {mix}, event ingest {EVENTS_SHARE} % |",
        f"| throughput | {stats['rps']} req/s ({args.connections} connections, {args.workers} gunicorn workers) |",
        f"| latency p50 / p99 | {stats['p50_ms']} ms / {stats['p99_ms']} ms |",
        f"| errors (non-2xx/3xx and socket) | {values['load.errors']:.0f} |",
        f"| events sent / accepted / stored | {counts.get('sent', 0)} / {counts.get('accepted', 0)} / {stored} |",
    ]
    write_results("load", values, "Mixed load through gunicorn (wrk)", quick=args.quick, table=table)
    for key, value in sorted(values.items()):
        print(f"{key:24} {value}")


if __name__ == "__main__":
    main()
