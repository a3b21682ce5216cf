"""Full-ranking leave-one-out evaluation: every item is a candidate, no sampled negatives.

One pass scores each batch once and ranks the target twice: with the user's history removed from
the ranking (RecBole's full-sort convention, the headline) and with nothing removed. It also
reports what the top-10 lists look like: catalogue coverage, popularity percentile, diversity over
item groups, and HR@10 split by history length and target popularity.

Ties: `recommend.ml.common.metrics.target_ranks`, the rule every ranking evaluation shares (bought together
too): every other item scored at least as high as the target ranks above it, so no model gains from ties.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from recommend.ml.common.metrics import target_ranks

Scorer = Callable[[Sequence[Sequence[int]]], np.ndarray]


@dataclass
class RankingResult:
    ranks_excluded: np.ndarray
    ranks_all: np.ndarray
    top_lists: np.ndarray  # (users, k), history excluded
    extra: dict[str, float] = field(default_factory=dict)


def rank_all(
    scorer: Scorer, histories: Sequence[Sequence[int]], targets: np.ndarray, *, k: int = 10, batch_size: int = 512
) -> RankingResult:
    excluded, everything, tops = [], [], []
    for start in range(0, len(histories), batch_size):
        batch = histories[start : start + batch_size]
        batch_targets = targets[start : start + batch_size]
        scores = np.asarray(scorer(batch), dtype=np.float64)
        scores[:, 0] = -np.inf  # the pad is never an item
        everything.append(target_ranks(scores, batch_targets))
        for row, history in enumerate(batch):
            scores[row, list(history)] = -np.inf
        excluded.append(target_ranks(scores, batch_targets))
        width = min(k, scores.shape[1] - 1)  # tiny catalogues in tests
        tops.append(np.argpartition(-scores, width, axis=1)[:, :width])
    return RankingResult(np.concatenate(excluded), np.concatenate(everything), np.concatenate(tops))


def hit_ndcg(ranks: np.ndarray, k: int = 10) -> tuple[float, float]:
    hits = ranks < k
    ndcg = np.where(hits, 1.0 / np.log2(ranks + 2.0), 0.0)
    return float(hits.mean()), float(ndcg.mean())


def popularity_percentile(popularity: np.ndarray) -> np.ndarray:
    """0..100 per item index: the share of items less popular than it (pad excluded)."""
    counts = popularity[1:]
    order = counts.argsort(kind="stable")
    percentile = np.empty(len(counts))
    percentile[order] = np.arange(len(counts)) / max(len(counts) - 1, 1) * 100.0
    return np.concatenate([[0.0], percentile])


def list_metrics(
    result: RankingResult,
    *,
    histories: Sequence[Sequence[int]],
    targets: np.ndarray,
    popularity: np.ndarray,
    groups: np.ndarray | None,
    k: int = 10,
    head_share: float = 0.2,
) -> dict[str, float]:
    """Coverage, popularity percentile, diversity and HR@k slices (all on the history-excluded ranking)."""
    n_items = len(popularity) - 1
    hits = result.ranks_excluded < k
    lengths = np.array([len(history) for history in histories])
    short = lengths <= np.median(lengths)
    # Head: the most popular items that together are `head_share` of the catalogue.
    head_items = set(np.argsort(-popularity[1:])[: int(n_items * head_share)] + 1)
    is_head = np.array([int(target) in head_items for target in targets])
    metrics = {
        "coverage_at_10": len(np.unique(result.top_lists)) / n_items,
        "popularity_percentile": float(popularity_percentile(popularity)[result.top_lists].mean()),
        "hr_at_10_short_history": float(hits[short].mean()),
        "hr_at_10_long_history": float(hits[~short].mean()) if (~short).any() else 0.0,
        "hr_at_10_head_target": float(hits[is_head].mean()) if is_head.any() else 0.0,
        "hr_at_10_tail_target": float(hits[~is_head].mean()) if (~is_head).any() else 0.0,
        "short_history_max_length": float(np.median(lengths)),
    }
    if groups is not None:
        distinct = [len(set(groups[row].tolist())) for row in result.top_lists]
        metrics["category_diversity_at_10"] = float(np.mean(distinct)) / k
    return metrics
