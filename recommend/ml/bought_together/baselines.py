"""The simplest answers to "what completes this basket", that every blend is measured against.

`PairCooccurrence`: items ranked by the share of earlier baskets with a given item that also held them
(averaged over the given items; for one given item: how often they were bought together), popularity breaking
ties; `Popularity`: the items in most baskets, whatever is given (`recency_half_life_days`: recent baskets count
more, as the blend's own counts do). Both are fitted on the same
baskets as the blend and scored on the same held-out cases (`evaluate.case_hits`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from recommend.ml.bought_together.data import basket_matrix
from recommend.ml.bought_together.weights import recency_weights


class Popularity:
    def __init__(self, *, recency_half_life_days: float | None = None) -> None:
        self.half_life = recency_half_life_days
        self.counts = np.zeros(0)

    def fit(self, baskets: Sequence[Sequence[int]], n_items: int, days: np.ndarray | None = None) -> Popularity:
        weights = recency_weights(days, half_life_days=self.half_life) if days is not None else None
        matrix = basket_matrix(baskets, n_items)
        if weights is not None:
            matrix = matrix.multiply(weights[:, None]).tocsr()
        self.counts = np.asarray(matrix.sum(axis=0), dtype=np.float64).ravel()
        return self

    def score(self, items: Sequence[int]) -> np.ndarray:
        return self.counts.copy()


class PairCooccurrence:
    def __init__(self) -> None:
        self.pairs = sp.csr_matrix((0, 0))
        self.tie_break = np.zeros(0)

    def fit(self, baskets: Sequence[Sequence[int]], n_items: int) -> PairCooccurrence:
        matrix = basket_matrix(baskets, n_items)
        pairs = (matrix.T @ matrix).tocsr()
        pairs.setdiag(0)
        pairs.eliminate_zeros()
        counts = np.asarray(matrix.sum(axis=0), dtype=np.float64).ravel()
        self.pairs = sp.diags(1.0 / np.maximum(counts, 1.0)) @ pairs  # row i: P(j | i)
        # Below any share one basket can make: popularity only orders the items never bought with the given ones.
        self.tie_break = 1e-6 * counts / (counts.max(initial=0.0) + 1.0) / max(len(baskets), 1)
        return self

    def score(self, items: Sequence[int]) -> np.ndarray:
        known = [item for item in items if 0 <= item < len(self.tie_break)]
        shares = np.asarray(self.pairs[known].mean(axis=0), dtype=np.float64).ravel() if known else 0.0
        return shares + self.tie_break
