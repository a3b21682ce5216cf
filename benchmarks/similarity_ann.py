"""ANN section of benchmarks/similarity.py: HNSW recall@10 against exact search, real and 1M synthetic vectors."""

from __future__ import annotations

import time

import numpy as np

from recommend.ml.ann_index import VectorIndex, normalize


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def tie_aware_recall(approx_scores: np.ndarray, exact_scores: np.ndarray, k: int) -> float:
    """Share of returned results at least as close as the exact k-th neighbour.

    Plain id overlap would punish HNSW for returning an equally close twin (the
    Flipkart data holds many identical titles, i.e. identical vectors).
    """
    kth = exact_scores[:, k - 1 : k] - 1e-5
    return float((approx_scores[:, :k] >= kth).mean())


def synthetic_vectors(n: int, d: int = 384, seed: int = 0) -> np.ndarray:
    """See `synthetic_vectors_with_topics` (the vectors only)."""
    return synthetic_vectors_with_topics(n, d, seed)[0]


def synthetic_vectors_with_topics(n: int, d: int = 384, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, topic of each row): clustered, anisotropic unit vectors shaped like real MiniLM product embeddings.

    Two-level Gaussian mixture (1000 topic clusters with Zipf sizes -> sub-clusters of
    ~8 near-variants -> items) whose covariance has a power-law spectrum
    (eigenvalue_i ~ i^-0.8), plus a shared mean direction, randomly rotated. The
    parameters were picked to match statistics of the real Flipkart/Beauty vectors on
    20k samples (real vs synthetic): norm of the mean vector 0.43-0.52 vs 0.45, PCA
    components for 50% of variance 27-31 vs 25 and for 90% 149-159 vs 202, mean
    cosine to the 1st/10th neighbour 0.81-0.92/0.66-0.78 vs 0.91/0.70, mean cosine
    0.18-0.27 vs 0.20. Isotropic noise would be far harder (and less realistic) for
    any ANN index; uniform noise has no neighbours worth finding at all. The topic (0-999) of each
    row is its top-level cluster (benchmarks/scale.py files products of one topic under one category).
    """
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.standard_normal((d, d)))
    rotation = rotation.astype(np.float32)
    scale = ((np.arange(d) + 1.0) ** -0.4).astype(np.float32)  # sqrt of the i^-0.8 spectrum
    scale /= np.linalg.norm(scale)
    n_clusters, n_sub = 1000, max(n // 8, 1)
    centres = rng.standard_normal((n_clusters, d), dtype=np.float32) * scale
    sizes = np.minimum(rng.zipf(1.6, n_clusters).astype(np.float64), 1000)
    sub_parent = rng.choice(n_clusters, size=n_sub, p=sizes / sizes.sum())
    sub_spread = rng.uniform(0.8, 1.5, n_sub).astype(np.float32)[:, None]
    subs = centres[sub_parent] + rng.standard_normal((n_sub, d), dtype=np.float32) * scale * sub_spread
    item_spread = rng.uniform(0.4, 0.8, n_sub).astype(np.float32)
    mean_dir = rng.standard_normal(d).astype(np.float32)
    mean_dir *= 0.5 / np.linalg.norm(mean_dir)
    out = np.empty((n, d), dtype=np.float32)
    topics = np.empty(n, dtype=np.int64)
    for s in range(0, n, 100_000):  # chunks keep the float temporaries small
        m = min(100_000, n - s)
        sub = rng.integers(0, n_sub, m)
        x = subs[sub] + rng.standard_normal((m, d), dtype=np.float32) * scale * item_spread[sub, None]
        out[s : s + m] = normalize(normalize(x) + mean_dir) @ rotation.T
        topics[s : s + m] = sub_parent[sub]
    return out, topics


def exact_topk(base: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-k inner products (scores only), chunked over the base."""
    best = np.full((len(queries), k), -np.inf, dtype=np.float32)
    for s in range(0, len(base), 200_000):
        sims = queries @ base[s : s + 200_000].T
        cand = np.concatenate([best, np.partition(sims, -k, axis=1)[:, -k:]], axis=1)
        best = -np.sort(-cand, axis=1)[:, :k]
    return best


def bench_ann(flipkart_vecs: np.ndarray, n_synth: int) -> dict[str, float]:
    k = 10
    res: dict[str, float] = {}
    rng = np.random.default_rng(1)
    # Real vectors: queries are 2000 catalog items (self included on both sides).
    q = flipkart_vecs[rng.choice(len(flipkart_vecs), 2000, replace=False)]
    _, exact = VectorIndex("exact").build(flipkart_vecs).search(q, k)
    hnsw = VectorIndex("hnsw").build(flipkart_vecs)
    _, approx = hnsw.search(q, k)
    res["ann.recall_at_10_20k"] = tie_aware_recall(approx, exact, k)

    data = synthetic_vectors(n_synth + 1000, 384)
    base, queries = data[:n_synth], data[n_synth:]  # held-out queries, not in the index
    t = time.perf_counter()
    exact = exact_topk(base, queries, k)
    exact_s = time.perf_counter() - t
    log(f"ann: exact ground truth in {exact_s:.1f}s; building HNSW on {n_synth}")
    index = VectorIndex("hnsw")
    t = time.perf_counter()
    index.build(base)
    build_s = time.perf_counter() - t
    log(f"ann: HNSW build {build_s:.1f}s")
    suffix = "1m" if n_synth >= 1_000_000 else f"{n_synth // 1000}k"
    for ef in (32, 64, 128, 256):
        _, approx = index.search(queries, k, ef_search=ef)
        res[f"ann.sweep.ef{ef}.recall_at_10_{suffix}"] = tie_aware_recall(approx, exact, k)
    _, approx = index.search(queries, k)
    res[f"ann.recall_at_10_{suffix}"] = tie_aware_recall(approx, exact, k)
    lat = []
    for i in range(len(queries)):
        t = time.perf_counter()
        index.search(queries[i : i + 1], k)
        lat.append((time.perf_counter() - t) * 1000)
    # Brute force single-query latency, for scale (what "exact" would cost at this size).
    t = time.perf_counter()
    for i in range(20):
        exact_topk(base, queries[i : i + 1], k)
    res[f"ann.exact_query_ms_{suffix}"] = (time.perf_counter() - t) / 20 * 1000
    res[f"ann.build_seconds_{suffix}"] = build_s
    res[f"ann.query_ms_p50_{suffix}"] = float(np.percentile(lat, 50))
    res[f"ann.query_ms_p99_{suffix}"] = float(np.percentile(lat, 99))
    res["ann.hnsw.m"] = float(index.hnsw_m)
    res["ann.hnsw.ef_construction"] = float(index.ef_construction)
    res["ann.hnsw.ef_search"] = float(index.ef_search)
    return res
