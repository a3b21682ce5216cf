"""Server time of the storefront pages: home, category (with facets), product, search.

In-process (Django's test client, no network, no gunicorn): the time from request to rendered
response, which is what the page costs the server. Runs on a copy of a demo database (default:
this checkout's var/db.sqlite3 from `manage.py setup_demo`), with DEBUG off and shopper events
buffered and OMP_NUM_THREADS=1 as in production (config/wsgi.py), as one returning shopper
(a session with history and a cart).
Search queries are drawn from a fixed list of title words, so most repeat: that exercises the
query-embedding cache the way real traffic (repeated popular queries) does; `--cold-search`
clears it before every search to show the encoder's cost.

`--workdir DIR` instead builds (or reuses) the 20,000-product Flipkart site of benchmarks/api_load.py
there (import + similar-items build with the real encoder; no shopper history in that dataset, so the
home page's recommended and popular blocks stay empty) and measures on it.

`--quick` builds a 300-product Flipkart site in a temporary folder and sends 5 requests per page.

Run: .venv/bin/python benchmarks/pages.py [--requests 60] [--db var/db.sqlite3 | --workdir DIR] [--cold-search]
Writes page.{home,category,product,search}.{p50_ms,p95_ms,max_ms} to benchmarks/results/pages.json
(`--cold-search`: pages.cold_search.json; `--quick`: pages.quick.json).
"""

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, setup_django, write_results

PAGES = ("home", "category", "product", "search")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def page_urls(rng: random.Random) -> dict[str, list[str]]:
    """A pool of URLs per page: categories with and without facets, products, repeated search queries."""
    from catalog.models import Product
    from taxonomy.models import Category

    products = list(Product.objects.filter(is_active=True).values_list("pk", "title", "brand_id")[:5000])
    if not products:
        sys.exit("The database has no products: run `manage.py setup_demo` first (or pass --db).")
    categories = [
        c.get_absolute_url() for c in Category.objects.filter(is_active=True, products__isnull=False).distinct()
    ]
    roots = [c.get_absolute_url() for c in Category.objects.root_nodes().filter(is_active=True)]
    brands = [b for _, _, b in products if b]
    category_urls = roots + categories[:40]
    category_urls += [f"{url}?brand={rng.choice(brands)}" for url in roots if brands]
    category_urls += [f"{url}?price=500-1000&price=1000-2000" for url in roots]
    words = sorted({w.casefold() for _, title, _ in products for w in title.split() if len(w) > 3 and w.isalpha()})
    queries = [" ".join(rng.sample(words, k=rng.choice((1, 2)))) for _ in range(25)] if words else ["shirt"]
    return {
        "home": ["/"],
        "category": category_urls,
        "product": [f"/p/{pk}/" for pk, _, _ in rng.sample(products, min(200, len(products)))],
        "search": [f"/search/?q={q.replace(' ', '+')}" for q in queries],
    }


def measure(requests: int, cold_search: bool, seed: int) -> dict[str, list[float]]:
    from django.test import Client

    from recommend.core.vectors import query_cache_clear

    rng = random.Random(seed)
    urls = page_urls(rng)
    client = Client()
    first_product = urls["product"][0]
    client.get(first_product)  # a returning shopper: session, history and a cart
    client.post("/cart/add/", {"product_id": first_product.strip("/").split("/")[-1]})
    for name in PAGES:  # warm-up: models loaded, caches filled, as on a running server
        for url in urls[name][:3]:
            client.get(url)
    timings: dict[str, list[float]] = {name: [] for name in PAGES}
    for _ in range(requests):
        for name in PAGES:
            url = rng.choice(urls[name])
            if cold_search and name == "search":
                query_cache_clear()
            started = time.perf_counter()
            response = client.get(url)
            timings[name].append(1000 * (time.perf_counter() - started))
            if response.status_code != 200:
                sys.exit(f"{url} answered {response.status_code}")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=60, help="requests per page (bounded run)")
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "db.sqlite3")
    parser.add_argument("--workdir", type=Path, help="build/reuse the 20k Flipkart site of api_load.py here")
    parser.add_argument("--cold-search", action="store_true", help="clear the query-embedding cache every search")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--quick", action="store_true", help="a 300-product site, 5 requests per page (smoke run)")
    args = parser.parse_args()
    limit = None
    if args.quick:
        args.requests, limit = 5, 300
        args.workdir = args.workdir or Path(tempfile.mkdtemp(prefix="pages-quick-"))
    if args.workdir is None and not args.db.exists():
        sys.exit(f"No database at {args.db}: run `manage.py setup_demo` first.")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "pages-benchmark-only")  # a throw-away copy or site, never served
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")  # Django's test client
    os.environ.setdefault("SECURE_COOKIES", "0")
    # As config/wsgi.py sets for every web worker: one math thread, so FAISS's OpenMP threads never spin
    # against the query encoder (without it a search here measured 500 ms instead of 45 ms).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["STATIC_ROOT"] = str(Path(tmp) / "static")  # DEBUG off serves the hashed manifest
        if args.workdir is not None:
            from api_load import prepare_site

            args.workdir.mkdir(parents=True, exist_ok=True)
            prepare_site(args.workdir, limit)  # a throw-away site: its events stay there
        else:
            copy = Path(tmp) / "pages.sqlite3"
            shutil.copy(args.db, copy)  # shopper events and sessions land in the copy, not the demo
            setup_django(copy, fresh=False)
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)
        from catalog.models import Product

        catalog_size = Product.objects.filter(is_active=True).count()
        timings = measure(args.requests, args.cold_search, args.seed)
        from catalog.events import events_flush

        events_flush()
    values: dict[str, float | int | str] = {"page.catalog_products": catalog_size}
    table = ["| page | p50 ms | p95 ms | max ms | requests |", "|---|---|---|---|---|"]
    for name in PAGES:
        samples = timings[name]
        p50, p95 = statistics.median(samples), percentile(samples, 0.95)
        values.update(
            {
                f"page.{name}.p50_ms": round(p50, 2),
                f"page.{name}.p95_ms": round(p95, 2),
                f"page.{name}.max_ms": round(max(samples), 2),
                f"page.{name}.requests": len(samples),
            }
        )
        table.append(f"| {name} | {p50:.1f} | {p95:.1f} | {max(samples):.1f} | {len(samples)} |")
        print(table[-1])
    source = "the Flipkart site of api_load.py (no shopper history)" if args.workdir else "a copy of the demo db"
    values["page.cold_search"] = bool(args.cold_search)
    values["page.note"] = f"in-process server time (Django test client), DEBUG off, SQLite, {source}"
    write_results(
        "pages",
        values,
        f"Storefront page server time ({catalog_size} products)",
        part="cold_search" if args.cold_search else None,
        quick=args.quick,
        table=table,
    )


if __name__ == "__main__":
    main()
