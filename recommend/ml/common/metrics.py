"""Ranking, classification and clustering metrics as plain functions (no Django), unit-tested on hand-computed cases.

Ranking metrics take `ranked` (item ids, best first) and `relevant` (a set of ids) for one query;
`mean_over` averages any of them over many queries.
"""

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np


def hit_at_k(ranked: Sequence[Any], relevant: Iterable[Any], k: int) -> float:
    relevant = set(relevant)
    return 1.0 if any(item in relevant for item in ranked[:k]) else 0.0


def precision_at_k(ranked: Sequence[Any], relevant: Iterable[Any], k: int) -> float:
    relevant = set(relevant)
    return sum(1 for item in ranked[:k] if item in relevant) / k if k else 0.0


def recall_at_k(ranked: Sequence[Any], relevant: Iterable[Any], k: int) -> float:
    relevant = set(relevant)
    if not relevant:
        return 0.0
    return sum(1 for item in ranked[:k] if item in relevant) / len(relevant)


def ndcg_at_k(ranked: Sequence[Any], relevant: Iterable[Any], k: int) -> float:
    """Binary-relevance NDCG@k; with one relevant item it is 1 / log2(rank + 1)."""
    relevant = set(relevant)
    dcg = sum(1.0 / math.log2(position + 2) for position, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(position + 2) for position in range(min(len(relevant), k)))
    return dcg / ideal if ideal else 0.0


def mrr(ranked: Sequence[Any], relevant: Iterable[Any], k: int | None = None) -> float:
    relevant = set(relevant)
    for position, item in enumerate(ranked[:k] if k else ranked):
        if item in relevant:
            return 1.0 / (position + 1)
    return 0.0


def mean_over(
    metric: Callable[..., float], rankings: Iterable[Sequence[Any]], relevants: Iterable[Iterable[Any]], k: int
) -> float:
    values = [metric(ranked, relevant, k) for ranked, relevant in zip(rankings, relevants, strict=True)]
    return float(np.mean(values)) if values else 0.0


def target_ranks(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """0-based rank of each row's target in a (cases, items) score matrix: the one tie rule of every ranking
    evaluation here. Every item scored at least as high as the target, other than the target itself, ranks
    above it ("ties count against the target"), so no model gains from ties: a constant scorer ranks every
    target last, and an item ranked -inf (history, basket, pad) can never be a hit."""
    scores = np.atleast_2d(np.asarray(scores))
    targets = np.asarray(targets, dtype=np.int64)
    target_scores = scores[np.arange(len(targets)), targets][:, None]
    return (scores > target_scores).sum(axis=1) + (scores == target_scores).sum(axis=1) - 1


def rank_of_target(scores: np.ndarray, target: int) -> int:
    """0-based rank of `target` in one full score vector, by `target_ranks`' rule (every tie counts against it)."""
    return int(target_ranks(np.asarray(scores)[None, :], np.array([target]))[0])


def hits_at_k(ranks: np.ndarray, k: int) -> np.ndarray:
    """1.0 / 0.0 per case: the target ranked in the top k (what `comparison.compare` pairs case by case)."""
    return (np.asarray(ranks) < k).astype(np.float64)


def hit_and_ndcg_from_rank(rank: int, k: int) -> tuple[float, float]:
    """HR@k and NDCG@k for one held-out item at 0-based `rank` (leave-one-out protocol)."""
    if rank < k:
        return 1.0, 1.0 / math.log2(rank + 2)
    return 0.0, 0.0


def nmi(labels_true: Sequence[Any], labels_pred: Sequence[Any]) -> float:
    from sklearn.metrics import normalized_mutual_info_score

    return float(normalized_mutual_info_score(labels_true, labels_pred))


def ari(labels_true: Sequence[Any], labels_pred: Sequence[Any]) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(labels_true, labels_pred))


def purity(labels_true: Sequence[Any], labels_pred: Sequence[Any]) -> float:
    """Share of items whose cluster's majority true label is their own."""
    clusters: dict[Any, dict[Any, int]] = {}
    for truth, cluster in zip(labels_true, labels_pred, strict=True):
        counts = clusters.setdefault(cluster, {})
        counts[truth] = counts.get(truth, 0) + 1
    total = sum(sum(counts.values()) for counts in clusters.values())
    return sum(max(counts.values()) for counts in clusters.values()) / total if total else 0.0


def accuracy(labels_true: Sequence[Any], labels_pred: Sequence[Any]) -> float:
    if len(labels_true) != len(labels_pred):
        raise ValueError("labels_true and labels_pred differ in length")
    return sum(t == p for t, p in zip(labels_true, labels_pred, strict=True)) / len(labels_true) if labels_true else 0.0


def macro_f1(labels_true: Sequence[Any], labels_pred: Sequence[Any]) -> float:
    """F1 averaged over every class in the truth or the predictions (0 for a class never right), as sklearn."""
    from sklearn.metrics import f1_score

    return float(f1_score(labels_true, labels_pred, average="macro", zero_division=0))
