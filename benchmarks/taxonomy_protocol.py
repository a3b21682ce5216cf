"""The taxonomy benchmark's protocol: every choice on a development half, every reported figure on the other half.

Each dataset is split in two by a stable hash of the normalised title (recommend.ml.common.grouping: near-copies
stay on one side). On the development half, and only there, the true paths choose:

- the build's method (``direct`` or ``autoencoder``) and how its cluster counts are set: ``silhouette`` (the
  build chooses them itself, no labels) or ``dev_nmi`` (per level, the count from COUNT_GRID with the best NMI on
  the development labels, finest level first, each coarser level grouping the clusters below as the build does);
  the configuration with the best mean NMI over the levels is the one reported;
- the baseline's cluster count per level (flat k-means on TF-IDF, the count from COUNT_GRID with the best NMI on
  the development labels).

Counts above one cluster per MIN_CLUSTER_SIZE products are not candidates (NMI rises with the count on small
samples). The report half's labels are used for scoring only. Pure numpy / sklearn on top of recommend.ml.hierarchy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score

from recommend.ml.common.grouping import title_bucket
from recommend.ml.hierarchy.builder import DEFAULT_METHOD, brand_keys
from recommend.ml.hierarchy.features import tfidf_matrix
from recommend.ml.hierarchy.tree import TreeConfig, _compact, build_tree, group_clusters, kmeans

# Candidate counts per level (coarse -> fine) for the choices made on the development half. Wider than the
# build's own silhouette grid so the true counts (Fashion 7 / 47 / 170, Flipkart 29 / 151 / 582) are reachable.
COUNT_GRID: tuple[tuple[int, ...], ...] = (
    (4, 6, 8, 10, 12, 16, 20, 30, 40),
    (12, 20, 30, 40, 50, 80, 120, 160, 200),
    (40, 60, 100, 150, 200, 300, 450, 600),
)
METHODS = ("direct", "autoencoder")
COUNT_RULES = ("silhouette", "dev_nmi")
MIN_CLUSTER_SIZE = 5  # on average: candidate counts above products / 5 are skipped
DEV_PERCENT = 50  # title buckets 0..49: development half; 50..99: report half


@dataclass(frozen=True)
class Choice:
    method: str
    count_rule: str  # "silhouette" or "dev_nmi"
    counts: tuple[int, ...] | None  # fixed counts for dev_nmi, None when the build chooses (silhouette)
    dev_mean_nmi: float


def split_indexes(titles: Sequence[str], percent: int = DEV_PERCENT) -> tuple[list[int], list[int]]:
    """(development, report) indexes: whole normalised-title groups on one side."""
    dev, report = [], []
    for index, title in enumerate(titles):
        (dev if title_bucket(title) < percent else report).append(index)
    return dev, report


def level_truths(paths: Sequence[Sequence[str]], depth: int = 3) -> list[np.ndarray]:
    return [
        np.unique([" > ".join(path[: level + 1]) for path in paths], return_inverse=True)[1].astype(np.int64)
        for level in range(depth)
    ]


def nmi_levels(truths: Sequence[np.ndarray], labels: Sequence[np.ndarray]) -> list[float]:
    return [float(normalized_mutual_info_score(t, p)) for t, p in zip(truths, labels, strict=True)]


def brand_ids(titles: Sequence[str], brands: Sequence[str] | None = None) -> np.ndarray:
    """The build's brand id per product (builder.build_hierarchy: brand, or the title's first word)."""
    keys = brand_keys(titles, brands)
    return np.unique(np.array(keys, dtype=object).astype(str), return_inverse=True)[1].astype(np.int64)


def _grid(level: int, limit: int) -> list[int]:
    return [count for count in COUNT_GRID[level] if count < limit] or [max(1, limit - 1)]


def _most(products: int) -> int:
    """At most one cluster per MIN_CLUSTER_SIZE products: NMI rises with the count on small samples."""
    return max(3, products // MIN_CLUSTER_SIZE + 1)


def dev_nmi_counts(
    level_vectors: Sequence[np.ndarray], truths: Sequence[np.ndarray], brands: np.ndarray, seed: int = 0
) -> tuple[tuple[int, ...], list[np.ndarray]]:
    """Counts per level chosen by development NMI, finest first, coarser levels grouping the level below."""
    depth = len(level_vectors)
    best_fine: tuple[float, int, np.ndarray] | None = None
    for count in _grid(depth - 1, _most(len(level_vectors[-1]))):
        assigned, _ = kmeans(level_vectors[-1], count, seed=seed, iterations=TreeConfig().kmeans_iterations)
        assigned = _compact(assigned)
        score = float(normalized_mutual_info_score(truths[-1], assigned))
        if best_fine is None or score > best_fine[0]:
            best_fine = (score, count, assigned)
    assert best_fine is not None
    counts, labels = [best_fine[1]], [best_fine[2]]
    for level in range(depth - 2, -1, -1):
        children = int(labels[0].max()) + 1
        best: tuple[float, int, np.ndarray] | None = None
        for count in _grid(level, max(3, children // 2 + 1)):
            _, assigned = group_clusters(labels[0], level_vectors[level], count, seed=seed, brands=brands)
            score = float(normalized_mutual_info_score(truths[level], assigned))
            if best is None or score > best[0]:
                best = (score, count, assigned)
        assert best is not None
        counts.insert(0, best[1])
        labels.insert(0, best[2])
    return tuple(counts), labels


def method_vectors(method: str, vectors: np.ndarray, depth: int = 3) -> list[np.ndarray]:
    """Per-level representation the build clusters: the vectors themselves, or the autoencoder's codes."""
    if method == "direct":
        return [vectors] * depth
    from recommend.ml.hierarchy.autoencoder import encode_levels, train_autoencoder
    from recommend.ml.hierarchy.autoencoder_config import AutoencoderConfig

    config = AutoencoderConfig()
    config = AutoencoderConfig(**{**config.__dict__, "code_sizes": list(config.code_sizes)[-depth:]})
    return encode_levels(train_autoencoder(vectors, config), vectors)


def choose_build(
    titles: Sequence[str], vectors: np.ndarray, truths: Sequence[np.ndarray], seed: int = 0
) -> tuple[Choice, dict[str, float]]:
    """The build configuration with the best mean development NMI, and every candidate's development NMI."""
    brands = brand_ids(titles)
    scores: dict[str, float] = {}
    best: Choice | None = None
    for method in METHODS:
        level_vectors = method_vectors(method, vectors)
        for rule in COUNT_RULES:
            if rule == "silhouette":
                counts = None
                labels = build_tree(level_vectors, None, TreeConfig(seed=seed), brands=brands).labels
            else:
                counts, labels = dev_nmi_counts(level_vectors, truths, brands, seed)
            per_level = nmi_levels(truths, labels)
            mean = float(np.mean(per_level))
            for level, value in enumerate(per_level, start=1):
                scores[f"{method}.{rule}.level{level}.nmi"] = round(value, 4)
            for level, labelled in enumerate(labels, start=1):
                scores[f"{method}.{rule}.level{level}.clusters"] = int(labelled.max()) + 1
            candidate = Choice(method, rule, counts, round(mean, 4))
            # Ties keep the earlier candidate: the default method and the build's own counts come first.
            if best is None or candidate.dev_mean_nmi > best.dev_mean_nmi:
                best = candidate
    assert best is not None
    return best, scores


def choose_baseline_counts(
    titles: Sequence[str], truths: Sequence[np.ndarray], seed: int = 0
) -> tuple[tuple[int, ...], dict[str, float]]:
    """Per level, the k-means count from COUNT_GRID with the best development NMI (each level on its own)."""
    matrix = tfidf_matrix(titles)
    counts, scores = [], {}
    for level, truth in enumerate(truths):
        best: tuple[float, int] | None = None
        for count in _grid(level, _most(matrix.shape[0])):
            labels = KMeans(n_clusters=count, n_init=1, max_iter=100, random_state=seed).fit_predict(matrix)
            score = float(normalized_mutual_info_score(truth, labels))
            scores[f"baseline.level{level + 1}.k{count}.nmi"] = round(score, 4)
            if best is None or score > best[0]:
                best = (score, count)
        assert best is not None
        counts.append(best[1])
    return tuple(counts), scores


__all__ = ["DEFAULT_METHOD", "Choice", "choose_baseline_counts", "choose_build", "split_indexes"]
