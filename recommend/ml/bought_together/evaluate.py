"""The hide-one-item protocol: rank every item for each partial basket, report hit@k and NDCG@k.

Ranks follow `recommend.ml.common.metrics.target_ranks` (every tie counts against the hidden item), the rule
the sequential evaluation uses too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from recommend.ml.bought_together.data import HiddenItemCase
from recommend.ml.common.metrics import hit_and_ndcg_from_rank, hits_at_k, rank_of_target

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


def case_ranks(scorer: Scorer, cases: Sequence[HiddenItemCase]) -> np.ndarray:
    """0-based rank of each case's hidden item, the given items removed from the ranking."""
    ranks = np.zeros(len(cases), dtype=np.int64)
    for position, case in enumerate(cases):
        scores = np.asarray(scorer(case.given), dtype=np.float64).copy()
        scores[list(case.given)] = -np.inf
        ranks[position] = rank_of_target(scores, case.target)
    return ranks


def case_hits(scorer: Scorer, cases: Sequence[HiddenItemCase], *, k: int = 10) -> np.ndarray:
    """1/0 per case (hit@k), what `common.comparison.compare` pairs between the blend and each baseline."""
    return hits_at_k(case_ranks(scorer, cases), k)
