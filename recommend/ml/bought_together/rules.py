"""Association rules over item pairs: support, confidence and lift from sparse co-occurrence counts.

Pair counts are one sparse product `X.T @ X` of the binary basket x item matrix, so the cost is
O(sum of squared basket sizes) and memory O(distinct co-occurring pairs); on shop-sized data this is
faster than FP-growth for pairs and needs no extra library. Triples are not mined: with mostly
two- and three-item baskets they add little and multiply the rule count.

Scoring a partial basket uses the rules' conditional probability P(j | i) = count(i, j) / count(i),
smoothed towards the item's overall share (`prior_strength` pseudo-baskets), so a pair seen once
in a rare item's single basket does not outrank a best-seller; the smoothed probabilities of the
given items are averaged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommend.ml.bought_together.data import basket_matrix


@dataclass(frozen=True)
class RuleTable:
    """The mined rules antecedent -> consequent, as parallel arrays (what gets stored per version)."""

    antecedent: np.ndarray
    consequent: np.ndarray
    count: np.ndarray
    support: np.ndarray
    confidence: np.ndarray
    lift: np.ndarray

    def __len__(self) -> int:
        return len(self.antecedent)


class AssociationRules:
    """Pair rules with minimum support / count / lift; scores the items that complete a basket."""

    def __init__(self, *, min_count: int = 2, min_support: float = 0.0, min_lift: float = 1.0) -> None:
        self.min_count = min_count
        self.min_support = min_support
        self.min_lift = min_lift
        self.n_baskets = 0
        self.item_counts = np.zeros(0)
        self.pair_counts = sp.csr_matrix((0, 0))
        self.item_weights = np.zeros(0)
        self.pair_weights = sp.csr_matrix((0, 0))
        self.total_weight = 0.0

    def fit(
        self, baskets: Sequence[Sequence[int]], n_items: int, *, basket_weights: np.ndarray | None = None
    ) -> AssociationRules:
        """Count pairs; `basket_weights` (e.g. recency decay) weight the scoring counts, not the rule table."""
        matrix = basket_matrix(baskets, n_items)
        self.n_baskets = max(len(baskets), 1)
        self.item_counts = np.asarray(matrix.sum(axis=0)).ravel().astype(np.float64)
        self.pair_counts = _pairs(matrix, matrix)
        self.total_weight = float(self.n_baskets if basket_weights is None else np.sum(basket_weights))
        if basket_weights is None:
            self.item_weights, self.pair_weights = self.item_counts, self.pair_counts
        else:
            weighted = sp.csr_matrix(matrix.multiply(np.asarray(basket_weights, dtype=np.float64)[:, None]))
            self.item_weights = np.asarray(weighted.sum(axis=0)).ravel().astype(np.float64)
            self.pair_weights = _pairs(weighted, matrix)
        return self

    @property
    def n_items(self) -> int:
        return len(self.item_counts)

    def popularity(self) -> np.ndarray:
        """Each item's (weighted) share of baskets: the prior the rule probabilities shrink towards."""
        return self.item_weights / max(self.total_weight, 1e-12)

    def table(self) -> RuleTable:
        """Every rule i -> j passing min_count, min_support and min_lift."""
        coo = self.pair_counts.tocoo()
        count = coo.data.astype(np.float64)
        support = count / self.n_baskets
        confidence = count / np.maximum(self.item_counts[coo.row], 1.0)
        lift = confidence / np.maximum(self.item_counts[coo.col] / self.n_baskets, 1e-12)
        keep = (count >= self.min_count) & (support >= self.min_support) & (lift >= self.min_lift)
        return RuleTable(
            coo.row[keep].astype(np.int64),
            coo.col[keep].astype(np.int64),
            count[keep].astype(np.int64),
            support[keep],
            confidence[keep],
            lift[keep],
        )

    def conditional(self, items: Sequence[int], *, prior_strength: float = 0.0) -> np.ndarray:
        """Mean over the given items of P(j | i), smoothed with `prior_strength` pseudo-baskets of popularity."""
        known = [item for item in items if 0 <= item < self.n_items]
        prior = self.popularity()
        if not known:
            return prior.copy()
        rows = np.asarray(self.pair_weights[known].todense(), dtype=np.float64)
        totals = self.item_weights[known][:, None]
        smoothed = (rows + prior_strength * prior[None, :]) / np.maximum(totals + prior_strength, 1e-12)
        return smoothed.mean(axis=0)

    def score(self, items: Sequence[int]) -> np.ndarray:
        """The plain rule score: the best confidence of any rule from a given item (0 where none)."""
        known = [item for item in items if 0 <= item < self.n_items]
        if not known:
            return np.zeros(self.n_items)
        rows = np.asarray(self.pair_counts[known].todense(), dtype=np.float64)
        rows[rows < self.min_count] = 0.0
        return (rows / np.maximum(self.item_counts[known][:, None], 1.0)).max(axis=0)

    def save(self, path: Path) -> None:
        arrays: dict[str, Any] = {
            "n_baskets": np.array([self.n_baskets]),
            "total_weight": np.array([self.total_weight]),
            "item_counts": self.item_counts,
            "item_weights": self.item_weights,
            "settings": np.array([self.min_count, self.min_support, self.min_lift], dtype=np.float64),
            **_csr_arrays("pairs", self.pair_counts),
            **_csr_arrays("weighted", self.pair_weights),
        }
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: Path) -> AssociationRules:
        with np.load(path) as stored:
            min_count, min_support, min_lift = stored["settings"].tolist()
            rules = cls(min_count=int(min_count), min_support=min_support, min_lift=min_lift)
            rules.n_baskets = int(stored["n_baskets"][0])
            rules.item_counts = stored["item_counts"]
            rules.item_weights = stored["item_weights"]
            rules.total_weight = float(stored["total_weight"][0])
            rules.pair_counts = _csr_load(stored, "pairs")
            rules.pair_weights = _csr_load(stored, "weighted")
        return rules


def _pairs(left: sp.csr_matrix, right: sp.csr_matrix) -> sp.csr_matrix:
    """Item x item co-occurrence (weighted by `left`'s rows), diagonal dropped."""
    pairs = sp.csr_matrix(left.T @ right, dtype=np.float32)
    pairs.setdiag(0)
    pairs.eliminate_zeros()
    pairs.sort_indices()
    return pairs


def _csr_arrays(prefix: str, matrix: sp.csr_matrix) -> dict[str, np.ndarray]:
    return {
        f"{prefix}_data": matrix.data,
        f"{prefix}_indices": matrix.indices,
        f"{prefix}_indptr": matrix.indptr,
        f"{prefix}_shape": np.array(matrix.shape),
    }


def _csr_load(stored: np.lib.npyio.NpzFile, prefix: str) -> sp.csr_matrix:
    shape = tuple(int(value) for value in stored[f"{prefix}_shape"])
    return sp.csr_matrix(
        (stored[f"{prefix}_data"], stored[f"{prefix}_indices"], stored[f"{prefix}_indptr"]), shape=shape
    )
