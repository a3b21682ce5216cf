"""Bounded mixed load through gunicorn on 127.0.0.1: storefront pages, similar items, recommendations,
bought-together, search (page and API) and event-ingest writes, then a count of what was stored.

Builds a throw-away SQLite site (benchmarks/load_site.py): the first --limit Flipkart products and slices of
Beauty (shoppers' purchases) and Groceries (orders), real data from SHOP_DATA_DIR; trains on it, with the demo's
quick configurations, the similar-items build (real MiniLM embeddings), the bought-together build and the
recommender; turns Beauty shoppers with a history into signed-in accounts (token and visitor id), whose
recommendations requests carry their token or their visitor cookie, so recommendations and bought-together
(asked for products that were bought in orders) measure the models. Collects static files, starts gunicorn with the
production settings shape (DEBUG=0, throttles off: one client is the whole load) and drives it with `wrk`
for --seconds after a 5 s warm-up (encoder loads, caches). Every ingest request carries a unique
event_id; afterwards the events stored are counted in the database and compared with the events the
server accepted (201 responses).

Run: .venv/bin/python benchmarks/load.py [--seconds 15] [--workers 2] [--connections 4] [--limit 1000] [--quick]
(--quick: 150 Flipkart products, 3 s, written to load.quick.*; with them 2 Beauty items per Flipkart product, at
most 2,000, and every Groceries basket)
Writes load.rps, load.p50_ms, load.p99_ms, load.errors, load.events_sent, load.events_accepted and
load.events_stored into benchmarks/results/load.json (targets: 0 errors, stored == accepted) and load.md, with
what was trained (load.models_trained) and the share of recommendations responses the model ranked
(load.recommendations_not_fallback_share; bought-together from rules or graph: load.bought_together_model_share).
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
from common import ROOT, write_results
from load_site import Site, prepare_site

# Shares of the mix, in percent (they add up to 100).
MIX = {"home": 10, "product": 20, "search_page": 5, "similar": 20, "recommendations": 10, "bought": 10, "search": 5}
EVENTS_SHARE = 20

LUA = """
local ids = {%(ids)s}
local bought_ids = {%(bought_ids)s}
local queries = {%(queries)s}
local token = "%(token)s"
local shopper_tokens = {%(shopper_tokens)s}
local shopper_visitors = {%(shopper_visitors)s}
local threads = {}
local counter = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  sent, accepted, failed = 0, 0, 0
  recs, recs_model, bought, bought_model = 0, 0, 0, 0
end

-- A signed-in shopper's recommendations: by API token or by visitor cookie, half each (anonymous if none).
local function recommendations()
  local path = "/api/v1/recommendations/?limit=10"
  if #shopper_tokens == 0 then return wrk.format("GET", path) end
  local i = math.random(#shopper_tokens)
  if math.random(2) == 1 then
    return wrk.format("GET", path, {["Authorization"] = "Token " .. shopper_tokens[i]})
  end
  return wrk.format("GET", path, {["Cookie"] = "visitor=" .. shopper_visitors[i]})
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
  -- Which endpoint answered, by its payload: similar items name a "strategy", recommendations a "fallback"
  -- (null when the model ranked), bought-together a "product_id" and each result's "signal".
  if status == 200 and body and not body:find('"strategy":', 1, true) then
    if body:find('"fallback":', 1, true) then
      recs = recs + 1
      if body:find('"fallback":%%s*null') then recs_model = recs_model + 1 end
    elseif body:find('"product_id":', 1, true) then
      bought = bought + 1
      for _, signal in ipairs({"rules", "graph", "pinned"}) do
        if body:find('"signal":%%s*"' .. signal .. '"') then bought_model = bought_model + 1; break end
      end
    end
  end
  if status == 201 then
    local created = body:match('"created":%%s*(%%d+)')
    if created then accepted = accepted + tonumber(created) end
  end
end

done = function(summary, latency, requests)
  local s, a, f = 0, 0, 0
  local r, rm, b, bm = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    s = s + thread:get("sent"); a = a + thread:get("accepted"); f = f + thread:get("failed")
    r = r + thread:get("recs"); rm = rm + thread:get("recs_model")
    b = b + thread:get("bought"); bm = bm + thread:get("bought_model")
  end
  io.write(string.format("LOAD sent=%%d accepted=%%d failed=%%d\\n", s, a, f))
  io.write(string.format("SERVED recs=%%d recs_model=%%d bought=%%d bought_model=%%d\\n", r, rm, b, bm))
end
"""

PATHS = {
    "home": '"/"',
    "product": '"/p/" .. id .. "/"',
    "search_page": '"/search/?q=" .. pick(queries)',
    "similar": '"/api/v1/products/" .. id .. "/similar/?limit=10"',
    "bought": '"/api/v1/products/" .. pick(bought_ids) .. "/bought-together/"',
}
QUERIES = ["shirt", "watch", "running+shoes", "cotton+kurta", "wall+clock", "mobile+cover", "sofa"]


def lua_script(
    ids: list[int],
    token: str,
    events: int = EVENTS_SHARE,
    shoppers: list[tuple[str, str]] | None = None,
    bought_ids: list[int] | None = None,
) -> str:
    branches, upto = [], 0
    for name, share in MIX.items():
        if name == "search":
            continue
        upto += share
        if name == "recommendations":
            branches.append(f"if roll <= {upto} then return recommendations() end")
        else:
            branches.append(f'if roll <= {upto} then return wrk.format("GET", {PATHS[name]}) end')
    shoppers = shoppers or []
    return LUA % {
        "ids": ",".join(map(str, ids)),
        "bought_ids": ",".join(map(str, bought_ids or ids)),
        "queries": ",".join(f'"{q}"' for q in QUERIES),
        "token": token,
        "shopper_tokens": ",".join(f'"{key}"' for key, _ in shoppers),
        "shopper_visitors": ",".join(f'"{visitor}"' for _, visitor in shoppers),
        "events": events,
        "branches": "\n  ".join(branches),
    }


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


def prime_models(site: Site, *, workers: int, port: int, seconds: float = 240) -> float:
    """Before the warm-up: each worker's first request to a model endpoint loads that model (the text encoder, the
    recommender, ...; seconds each on a busy machine). Rounds of 2 x `workers` parallel requests to every model
    endpoint until a round takes under 2 s (or `seconds` pass); returns the seconds it took. Not measured."""
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    product, bought = site.ids[0], site.bought_ids[0]
    requests = [
        (f"/search/?q={QUERIES[0]}", {}),
        (f"/api/v1/search/?q={QUERIES[0]}", {}),
        (f"/api/v1/products/{product}/similar/?limit=10", {}),
        (f"/api/v1/products/{bought}/bought-together/", {}),
        (f"/p/{product}/", {}),
    ]
    for key, visitor in site.shoppers[:1]:
        requests.append(("/api/v1/recommendations/?limit=10", {"Authorization": f"Token {key}"}))
        requests.append(("/api/v1/recommendations/?limit=10", {"Cookie": f"visitor={visitor}"}))

    def fetch(request: tuple[str, dict[str, str]]) -> None:
        path, headers = request
        with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)) as r:
            r.read()

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2 * workers) as pool:
        while time.monotonic() - started < seconds:
            round_started = time.monotonic()
            list(pool.map(fetch, requests * 2 * workers))
            if time.monotonic() - round_started < 2:
                break
    return round(time.monotonic() - started, 1)


def warm_up(site: Site, *, connections: int, port: int) -> None:
    """Each worker loads the text encoder and the models and fills its caches on its first requests: not measured
    (no events)."""
    script = wrk_script(lua_script(site.ids, site.token, events=0, shoppers=site.shoppers, bought_ids=site.bought_ids))
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
    counts = dict(re.findall(r"(sent|accepted|failed|recs|recs_model|bought|bought_model)=(\d+)", result.stdout))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", result.stdout)
    stats = parse_wrk(result.stdout)
    connect, read, write, timeout = (int(n) for n in socket.groups()) if socket else (0, 0, 0, 0)
    stats["socket_errors"] = float(connect + read + write + timeout)
    stats["broken_connections"] = float(connect + read + write)  # refused or cut: never just slowness
    stats["timeouts"] = float(timeout)  # no answer within wrk's 10 s: a busy machine, not a wrong one
    return stats, {key: int(value) for key, value in counts.items()}


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


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
    parser.add_argument(
        "--no-models", action="store_true", help="Train nothing: the serving path with its fallbacks (CI's check)."
    )
    args = parser.parse_args()
    if args.quick:
        args.limit, args.seconds = 150, 3
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install -y wrk")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="load-"))
    site = prepare_site(workdir, args.limit, train=not args.no_models)
    ids = site.ids
    from catalog.models import Interaction

    Interaction.objects.filter(visitor_id__startswith="load-").delete()  # a reused site starts from none
    collect_static(workdir)
    extra_env = {"STATIC_ROOT": str(workdir / "static"), "ALLOWED_HOSTS": "127.0.0.1"}
    started = time.monotonic()
    with gunicorn_site(workdir, workers=args.workers, port=args.port, extra_env=extra_env):
        primed = prime_models(site, workers=args.workers, port=args.port)
        warm_up(site, connections=args.connections, port=args.port)
        script = lua_script(
            ids, site.token, events=args.events_share, shoppers=site.shoppers, bought_ids=site.bought_ids
        )
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
        "load.models_trained": ", ".join(f"{kind} #{pk}" for kind, pk in site.models.items() if pk) or "none",
        "load.models_train_seconds": site.train_seconds,
        "load.models_load_seconds": primed,
        "load.signed_in_shoppers": float(len(site.shoppers)),
        "load.recommendations_responses": float(counts.get("recs", 0)),
        "load.recommendations_not_fallback_share": share(counts.get("recs_model", 0), counts.get("recs", 0)),
        "load.bought_together_responses": float(counts.get("bought", 0)),
        "load.bought_together_model_share": share(counts.get("bought_model", 0), counts.get("bought", 0)),
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
        f"| models trained on the site | {values['load.models_trained']} |",
        f"| recommendations from the model (not a fallback) | {values['load.recommendations_not_fallback_share']} "
        f"of {counts.get('recs', 0)} ({len(site.shoppers)} signed-in shoppers with history, token or cookie) |",
        f"| bought-together answered from rules / graph | {values['load.bought_together_model_share']}"
        f" of {counts.get('bought', 0)} |",
    ]
    write_results("load", values, "Mixed load through gunicorn (wrk)", quick=args.quick, table=table)
    for key, value in sorted(values.items()):
        print(f"{key:24} {value}")


if __name__ == "__main__":
    main()
