"""The build step of benchmarks/scale.py: catalogue, vectors, HNSW artifact, neighbour rows, search table."""

from __future__ import annotations

import gc
import itertools
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import ROOT, setup_django

sys.path.insert(0, str(ROOT))  # similarity_ann imports the project's ANN index
import sys

from common import ROOT
from scale_data import (
    Timer,
    copy_rows,
    fill_catalogue,
    percentiles,
    proc_status_mb,
    search_queries,
    synthetic_catalogue,
)
from similarity_ann import exact_topk, tie_aware_recall

sys.path.insert(0, str(ROOT))  # similarity_ann imports the project's ANN index


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
