"""A built tree's top level against the live tree's, beside flat k-means on TF-IDF with as many clusters.

Products are the cases: a product scores 1 when the majority live category of its proposed cluster is its own
live category (the per-product form of purity), so the paired difference proposal - k-means has an interval.
k-means gets the proposal's own number of top-level clusters (purity rises with the count, so the same count
keeps it fair); NMI of both is kept beside. No Django.
"""

from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence

import numpy as np

from recommend.ml.common.comparison import Comparison, compare
from recommend.ml.common.metrics import nmi

MODEL = "proposed tree"
BASELINE = "k-means on TF-IDF"
METRIC = "top-level purity"


def majority_correct(clusters: Sequence[Hashable], truth: Sequence[Hashable]) -> np.ndarray:
    """1.0 per case whose cluster's most common true label (ties: the first in sorted order) is its own."""
    members: dict[Hashable, Counter] = defaultdict(Counter)
    for cluster, label in zip(clusters, truth, strict=True):
        members[cluster][label] += 1
    majority = {
        cluster: min(counts, key=lambda label: (-counts[label], str(label))) for cluster, counts in members.items()
    }
    return np.array([majority[cluster] == label for cluster, label in zip(clusters, truth, strict=True)], dtype=float)


def tfidf_kmeans(titles: Sequence[str], clusters: int, seed: int = 13) -> np.ndarray:
    """Flat k-means (one init, 100 iterations) on the titles' TF-IDF vectors, as in benchmarks/taxonomy.py."""
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    from recommend.ml.hierarchy.features import tfidf_matrix

    try:
        matrix = tfidf_matrix(titles)
    except ValueError:  # a tiny catalog: no word in two titles
        matrix = TfidfVectorizer(sublinear_tf=True, dtype=np.float32).fit_transform(titles)
    clusters = max(1, min(clusters, matrix.shape[0]))
    return KMeans(n_clusters=clusters, n_init=1, max_iter=100, random_state=seed).fit_predict(matrix)


def compare_with_kmeans(
    titles: Sequence[str], proposed: Sequence[Hashable], truth: Sequence[Hashable], *, seed: int = 13
) -> tuple[Comparison, dict[str, float]]:
    """(paired top-level purity per product, proposal - k-means; NMI of both)."""
    kmeans = tfidf_kmeans(titles, len(set(proposed)), seed=seed).tolist()
    comparison = compare(
        metric=METRIC,
        model=MODEL,
        model_scores=majority_correct(proposed, truth),
        baselines={BASELINE: majority_correct(kmeans, truth)},
        unit="products",
    )
    truth_list, proposed_list = list(truth), list(proposed)
    extra = {
        "top_level_nmi": round(nmi(truth_list, proposed_list), 4),
        "top_level_nmi_kmeans": round(nmi(truth_list, kmeans), 4),
    }
    return comparison, extra
