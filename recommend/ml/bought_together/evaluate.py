"""The hide-one-item protocol: rank every item for each partial basket, report hit@k and NDCG@k."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from recommend.ml.bought_together.data import HiddenItemCase
from recommend.ml.common.metrics import hit_and_ndcg_from_rank, rank_of_target

Scorer = Callable[[Sequence[int]], np.ndarray]


def evaluate_cases(scorer: Scorer, cases: Sequence[HiddenItemCase], *, k: int = 10) -> dict[str, float]:
    """Mean hit@k / NDCG@k; the given items are removed from the ranking (a shop never re-offers them)."""
    hits, gains = [], []
    for case in cases:
        scores = np.asarray(scorer(case.given), dtype=np.float64).copy()
        scores[list(case.given)] = -np.inf
        hit, gain = hit_and_ndcg_from_rank(rank_of_target(scores, case.target), k)
        hits.append(hit)
        gains.append(gain)
    return {
        f"hit_at_{k}": float(np.mean(hits)) if hits else 0.0,
        f"ndcg_at_{k}": float(np.mean(gains)) if gains else 0.0,
        "cases": float(len(cases)),
    }
