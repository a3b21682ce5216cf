"""End to end: product titles -> a labelled category tree, and placing new products into it.

Product vector = sentence vector of the title's head word (the product type, see features.head_phrase) beside the
sentence vector of the whole title. Two ways to cluster it, compared in benchmarks/taxonomy.py:
``direct`` clusters those vectors; ``autoencoder`` clusters the hierarchical autoencoder's per-level codes.
Coarser levels group the clusters below them by their centroid together with their brand profile (which brands
sell in the cluster), because shops that make sandals also make shoes, not watches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from recommend.ml.hierarchy.autoencoder_config import AutoencoderConfig
from recommend.ml.hierarchy.features import _normalise, head_phrase, title_tokens
from recommend.ml.hierarchy.labels import NodeDescription, describe_clusters
from recommend.ml.hierarchy.tree import TreeConfig, TreeLevels, build_tree

Encoder = Callable[[Sequence[str]], np.ndarray]
Progress = Callable[[float, str], None]
DEFAULT_METHOD = "direct"  # with the counts the tree chooses itself it beat the autoencoder (benchmarks/taxonomy.py)


@dataclass
class BuildConfig:
    method: str = DEFAULT_METHOD  # "direct" or "autoencoder"
    counts: Sequence[int] | None = None  # clusters per level, coarse -> fine; None chooses them
    brand_weight: float = 1.0
    tree: TreeConfig = field(default_factory=TreeConfig)
    autoencoder: AutoencoderConfig = field(default_factory=AutoencoderConfig)


@dataclass
class BuiltHierarchy:
    levels: TreeLevels
    nodes: list[list[NodeDescription]]  # per level, per cluster id
    centroids: list[np.ndarray]  # per level: unit centroids in product-vector space (for placement)
    method: str


def product_vectors(titles: Sequence[str], encoder: Encoder) -> np.ndarray:
    """[head word vector, title vector], unit rows. Head words repeat a lot, so each is encoded once."""
    heads = [head_phrase(title, 1) for title in titles]
    unique, inverse = np.unique(np.array(heads, dtype=object).astype(str), return_inverse=True)
    head_vectors = encoder(list(unique))[inverse]
    return _normalise(np.hstack([_normalise(head_vectors), _normalise(encoder(list(titles)))]).astype(np.float32))


def brand_keys(titles: Sequence[str], brands: Sequence[str] | None = None) -> list[str]:
    """The brand per product, or the title's first word where no brand is known."""
    keys = []
    for index, title in enumerate(titles):
        brand = (brands[index] if brands is not None else "") or ""
        keys.append(brand.strip().lower() or (title_tokens(title) or [""])[0])
    return keys


def brand_words(keys: Sequence[str], min_products: int = 3) -> frozenset[str]:
    """Words of brands that sell at least `min_products` products: never node labels."""
    counts: dict[str, int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    return frozenset(word for key, count in counts.items() if count >= min_products for word in title_tokens(key))


def build_hierarchy(
    titles: Sequence[str],
    vectors: np.ndarray,
    *,
    brands: Sequence[str] | None = None,
    config: BuildConfig | None = None,
    progress: Progress | None = None,
) -> BuiltHierarchy:
    """Cluster `vectors` (from product_vectors) into a labelled tree of `config.tree.depth` levels."""
    config = config or BuildConfig()
    depth = config.tree.depth
    report = progress or (lambda fraction, message: None)
    if config.method == "autoencoder":
        from recommend.ml.hierarchy.autoencoder import encode_levels, train_autoencoder  # torch, on first use

        sizes = list(config.autoencoder.code_sizes)[-depth:]
        ae_config = AutoencoderConfig(**{**config.autoencoder.__dict__, "code_sizes": sizes})
        if config.counts is not None:
            ae_config.cluster_counts = list(config.counts)
        model = train_autoencoder(vectors, ae_config, lambda f, m: report(0.6 * f, m))
        level_vectors = encode_levels(model, vectors)
    elif config.method == "direct":
        level_vectors = [vectors] * depth
    else:
        raise ValueError(f"method: unknown {config.method!r}, use 'direct' or 'autoencoder'")
    report(0.6, "clustering")
    keys = brand_keys(titles, brands)
    _, brand_ids = np.unique(np.array(keys, dtype=object).astype(str), return_inverse=True)
    stop_terms = brand_words(keys)
    levels = build_tree(
        level_vectors, config.counts, config.tree, brands=brand_ids.astype(np.int64), brand_weight=config.brand_weight
    )
    report(0.85, "labelling")
    nodes: list[list[NodeDescription]] = []
    centroids = []
    for level, labels in enumerate(levels.labels):
        parent_labels = [node.label for node in nodes[level - 1]] if level else None
        nodes.append(
            describe_clusters(
                titles,
                vectors,
                labels,
                parent_labels=parent_labels,
                parent_of=levels.parents[level],
                stop_terms=stop_terms,
            )
        )
        centroids.append(cluster_centroids(vectors, labels))
    report(1.0, "done")
    return BuiltHierarchy(levels=levels, nodes=nodes, centroids=centroids, method=config.method)


def cluster_centroids(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    clusters = int(labels.max()) + 1
    sums = np.zeros((clusters, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, vectors)
    return _normalise(sums).astype(np.float32)


def place(
    vectors: np.ndarray, centroids: Sequence[np.ndarray], parents: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centroid per level, top-down among the children of the node chosen above.

    Returns (cluster id per level per product, shape (n, depth)) and the cosine to the chosen finest node.
    """
    count, depth = len(vectors), len(centroids)
    path = np.zeros((count, depth), dtype=np.int64)
    similarity = np.zeros(count, dtype=np.float32)
    for row in range(count):
        allowed = np.arange(len(centroids[0]))
        for level in range(depth):
            scores = centroids[level][allowed] @ vectors[row]
            best = int(np.argmax(scores))
            path[row, level] = allowed[best]
            similarity[row] = scores[best]
            if level + 1 < depth:
                children = np.flatnonzero(parents[level + 1] == path[row, level])
                allowed = children if len(children) else np.arange(len(centroids[level + 1]))
    return path, similarity
