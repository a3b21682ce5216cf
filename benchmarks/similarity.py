"""Offline benchmark of the product-similarity ML (recommend/ml), no Django needed.

Usage (from the project root)::

    .venv/bin/python benchmarks/similarity.py            # full run (~10 min on 2 idle cores, more when shared)
    .venv/bin/python benchmarks/similarity.py --quick    # smoke run (3,000 Flipkart rows, 2,000 shoppers)

Data: ``$SHOP_DATA_DIR`` (default ``../shared/data/raw`` relative to the project root).
Writes ``benchmarks/results/similarity.json`` (flat dotted keys -> numbers, and the run's ``meta.*``
stamp) and ``benchmarks/results/similarity.md``: this run's keys only. ``--only SECTION ...`` writes
``similarity.<sections>.*`` and ``--skip-ann`` ``similarity.no_ann.*``, ``--quick`` ``*.quick.*``, so a
partial or smoke run never replaces the full run's file. Embeddings are cached in
``/tmp/similarity_cache`` (keyed by a hash of the texts) so re-runs skip re-encoding.

Sections
* flipkart: category precision@10 of content (MiniLM on product_name + brand) vs
  TF-IDF on the same text; products with category depth >= 4, the label is the level-3
  path; the path itself is never in the text (its leaf often repeats the title).
* beauty: leave-one-out hit@10 (last item held out; query = second-to-last item) for
  behaviour co-occurrence, content and their hybrid. Co-occurrence settings and the
  hybrid weight are tuned on a validation split (third-to-last -> second-to-last, with
  a co-occurrence model that has not seen the second-to-last items).
* duplicates: the Flipkart proxy labels of ``recommend.ml.duplicates``; fit on train,
  threshold on val, report on test.
* ann: HNSW recall@10 against exact search on the real 20k Flipkart vectors and on 1M
  synthetic clustered 384-d vectors; 1M build time and single-query p99 latency.
* encoder: MiniLM texts/second on this machine.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import html
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import RESULTS, write_results  # noqa: E402
from similarity_ann import bench_ann  # noqa: E402
from similarity_duplicates import bench_duplicates  # noqa: E402

from catalog.flipkart import flipkart_category_parts  # noqa: E402
from recommend.ml.ann_index import VectorIndex  # noqa: E402
from recommend.ml.cooccurrence import (  # noqa: E402
    build_cooccurrence,
    merge_neighbors,
    pair_support,
    thinly_supported,
)
from recommend.ml.grouped_search import fill_from, grouped_top_k  # noqa: E402
from recommend.ml.text_encoder import get_text_encoder  # noqa: E402

MIN_VISITORS = 2  # the shipped default of SIMILAR_BEHAVIOR_MIN_VISITORS

CACHE = Path(os.environ.get("SIMILARITY_CACHE", "/tmp/similarity_cache"))
SECTIONS = ("encoder", "flipkart", "beauty", "duplicates", "ann")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def encode_cached(texts: list[str], name: str) -> np.ndarray:
    """MiniLM embeddings of ``texts``, cached on disk by content hash."""
    precision = "bf16" if get_text_encoder().bf16 else "fp32"  # TEXT_ENCODER_PRECISION=auto, as in the app
    key = hashlib.sha1(("\x1f".join(texts) + precision).encode()).hexdigest()[:16]
    path = CACHE / f"{name}-{key}.npy"
    if path.exists():
        return np.load(path)
    t = time.perf_counter()
    vecs = get_text_encoder().encode(texts)
    log(f"encoded {len(texts)} {name} texts in {time.perf_counter() - t:.1f}s")
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs)
    return vecs


def flipkart_path(tree: str) -> list[str]:
    return flipkart_category_parts(tree)


def bench_encoder(rows: list[dict], n: int) -> dict[str, float]:
    enc = get_text_encoder()
    texts = [flipkart_text(r) for r in rows[:n]]
    enc.encode(texts[:64])  # warm-up (first call allocates)
    t = time.perf_counter()
    enc.encode(texts)
    dt = time.perf_counter() - t
    return {"encoder.texts_per_second": len(texts) / dt}


def flipkart_text(row: dict) -> str:
    # product_name + brand only: the category path would leak the label (see docstring).
    return f"{row['product_name']} {row['brand']}".strip()


def flipkart_vectors(rows: list[dict]) -> np.ndarray:
    return encode_cached([flipkart_text(r) for r in rows], "flipkart")


def bench_flipkart(rows: list[dict], limit: int | None) -> dict[str, float]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    all_texts = [flipkart_text(r) for r in rows]
    all_vecs = flipkart_vectors(rows)
    keep = [i for i, r in enumerate(rows) if len(flipkart_path(r["product_category_tree"])) >= 4]
    if limit:
        keep = keep[:limit]
    labels = np.array([" >> ".join(flipkart_path(rows[i]["product_category_tree"])[:3]) for i in keep])
    texts = [all_texts[i] for i in keep]
    k = 10

    def precision(nbrs: np.ndarray) -> float:
        return float((labels[nbrs] == labels[:, None]).mean())

    def drop_self(ids: np.ndarray) -> np.ndarray:
        # Remove the query from its own list (or the last entry if a twin outranked it).
        out = np.empty((len(ids), k), dtype=np.int64)
        for q, row in enumerate(ids):
            row = row[row != q]
            out[q] = row[:k]
        return out

    vecs = all_vecs[keep]
    ids, _ = VectorIndex("exact").build(vecs).search(vecs, k + 1)
    content_ids = drop_self(ids)
    content = precision(content_ids)
    # The shipped rule (recommend.similarity.build.content_lists): the product's own leaf category first.
    leaves = np.unique(
        [" >> ".join(flipkart_path(rows[i]["product_category_tree"])) for i in keep], return_inverse=True
    )[1]
    within, _ = grouped_top_k(vecs, leaves.astype(np.int64), k)
    shipped = np.array(
        [
            [pk for pk, _ in fill_from([(int(j), 0.0) for j in within[q] if j >= 0], [(int(j), 0.0) for j in row], k)]
            for q, row in enumerate(content_ids)
        ]
    )

    tfidf = TfidfVectorizer(sublinear_tf=True).fit_transform(texts)  # rows are L2-normalised
    tf_ids = np.empty((len(texts), k + 1), dtype=np.int64)
    for start in range(0, len(texts), 2000):
        sims = (tfidf[start : start + 2000] @ tfidf.T).toarray()
        top = np.argpartition(-sims, k + 1, axis=1)[:, : k + 1]
        order = np.argsort(-np.take_along_axis(sims, top, 1), axis=1, kind="stable")
        tf_ids[start : start + 2000] = np.take_along_axis(top, order, 1)
    tfidf_p = precision(drop_self(tf_ids))
    return {
        "flipkart.content.same_leaf_share_at_10": float((leaves[shipped] == leaves[:, None]).mean()),
        # Many Flipkart leaves hold fewer than 11 products: the share of the same-leaf slots there are.
        "flipkart.content.same_leaf_share_of_possible_at_10": float(
            (leaves[shipped] == leaves[:, None]).sum() / np.minimum(np.bincount(leaves)[leaves] - 1, k).sum()
        ),
        "flipkart.content.leaves_with_at_least_11_products_share": float(np.mean(np.bincount(leaves)[leaves] >= k + 1)),
        "flipkart.content.global.same_leaf_share_at_10": float((leaves[content_ids] == leaves[:, None]).mean()),
        "flipkart.content.same_leaf_rule.category_precision_at_10": precision(shipped),
        "flipkart.content.category_precision_at_10": content,
        "flipkart.tfidf.category_precision_at_10": tfidf_p,
        "flipkart.n_products": float(len(keep)),
    }


def load_beauty(data: Path) -> tuple[list[str], dict[str, str], list[list[str]]]:
    with open(data / "amazon_beauty_5core/beauty_items.csv", encoding="utf-8") as f:
        items = list(csv.DictReader(f))
    titles = {r["asin"]: html.unescape(r["title"]) for r in items}
    seqs: dict[str, list[tuple[int, str]]] = defaultdict(list)
    with gzip.open(data / "amazon_beauty_5core/beauty_interactions.csv.gz", "rt", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            seqs[r["user_id"]].append((int(r["seq_pos"]), r["asin"]))
    sequences = [[a for _, a in sorted(s)] for _, s in sorted(seqs.items())]
    return [r["asin"] for r in items], titles, sequences


def bench_beauty(data: Path, quick: bool) -> tuple[dict[str, float], str]:
    asins, titles, sequences = load_beauty(data)
    if quick:
        sequences = sequences[:2000]
        used = {asin for sequence in sequences for asin in sequence}
        asins = [asin for asin in asins if asin in used]  # only their items are encoded
    vecs = encode_cached([titles[a] for a in asins], "beauty")
    index = VectorIndex("exact").build(vecs, np.arange(len(asins)))
    row = {a: i for i, a in enumerate(asins)}
    depth = 50  # candidates per signal before the merge

    def content_lists(queries: list[str]) -> dict[str, list[tuple[str, float]]]:
        uniq = sorted(set(queries))
        ids, scores = index.search(vecs[[row[q] for q in uniq]], depth + 1)
        return {
            q: [(asins[i], float(s)) for i, s in zip(ids[n], scores[n], strict=True) if asins[i] != q]
            for n, q in enumerate(uniq)
        }

    def evaluate(cut: int, co_kwargs: dict, weights: list[tuple[float, str]]) -> dict[str, float]:
        """hit@10 predicting item [-cut] from item [-cut-1] with co-occurrence on [:-cut]."""
        model = build_cooccurrence([s[:-cut] for s in sequences], **co_kwargs)
        queries = [s[-cut - 1] for s in sequences]
        targets = [s[-cut] for s in sequences]
        content = content_lists(queries)
        behav = {q: model.neighbors(q, depth) for q in set(queries)}
        support = pair_support([s[:-cut] for s in sequences], co_kwargs.get("window", 3))
        hits = defaultdict(float)
        for q, t in zip(queries, targets, strict=True):
            hits["content"] += t in {i for i, _ in content[q][:10]}
            hits["behavior"] += t in {i for i, _ in behav[q][:10]}
            for w, norm in weights:
                merged = merge_neighbors(
                    content[q], behav[q], content_weight=w, behavior_weight=1 - w, k=10, normalization=norm, exclude=q
                )
                hits[f"hybrid:{w}:{norm}"] += t in {n.item for n in merged}
                weak = thinly_supported(q, behav[q], support, MIN_VISITORS)
                merged = merge_neighbors(
                    content[q],
                    behav[q],
                    content_weight=w,
                    behavior_weight=1 - w,
                    k=10,
                    normalization=norm,
                    exclude=q,
                    weak=weak,
                )
                hits[f"supported:{w}:{norm}"] += t in {n.item for n in merged}
        return {key: v / len(sequences) for key, v in hits.items()}

    # 1) co-occurrence settings on validation (behaviour only, no weights).
    grid = [
        dict(window=w, decay=0.7, alpha=a, backward_weight=bw)
        for w in (3, 5, 10)
        for a in (0.5, 0.7, 0.9)
        for bw in (1.0, 0.5)
    ]
    if quick:
        grid = grid[:4]
    best_co, best_hit = grid[0], -1.0
    for kw in grid:
        hit = evaluate(2, kw, [])["behavior"]
        if hit > best_hit:
            best_co, best_hit = kw, hit
    log(f"beauty: best co-occurrence {best_co} val hit@10={best_hit:.4f}")
    # 2) hybrid weight + normalisation on validation.
    weights = [(w, norm) for norm in ("max", "minmax", "rank") for w in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7)]
    val = evaluate(2, best_co, weights)
    best_w = max(weights, key=lambda wn: val[f"hybrid:{wn[0]}:{wn[1]}"])
    log(f"beauty: best hybrid {best_w} val hit@10={val[f'hybrid:{best_w[0]}:{best_w[1]}']:.4f}")
    # 3) test, once.
    test = evaluate(1, best_co, [best_w])
    return {
        "beauty.behavior.hit_at_10": test["behavior"],
        "beauty.content.hit_at_10": test["content"],
        "beauty.hybrid.hit_at_10": test[f"hybrid:{best_w[0]}:{best_w[1]}"],
        # The shipped rule (SIMILAR_BEHAVIOR_MIN_VISITORS): thin behaviour never outranks content.
        "beauty.hybrid.min_visitors_rule.hit_at_10": test[f"supported:{best_w[0]}:{best_w[1]}"],
        "beauty.hybrid.content_weight": best_w[0],
        "beauty.behavior.window": float(best_co["window"]),
        "beauty.behavior.alpha": best_co["alpha"],
        "beauty.behavior.backward_weight": best_co["backward_weight"],
        "beauty.val.behavior.hit_at_10": best_hit,
        "beauty.val.hybrid.hit_at_10": val[f"hybrid:{best_w[0]}:{best_w[1]}"],
        "beauty.n_users": float(len(sequences)),
    }, best_w[1]


HEADLINES = [
    # (label, key, compared against, target)
    ("Flipkart category P@10, content (MiniLM)", "flipkart.content.category_precision_at_10", "> TF-IDF"),
    ("Flipkart category P@10, TF-IDF", "flipkart.tfidf.category_precision_at_10", "baseline"),
    ("Flipkart same-leaf share of top-10, shipped rule", "flipkart.content.same_leaf_share_at_10", ">= 0.9"),
    ("Flipkart same-leaf share of top-10, global index", "flipkart.content.global.same_leaf_share_at_10", "baseline"),
    ("Beauty LOO hit@10, hybrid", "beauty.hybrid.hit_at_10", "> content, > behaviour"),
    ("Beauty LOO hit@10, hybrid + min-visitors rule", "beauty.hybrid.min_visitors_rule.hit_at_10", "no drop"),
    ("Beauty LOO hit@10, behaviour", "beauty.behavior.hit_at_10", ""),
    ("Beauty LOO hit@10, content", "beauty.content.hit_at_10", ""),
    ("Duplicates F1 (test), scorer", "flipkart.duplicates.f1_test", "> cosine only"),
    ("Duplicates F1 (test), cosine only", "flipkart.duplicates.cosine_only_f1_test", "baseline"),
    ("ANN recall@10, 20k real vectors", "ann.recall_at_10_20k", ">= 0.95"),
    ("ANN recall@10, 1M synthetic", "ann.recall_at_10_1m", ">= 0.95"),
    ("ANN build seconds, 1M", "ann.build_seconds_1m", ""),
    ("ANN single-query p99 ms, 1M", "ann.query_ms_p99_1m", ""),
    ("Encoder texts/second", "encoder.texts_per_second", ""),
]


def write_similarity_results(results: dict[str, float], quick: bool, notes: dict[str, str], part: str | None) -> None:
    """Through the shared writer: this run's sections only."""
    values: dict = {k: round(float(v), 5) for k, v in results.items()}
    values.update(notes)  # meta.* strings
    table = [
        f"Produced by `benchmarks/similarity.py`{' (QUICK smoke run)' if quick else ''}; method in its docstring.",
        "",
        "| metric | value | target |",
        "|---|---|---|",
    ]
    table += [f"| {label} | {values[key]:.4g} | {target} |" for label, key, target in HEADLINES if key in values]
    path = write_results("similarity", values, "Product similarity benchmark", part=part, quick=quick, table=table)
    log(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small samples, writes similarity.quick.*")
    parser.add_argument("--skip-ann", action="store_true")
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), help="run only these sections")
    parser.add_argument("--n-synthetic", type=int, default=None)
    args = parser.parse_args()
    data = Path(os.environ.get("SHOP_DATA_DIR", ROOT.parent / "shared/data/raw"))
    out_dir = RESULTS
    out_dir.mkdir(parents=True, exist_ok=True)
    random.seed(0)
    with open(data / "flipkart_ecommerce_sample/flipkart_20k_joined.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if args.quick:
        rows = rows[:3000]
    results: dict[str, float] = {}
    notes: dict[str, str] = {}
    ran = args.only or [s for s in SECTIONS if not (s == "ann" and args.skip_ann)]
    part = "_".join(s for s in SECTIONS if s in ran) if args.only else "no_ann" if args.skip_ann else None
    if "encoder" in ran:
        results.update(bench_encoder(rows, 500 if args.quick else 2000))
        log(f"encoder: {results['encoder.texts_per_second']:.0f} texts/s")
    if "flipkart" in ran:
        flip = bench_flipkart(rows, 3000 if args.quick else None)
        results.update(flip)
        log(f"flipkart: {flip}")
    if "beauty" in ran:
        beauty, norm = bench_beauty(data, args.quick)
        results.update(beauty)
        notes["meta.beauty_hybrid_normalization"] = norm  # tuned on validation
        log(f"beauty: {beauty}")
    if "duplicates" in ran:
        dup = bench_duplicates(rows, None if args.quick else out_dir, encode_cached)
        results.update(dup)
        log(f"duplicates: {dup}")
    if "ann" in ran:
        n_synth = args.n_synthetic or (20_000 if args.quick else 1_000_000)
        ann = bench_ann(flipkart_vectors(rows), n_synth)
        results.update(ann)
        log(f"ann: {ann}")
    write_similarity_results(results, args.quick, notes, None if set(ran) == set(SECTIONS) else part)


if __name__ == "__main__":
    main()
