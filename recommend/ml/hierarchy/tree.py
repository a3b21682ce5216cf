"""Nested clustering of products into a tree with a chosen depth and branching.

Bottom-up: the finest level is k-means over the products (faiss, fast enough for 100k rows on 2 cores); each
coarser level groups the clusters below it by size-weighted k-means over their centroids, computed in that
level's own representation (the hierarchical autoencoder gives one code per level). Grouping whole clusters keeps
the tree consistent: every node has exactly one parent.

The number of clusters per level is either given or chosen by the silhouette of the products of a fixed sample
(cosine), over a grid of candidate counts; coarser levels must at least halve the count of the level below, so
the tree has real branching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score


@dataclass
class TreeConfig:
    depth: int = 3
    # Candidate cluster counts per level (coarse -> fine) for the automatic choice.
    candidates: Sequence[Sequence[int]] = (
        (4, 5, 6, 7, 8, 10, 12),
        (12, 16, 20, 25, 30, 40, 50),
        (40, 60, 80, 100, 130, 160, 200, 250),
    )
    silhouette_sample: int = 4000
    kmeans_iterations: int = 30
    seed: int = 0


@dataclass
class TreeLevels:
    """Cluster ids per product for each level (coarse -> fine) and each cluster's parent one level up."""

    labels: list[np.ndarray]
    parents: list[np.ndarray]  # parents[level][cluster] = cluster id at level - 1 (level 0: all -1)
    chosen_counts: list[int]
    silhouettes: dict[str, float] = field(default_factory=dict)


def kmeans(vectors: np.ndarray, count: int, *, seed: int, iterations: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Labels and centroids of k-means on unit rows (faiss when available, sklearn otherwise)."""
    count = max(1, min(count, len(vectors)))
    data = np.ascontiguousarray(vectors, dtype=np.float32)
    try:
        import faiss
    except ImportError:  # pragma: no cover - faiss is a runtime requirement, the fallback keeps ml/ portable
        model = KMeans(n_clusters=count, n_init=1, random_state=seed, max_iter=iterations).fit(data)
        return model.labels_.astype(np.int64), model.cluster_centers_.astype(np.float32)
    index = faiss.Kmeans(data.shape[1], count, niter=iterations, seed=seed + 1, nredo=1, verbose=False)
    index.cp.min_points_per_centroid = 1  # small catalogs: no warning spam, tiny clusters are allowed
    index.train(data)
    _, assigned = index.index.search(data, 1)
    return assigned[:, 0].astype(np.int64), np.asarray(index.centroids, dtype=np.float32)


def group_clusters(
    child_labels: np.ndarray,
    vectors: np.ndarray,
    count: int,
    *,
    seed: int,
    brands: np.ndarray | None = None,
    brand_weight: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Group the clusters in `child_labels` into `count` parents; returns (parent per child, label per product).

    `brands` (an id per product) adds each cluster's brand profile (square-rooted counts, unit length) to its
    centroid, so clusters sold by the same brands tend to share a parent.
    """
    children = int(child_labels.max()) + 1
    sizes = np.bincount(child_labels, minlength=children).astype(np.float64)
    sums = np.zeros((children, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, child_labels, vectors)
    centroids = _unit(sums / np.maximum(sizes, 1)[:, None])
    if brands is not None and brand_weight > 0:
        profile = np.zeros((children, int(brands.max()) + 1), dtype=np.float64)
        np.add.at(profile, (child_labels, brands), 1.0)
        centroids = np.hstack([centroids, brand_weight * _unit(np.sqrt(profile))])
    count = max(1, min(count, int((sizes > 0).sum())))
    model = KMeans(n_clusters=count, n_init=8, random_state=seed).fit(centroids, sample_weight=np.maximum(sizes, 1e-6))
    parent_of_child = _compact(model.labels_.astype(np.int64))
    return parent_of_child, parent_of_child[child_labels]


def build_tree(
    level_vectors: Sequence[np.ndarray],
    counts: Sequence[int] | None,
    config: TreeConfig,
    *,
    brands: np.ndarray | None = None,
    brand_weight: float = 1.0,
) -> TreeLevels:
    """Cluster products into `len(level_vectors)` nested levels; `level_vectors` go coarse -> fine.

    `counts` fixes the clusters per level; None chooses them by silhouette (see the module docstring).
    `brands` (an id per product) is used when grouping clusters into coarser levels (see group_clusters).
    """
    depth = len(level_vectors)
    rng = np.random.default_rng(config.seed)
    sample = rng.choice(len(level_vectors[0]), size=min(config.silhouette_sample, len(level_vectors[0])), replace=False)
    silhouettes: dict[str, float] = {}
    fine = level_vectors[-1]
    if counts is not None:
        fine_labels, _ = kmeans(fine, counts[-1], seed=config.seed, iterations=config.kmeans_iterations)
    else:
        fine_labels = _best_fine(fine, config.candidates[-1], sample, config, silhouettes, depth)
    fine_labels = _compact(fine_labels)
    labels: list[np.ndarray] = [fine_labels]
    parents: list[np.ndarray] = []
    for level in range(depth - 2, -1, -1):
        child = labels[0]
        children = int(child.max()) + 1
        if counts is not None:
            wanted = [counts[level]]
        else:
            wanted = [c for c in config.candidates[level] if c <= max(2, children // 2)] or [max(1, children // 2)]
        best: tuple[float, np.ndarray, np.ndarray] | None = None
        for count in wanted:
            parent_of_child, assigned = group_clusters(
                child, level_vectors[level], count, seed=config.seed, brands=brands, brand_weight=brand_weight
            )
            score = _silhouette(level_vectors[level], assigned, sample) if len(wanted) > 1 else 0.0
            silhouettes[f"level{level + 1}.k{count}"] = score
            if best is None or score > best[0]:
                best = (score, parent_of_child, assigned)
        assert best is not None
        parents.insert(0, best[1])
        labels.insert(0, best[2])
    parents.insert(0, np.full(int(labels[0].max()) + 1, -1, dtype=np.int64))
    chosen = [int(level.max()) + 1 for level in labels]
    return TreeLevels(labels=labels, parents=parents, chosen_counts=chosen, silhouettes=silhouettes)


def _best_fine(
    vectors: np.ndarray,
    candidates: Sequence[int],
    sample: np.ndarray,
    config: TreeConfig,
    silhouettes: dict[str, float],
    depth: int,
) -> np.ndarray:
    best: tuple[float, np.ndarray] | None = None
    for count in candidates:
        if count >= len(vectors):
            continue
        assigned, _ = kmeans(vectors, count, seed=config.seed, iterations=config.kmeans_iterations)
        score = _silhouette(vectors, assigned, sample)
        silhouettes[f"level{depth}.k{count}"] = score
        if best is None or score > best[0]:
            best = (score, assigned)
    if best is None:  # fewer products than the smallest candidate: one product per cluster
        return np.arange(len(vectors), dtype=np.int64)
    return best[1]


def _silhouette(vectors: np.ndarray, labels: np.ndarray, sample: np.ndarray) -> float:
    picked = labels[sample]
    if len(np.unique(picked)) < 2 or len(np.unique(picked)) >= len(sample):
        return -1.0
    return float(silhouette_score(vectors[sample], picked, metric="cosine"))


def _unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)


def _compact(labels: np.ndarray) -> np.ndarray:
    """Renumber labels 0..n-1 without gaps (empty k-means clusters leave holes)."""
    _, compact = np.unique(labels, return_inverse=True)
    return compact.astype(np.int64)
