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

Run: nice -n 10 .venv/bin/python benchmarks/scale.py [--products 1000000] [--seconds 15] [--keep] [--reuse]
(--keep --workdir DIR keeps the database and artifacts; --reuse --workdir DIR measures them again, and reports the
build figures of the run that built them, with its date.)
Writes scale.* into benchmarks/results/scale.json and scale.md (BENCH_RESULTS_DIR elsewhere).
"""

from __future__ import annotations

import argparse
import gc
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from api_load import gunicorn_site, parse_wrk
from common import ROOT, setup_django, write_results

sys.path.insert(0, str(ROOT))  # similarity_ann imports the project's ANN index
from similarity_ann import exact_topk, synthetic_vectors_with_topics, tie_aware_recall

PG = "postgres://postgres@127.0.0.1:5432"
SECRET = "scale-bench-only"

COLOURS = ["black", "white", "blue", "red", "green", "grey", "pink", "navy", "brown", "beige", "yellow", "purple",
           "orange", "maroon", "silver", "golden"]  # fmt: skip
MATERIALS = ["cotton", "leather", "steel", "wooden", "silk", "plastic", "ceramic", "glass", "denim", "wool",
             "rubber", "aluminium"]  # fmt: skip
QUALIFIERS = ["casual", "formal", "sports", "kids", "premium", "classic", "travel", "smart", "compact", "outdoor",
              "slim", "party"]  # fmt: skip
DEPARTMENTS = {
    "Clothing": ["shirts", "kurtas", "jeans", "dresses", "jackets", "sarees"],
    "Footwear": ["shoes", "sandals", "sneakers", "boots", "slippers", "heels"],
    "Watches": ["watches", "smartwatches", "clocks", "straps", "timers", "chronographs"],
    "Bags": ["backpacks", "handbags", "wallets", "suitcases", "pouches", "duffels"],
    "Jewellery": ["rings", "necklaces", "earrings", "bracelets", "pendants", "anklets"],
    "Home": ["bedsheets", "curtains", "cushions", "towels", "rugs", "blankets"],
    "Kitchen": ["mugs", "bottles", "pans", "knives", "plates", "jars"],
    "Mobiles": ["phones", "chargers", "cables", "earphones", "speakers", "powerbanks"],
    "Computers": ["laptops", "keyboards", "mice", "monitors", "routers", "drives"],
    "Beauty": ["lipsticks", "perfumes", "shampoos", "creams", "serums", "trimmers"],
    "Toys": ["puzzles", "dolls", "blocks", "cars", "games", "kites"],
    "Sports": ["bats", "balls", "rackets", "gloves", "helmets", "mats"],
}
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
TOPICS = 1000  # the vector topics of synthetic_vectors_with_topics
TOPIC_WORDS = 3


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def proc_status_mb(field: str, pid: int | str = "self") -> float:
    """VmRSS (now) or VmHWM (peak) of a process, in MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def percentiles(values: list[float]) -> tuple[float, float]:
    return round(float(np.percentile(values, 50)), 3), round(float(np.percentile(values, 99)), 3)


# --- the synthetic catalogue --------------------------------------------------------------------------------


@dataclass
class Catalogue:
    vectors: np.ndarray  # (n, 384) unit rows, row i is product i + 1
    leaves: list[tuple[str, str, str]]  # (department, product type, qualifier)
    leaf_of: np.ndarray
    brands: list[str]
    brand_of: np.ndarray
    titles: list[str]
    prices: np.ndarray
    codes: list[str]
    topic_words: list[list[str]]


def pseudo_words(rng: np.random.Generator, count: int) -> list[str]:
    """Distinct made-up words of 2-3 syllables (topic words and brand names: the long tail of a vocabulary)."""
    words: dict[str, None] = {}
    while len(words) < count:
        syllables = rng.integers(0, len(SYLLABLES), size=rng.integers(2, 4))
        words["".join(SYLLABLES[s] for s in syllables)] = None
    return list(words)


def synthetic_catalogue(n: int, seed: int = 0) -> Catalogue:
    vectors, topics = synthetic_vectors_with_topics(n, 384, seed)
    rng = np.random.default_rng(seed + 1)
    # Leaves: runs of the products sorted by vector topic, sizes spread like a real tree's (lognormal).
    n_leaves = int(np.clip(n // 3000, 16, 400))
    sizes = rng.lognormal(0.0, 0.6, n_leaves)
    cuts = np.round(np.cumsum(sizes) / sizes.sum() * n).astype(np.int64)
    order = np.argsort(topics, kind="stable")
    leaf_of = np.empty(n, dtype=np.int64)
    leaf_of[order] = np.minimum(np.searchsorted(cuts, np.arange(n), side="right"), n_leaves - 1)
    kinds = [
        (dept, noun, qualifier) for dept, nouns in DEPARTMENTS.items() for noun in nouns for qualifier in QUALIFIERS
    ]
    leaves = [kinds[i] for i in rng.permutation(len(kinds))[:n_leaves]]

    n_brands = int(np.clip(n // 200, 50, 5000))
    words = pseudo_words(rng, TOPICS * TOPIC_WORDS + n_brands)
    topic_words = [words[t * TOPIC_WORDS : (t + 1) * TOPIC_WORDS] for t in range(TOPICS)]
    brands = [w.capitalize() for w in words[TOPICS * TOPIC_WORDS :]]
    brand_weights = 1.0 / (np.arange(n_brands) + 5.0)
    topic_brands = rng.choice(n_brands, size=(TOPICS, 8), p=brand_weights / brand_weights.sum())
    brand_of = topic_brands[topics, rng.integers(0, 8, n)]

    colour_weights = 1.0 / (np.arange(len(COLOURS)) + 2.0)
    colour = np.where(rng.random(n) < 0.5, rng.choice(len(COLOURS), n, p=colour_weights / colour_weights.sum()), -1)
    material = np.where(rng.random(n) < 0.35, rng.integers(0, len(MATERIALS), n), -1)
    with_qualifier = rng.random(n) < 0.4
    topic_word_count = rng.integers(1, 3, n)
    topic_word_pick = rng.integers(0, TOPIC_WORDS, (n, 2))
    letters = rng.integers(0, 26, (n, 2))
    numbers = rng.integers(100, 10000, n)
    leaf_price = rng.lognormal(6.5, 1.0, n_leaves)
    prices = np.round(leaf_price[leaf_of] * rng.lognormal(0.0, 0.4, n), 2)
    titles, codes = [], []
    for i in range(n):
        _dept, noun, qualifier = leaves[leaf_of[i]]
        own = topic_words[topics[i]]
        code = f"{chr(65 + letters[i, 0])}{chr(65 + letters[i, 1])}{numbers[i]}"
        parts = [brands[brand_of[i]], *(own[topic_word_pick[i, j]].capitalize() for j in range(topic_word_count[i]))]
        if with_qualifier[i]:
            parts.append(qualifier.capitalize())
        parts.append(noun.capitalize())
        if colour[i] >= 0:
            parts.append(COLOURS[colour[i]].capitalize())
        if material[i] >= 0:
            parts.append(MATERIALS[material[i]].capitalize())
        parts.append(code)
        titles.append(" ".join(parts))
        codes.append(code)
    return Catalogue(vectors, leaves, leaf_of, brands, brand_of, titles, prices, codes, topic_words)


def search_queries(catalogue: Catalogue, count: int, seed: int) -> list[str]:
    """Distinct shopper-like queries: a colour, material, qualifier, brand or topic word with a product type,
    a single topic word, or a model code."""
    rng = np.random.default_rng(seed)
    nouns = [noun for nouns in DEPARTMENTS.values() for noun in nouns]
    seen: dict[str, None] = {}
    for _ in range(count * 20):
        if len(seen) >= count:
            break
        noun = nouns[rng.integers(len(nouns))]
        roll = rng.integers(7)
        if roll == 0:
            query = f"{COLOURS[rng.integers(len(COLOURS))]} {noun}"
        elif roll == 1:
            query = f"{QUALIFIERS[rng.integers(len(QUALIFIERS))]} {noun}"
        elif roll == 2:
            query = f"{catalogue.brands[rng.integers(len(catalogue.brands))].lower()} {noun}"
        elif roll == 3:
            query = f"{catalogue.topic_words[rng.integers(TOPICS)][rng.integers(TOPIC_WORDS)]} {noun}"
        elif roll == 4:
            query = f"{MATERIALS[rng.integers(len(MATERIALS))]} {noun} {COLOURS[rng.integers(len(COLOURS))]}"
        elif roll == 5:
            query = catalogue.topic_words[rng.integers(TOPICS)][rng.integers(TOPIC_WORDS)]
        else:
            query = catalogue.codes[rng.integers(len(catalogue.codes))].lower()
        seen[query] = None
    return list(seen)


# --- database -------------------------------------------------------------------------------------------------


def admin_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def database_exists(name: str) -> bool:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def drop_database(name: str) -> None:
    admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")
    return str(value)


def copy_rows(table: str, columns: tuple[str, ...], rows: Any, chunk: int = 50_000) -> int:
    """COPY rows (tuples) into a table through Django's connection, as text in big chunks (psycopg's
    per-row write_row costs ~25 us a row: minutes at 20M rows). Returns the count."""
    from django.db import connection

    written, rows = 0, iter(rows)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        while batch := list(itertools.islice(rows, chunk)):
            copy.write("".join("\t".join(map(copy_text, row)) + "\n" for row in batch))
            written += len(batch)
    return written


def set_sequence(table: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")


def fill_catalogue(catalogue: Catalogue) -> None:
    """Category tree through the ORM (a few hundred nodes), brands and products with COPY."""
    from django.utils import timezone
    from django.utils.text import slugify

    from taxonomy.models import Category

    leaf_ids: list[int] = []
    with Category.objects.delay_mptt_updates():
        departments: dict[str, Category] = {}
        types: dict[tuple[str, str], Category] = {}
        for dept, noun, qualifier in catalogue.leaves:
            if dept not in departments:
                departments[dept] = Category.objects.create(name=dept, slug=slugify(dept), source="imported")
            if (dept, noun) not in types:
                types[dept, noun] = Category.objects.create(
                    name=noun.capitalize(), slug=noun, parent=departments[dept], source="imported"
                )
            name = f"{qualifier.capitalize()} {noun}"
            leaf = Category.objects.create(name=name, slug=slugify(name), parent=types[dept, noun], source="imported")
            leaf_ids.append(leaf.pk)
    now = timezone.now()
    copy_rows(
        "catalog_brand",
        ("id", "name", "slug"),
        ((i + 1, name, slugify(name)) for i, name in enumerate(catalogue.brands)),
    )
    set_sequence("catalog_brand")
    columns = ("id", "sku", "title", "description", "brand_id", "price", "currency", "image_url", "category_id",
               "category_source", "source_category_path", "needs_review", "source", "is_active", "created_at",
               "updated_at")  # fmt: skip
    rows = (
        (i + 1, f"SYN-{i + 1:08d}", title, "", int(catalogue.brand_of[i]) + 1, float(catalogue.prices[i]), "INR", "",
         leaf_ids[catalogue.leaf_of[i]], "imported", "", False, "synthetic", True, now, now)
        for i, title in enumerate(catalogue.titles)
    )  # fmt: skip
    copy_rows("catalog_product", columns, rows)
    set_sequence("catalog_product")


def table_sizes_mb() -> dict[str, float]:
    from django.db import connection

    tables = ["catalog_product", "catalog_brand", "recommend_similaritem", "recommend_product_search"]
    sizes = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute("SELECT pg_total_relation_size(%s)", [table])
            sizes[table] = round(cursor.fetchone()[0] / 2**20, 1)
        cursor.execute("SELECT pg_database_size(current_database())")
        sizes["database"] = round(cursor.fetchone()[0] / 2**20, 1)
    return sizes


# --- the similar-items build --------------------------------------------------------------------------------


class Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def step(self, name: str, started: float) -> None:
        self.seconds[name] = round(time.monotonic() - started, 1)
        log(f"{name}: {self.seconds[name]} s (RSS {proc_status_mb('VmRSS')} MB)")


def write_rows_sample(version: Any, content: dict, hybrid: dict, sample: int) -> float:
    """Rows per second of the build's own INSERT batches (`write_rows`), on a sample that is rolled back."""
    from django.db import transaction

    from recommend.similarity.build import similar_item_rows, write_rows

    class Rollback(Exception):
        pass

    started = time.monotonic()
    try:
        with transaction.atomic():
            written = write_rows(itertools.islice(similar_item_rows(version, content, {}, hybrid), sample))
            raise Rollback
    except Rollback:
        pass
    return round(written / (time.monotonic() - started), 1)


def search_upsert_sample(documents: list[Any], sample: int) -> float:
    """Products per second of the build's own search-index upserts (`search_index_update`) on a sample."""
    from recommend.search.services import search_index_update

    started = time.monotonic()
    search_index_update(documents[:sample])
    return round(min(sample, len(documents)) / (time.monotonic() - started), 1)


def fill_search_table() -> dict[str, float]:
    """recommend_product_search in one INSERT ... SELECT (the build's tsvector: title A, brand B, category path C),
    its GIN index dropped first and made again after."""
    from django.db import connection, transaction

    from taxonomy.selectors import category_paths

    timings = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'recommend_product_search_gin'")
        gin = cursor.fetchone()[0]
        cursor.execute("DROP INDEX recommend_product_search_gin")
        cursor.execute("DELETE FROM recommend_product_search")
        cursor.execute("CREATE TEMP TABLE scale_category_path (id bigint PRIMARY KEY, path text) ON COMMIT DROP")
        copy_rows("scale_category_path", ("id", "path"), ((pk, " ".join(p)) for pk, p in category_paths().items()))
        started = time.monotonic()
        cursor.execute(
            "INSERT INTO recommend_product_search(product_id, document)"
            " SELECT p.id, setweight(to_tsvector('english', p.title), 'A')"
            " || setweight(to_tsvector('english', coalesce(b.name, '')), 'B')"
            " || setweight(to_tsvector('english', coalesce(c.path, '')), 'C')"
            " FROM catalog_product p LEFT JOIN catalog_brand b ON b.id = p.brand_id"
            " LEFT JOIN scale_category_path c ON c.id = p.category_id"
            " WHERE p.is_active AND p.merged_into_id IS NULL"
        )
        timings["tsvector"] = round(time.monotonic() - started, 1)
        started = time.monotonic()
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        cursor.execute(gin)
        timings["gin_index"] = round(time.monotonic() - started, 1)
    return timings


def build(products: int, workdir: Path) -> tuple[dict[str, float], list[str], list[int]]:
    """Catalogue, artifact, neighbour rows, search table, activation. Returns (figures, queries, sample ids)."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from recommend.core.documents import product_documents
    from recommend.core.jobs import automatic_jobs_suspended
    from recommend.core.registry import (
        model_version_activate,
        model_version_create,
        model_version_mark,
        model_version_save_artifact,
    )
    from recommend.models import ModelVersion
    from recommend.similarity.artifact import ARTIFACT_NAME, SimilarityArtifact
    from recommend.similarity.build import SIMILAR_COLUMNS, content_lists, hybrid_lists, similar_item_rows

    timer = Timer()
    figures: dict[str, Any] = {}
    build_load = round(os.getloadavg()[0], 2)
    build_started = time.monotonic()
    started = time.monotonic()
    call_command("migrate", verbosity=0)
    timer.step("migrate", started)
    started = time.monotonic()
    catalogue = synthetic_catalogue(products)
    timer.step("synthetic_data", started)
    queries = search_queries(catalogue, 6000, seed=7)
    figures["leaves"] = float(len(catalogue.leaves))
    figures["brands"] = float(len(catalogue.brands))
    with automatic_jobs_suspended():
        started = time.monotonic()
        fill_catalogue(catalogue)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        timer.step("catalogue_copy", started)
        vectors = catalogue.vectors
        del catalogue
        gc.collect()

        k = settings.SIMILAR_TOP_K
        started = time.monotonic()
        documents = product_documents()
        timer.step("documents", started)
        version = model_version_create(
            kind=ModelVersion.Kind.SIMILAR,
            params={"top_k": k, "encoder": "synthetic clustered vectors (benchmarks/scale.py)", "products": products},
        )
        product_ids = np.array([d.product_id for d in documents], dtype=np.int64)
        assert (product_ids == np.arange(1, products + 1)).all(), "vector rows are products 1..n in order"
        build_dir = workdir / "build"
        started = time.monotonic()
        artifact = SimilarityArtifact.write(build_dir / "similar", product_ids, vectors)
        timer.step("index", started)
        figures["index_kind_hnsw"] = float(artifact.index.kind == "hnsw")
        started = time.monotonic()
        content = content_lists(artifact, vectors, documents, k)
        timer.step("content_neighbours", started)
        started = time.monotonic()
        archive = artifact.pack(build_dir / ARTIFACT_NAME)
        figures["artifact_mb"] = round(archive.stat().st_size / 2**20, 1)
        figures["artifact_index_mb"] = round((build_dir / "similar/index/index.faiss").stat().st_size / 2**20, 1)
        figures["artifact_vectors_mb"] = round((build_dir / "similar/vectors.npy").stat().st_size / 2**20, 1)
        model_version_save_artifact(version=version, local_path=archive)
        del artifact
        shutil.rmtree(build_dir)
        timer.step("artifact_store", started)
        started = time.monotonic()
        hybrid = hybrid_lists(content, {}, k, {})
        timer.step("hybrid_lists", started)
        figures["insert_rows_per_s"] = write_rows_sample(version, content, hybrid, min(100_000, 2 * k * products))
        started = time.monotonic()
        figures["similar_rows"] = float(
            copy_rows("recommend_similaritem", SIMILAR_COLUMNS, similar_item_rows(version, content, {}, hybrid))
        )
        timer.step("rows_copy", started)
        figures["copy_rows_per_s"] = round(figures["similar_rows"] / max(timer.seconds["rows_copy"], 0.1), 1)
        sample_ids = [int(pk) for pk in np.random.default_rng(3).permutation(product_ids)[:30_000]]
        del content, hybrid, vectors
        gc.collect()
        started = time.monotonic()
        for name, seconds in fill_search_table().items():
            timer.seconds[name] = seconds
        timer.step("search_table", started)
        figures["search_upserts_per_s"] = search_upsert_sample(documents, 20_000)
        del documents
        gc.collect()
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        model_version_mark(
            version=version, status=ModelVersion.Status.READY, metrics={"products": products, **timer.seconds}
        )
        model_version_activate(version=version)
        timer.step("activate", started)
    figures["build_total_s"] = round(time.monotonic() - build_started, 1)
    # The 2 cores are shared (and this runs under nice): other jobs' load is part of the build times.
    figures["build_load_average_start"], figures["build_load_average_end"] = build_load, round(os.getloadavg()[0], 2)
    figures["build_date"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    figures["build_peak_rss_mb"] = proc_status_mb("VmHWM")
    figures.update({f"build.{name}_s": seconds for name, seconds in timer.seconds.items()})
    return figures, queries, sample_ids


# --- measuring ------------------------------------------------------------------------------------------------


def probe(spec_path: Path) -> None:
    """Run in a fresh process (`--probe`): memory after loading the active artifact, and each part of the two
    paths timed alone. Prints one `PROBE {json}` line."""
    spec = json.loads(spec_path.read_text())
    setup_django()
    from django.conf import settings
    from django.db import connection

    from catalog.models import Product
    from recommend.core.vectors import encode_query
    from recommend.search.selectors import lexical_ids, search_ranking
    from recommend.similarity.artifact import active_artifact
    from recommend.similarity.selectors import similar_products

    out: dict[str, float] = {"rss_before_mb": proc_status_mb("VmRSS")}
    started = time.monotonic()
    loaded = active_artifact()
    assert loaded is not None, "no active similar-items version"
    artifact = loaded[1]
    out["artifact_load_s"] = round(time.monotonic() - started, 2)
    out["rss_artifact_mb"] = proc_status_mb("VmRSS")
    out["rss_artifact_peak_mb"] = proc_status_mb("VmHWM")

    rows = [artifact.row_of[pk] for pk in spec["ids"][:200]]
    queries = np.asarray(artifact.vectors[rows], dtype=np.float32)
    candidates = settings.SEARCH_CANDIDATES
    for k, name in ((settings.SIMILAR_TOP_K + 6, "ann"), (candidates, "ann_k100")):
        times = []
        for i in range(len(queries)):
            t = time.perf_counter()
            artifact.neighbours(queries[i : i + 1], k)
            times.append((time.perf_counter() - t) * 1000)
        out[f"{name}_p50_ms"], out[f"{name}_p99_ms"] = percentiles(times)

    # Each part gets queries it has not seen (PostgreSQL keeps a repeated query's pages hot).
    lexical_queries, ranked_queries = spec["queries"][:100], spec["queries"][100:200]
    times, matches = [], []
    for query in lexical_queries:
        t = time.perf_counter()
        lexical_ids(query, candidates)
        times.append((time.perf_counter() - t) * 1000)
    out["lexical_p50_ms"], out["lexical_p99_ms"] = percentiles(times)
    with connection.cursor() as cursor:
        for query in lexical_queries[:60]:
            words = " | ".join(query.split())
            cursor.execute(
                "SELECT count(*) FROM recommend_product_search WHERE document @@ to_tsquery('english', %s)", [words]
            )
            matches.append(cursor.fetchone()[0])
    out["lexical_matches_median"] = float(np.median(matches))
    out["lexical_matches_p90"] = float(np.percentile(matches, 90))

    started = time.monotonic()
    encode_query("warm up the encoder")
    out["encoder_load_s"] = round(time.monotonic() - started, 2)
    times = []
    for query in ranked_queries:
        t = time.perf_counter()
        encode_query(query)
        times.append((time.perf_counter() - t) * 1000)
    out["encode_query_p50_ms"], out["encode_query_p99_ms"] = percentiles(times)
    times = []
    for query in ranked_queries:  # query vectors cached now: lexical + ANN + fusion, no encoder
        t = time.perf_counter()
        search_ranking(query=query)
        times.append((time.perf_counter() - t) * 1000)
    out["search_ranking_p50_ms"], out["search_ranking_p99_ms"] = percentiles(times)
    times = []
    for product in Product.objects.filter(pk__in=spec["ids"][200:400]).only("pk", "category_id"):
        t = time.perf_counter()
        similar_products(product=product, strategy="hybrid", limit=10)
        times.append((time.perf_counter() - t) * 1000)
    out["similar_selector_p50_ms"], out["similar_selector_p99_ms"] = percentiles(times)
    out["rss_serving_mb"] = proc_status_mb("VmRSS")
    out["rss_serving_peak_mb"] = proc_status_mb("VmHWM")

    # Recall last: the exact scan reads every vector (the serving RSS above does not include them).
    _, approx = artifact.neighbours(queries, 10)
    exact = exact_topk(np.asarray(artifact.vectors), queries, 10)
    out["recall_at_10"] = round(tie_aware_recall(approx, exact, 10), 4)
    out["recall_queries"] = float(len(queries))
    print("PROBE " + json.dumps(out), flush=True)


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
    args = parser.parse_args()
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
    write_results(
        "scale", values, f"Scale: {args.products:,} synthetic products", replace_all=True, table=table(values)
    )
    for key, value in sorted(values.items()):
        print(f"{key:40} {value}")


def table(values: dict[str, Any]) -> list[str]:
    def v(key: str) -> Any:
        return values[f"scale.{key}"]

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
