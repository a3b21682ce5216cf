"""The blend: smoothed rule probabilities, graph probabilities and a popularity prior, mixed linearly.

Each part is a probability distribution over the items that could complete the basket, so a linear
mixture stays one, and its weights read as "how much to trust each signal". Rules carry the
evidence where pairs were seen often; the graph fills in where they were not (few baskets, new
items); the popularity prior keeps small or odd baskets from getting random answers. Weights are
chosen on a validation split carved from the training dates (`choose_weights`), never on test; the grid holds
each signal alone, and among equally good points the one with the fewest signals wins, so a signal that adds
nothing on the shop's own validation baskets gets weight 0.

`explain` says, per recommended item, which signal carried it (rules where the pair was seen often
enough to quote, else the graph) and the rule evidence behind it (how many baskets with a given
item also held it), for shopper-facing words.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recommend.ml.bought_together.data import HiddenItemCase
from recommend.ml.bought_together.graph import CoPurchaseGraphModel
from recommend.ml.bought_together.rules import AssociationRules
from recommend.ml.common.metrics import rank_of_target


@dataclass(frozen=True)
class BlendWeights:
    rules: float = 0.5
    graph: float = 0.4
    popularity: float = 0.1
    prior_strength: float = 5.0  # pseudo-baskets of popularity in each rule probability


@dataclass(frozen=True)
class Explanation:
    item: int
    score: float
    signal: str  # "rules" or "graph"
    source_item: int  # the given item with the strongest rule to `item` (-1 when none)
    pair_count: int  # baskets holding both
    confidence: float  # pair_count / baskets holding source_item


class BlendedScorer:
    def __init__(self, *, rules: AssociationRules, graph: CoPurchaseGraphModel | None, weights: BlendWeights) -> None:
        self.rules = rules
        self.graph = graph
        self.weights = weights

    def parts(self, items: Sequence[int]) -> dict[str, np.ndarray]:
        """Each signal's probability of every item, given items excluded (zero)."""
        known = [item for item in items if 0 <= item < self.rules.n_items]
        rule_part = self.rules.conditional(known, prior_strength=self.weights.prior_strength)
        graph_part = self.graph.score(known) if self.graph is not None else np.zeros_like(rule_part)
        popularity = self.rules.popularity().copy()
        for part in (rule_part, graph_part, popularity):
            part[known] = 0.0
            total = part.sum()
            if total > 0:
                part /= total
        return {"rules": rule_part, "graph": graph_part, "popularity": popularity}

    def score(self, items: Sequence[int]) -> np.ndarray:
        parts = self.parts(items)
        weights = self.weights
        graph_weight = weights.graph if self.graph is not None else 0.0
        return weights.rules * parts["rules"] + graph_weight * parts["graph"] + weights.popularity * parts["popularity"]

    def explain(self, items: Sequence[int], *, limit: int, min_count: int | None = None) -> list[Explanation]:
        """The top `limit` items with the signal that carried each and its rule evidence."""
        known = [item for item in items if 0 <= item < self.rules.n_items]
        scores = self.score(known)
        scores[known] = -np.inf
        top = np.argsort(-scores, kind="stable")[:limit]
        threshold = self.rules.min_count if min_count is None else min_count
        counts = np.asarray(self.rules.pair_counts[known].todense()) if known else np.zeros((0, self.rules.n_items))
        out = []
        for item in top:
            if not np.isfinite(scores[item]):
                break
            best, pair_count, confidence = -1, 0, 0.0
            if len(known):
                column = counts[:, item]
                confidences = column / np.maximum(self.rules.item_counts[known], 1.0)
                strongest = int(np.argmax(confidences))
                best, pair_count, confidence = known[strongest], int(column[strongest]), float(confidences[strongest])
            # Rules speak where the pair was seen often enough to quote it; elsewhere the graph carried it.
            signal = "rules" if pair_count >= threshold or self.graph is None else "graph"
            out.append(Explanation(int(item), float(scores[item]), signal, best, pair_count, confidence))
        return out


def weight_grid(
    *,
    rule_weights: Sequence[float] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
    popularity_weights: Sequence[float] = (0.0, 0.1, 0.2, 0.4, 1.0),
    prior_strengths: Sequence[float] = (1.0, 5.0, 20.0, 50.0),
    with_graph: bool = True,
) -> list[BlendWeights]:
    grid = []
    for rule, popularity, strength in itertools.product(rule_weights, popularity_weights, prior_strengths):
        graph = round(1.0 - rule - popularity, 6)
        if graph < -1e-9 or (not with_graph and graph > 1e-9):
            continue
        grid.append(BlendWeights(rule, max(graph, 0.0), popularity, strength))
    return grid


def grid_hits(
    *,
    rules: AssociationRules,
    graph: CoPurchaseGraphModel | None,
    cases: Sequence[HiddenItemCase],
    grid: Sequence[BlendWeights],
    k: int = 10,
) -> np.ndarray:
    """(grid points, cases) 1/0: whether each grid point's blend ranks the case's hidden item in the top k
    (the given items removed; ties by `common.metrics.target_ranks`). Each case's parts are computed once."""
    hits = np.zeros((len(grid), len(cases)))
    strengths = sorted({weights.prior_strength for weights in grid})
    for column, case in enumerate(cases):
        given = list(case.given)
        by_strength = {
            strength: BlendedScorer(rules=rules, graph=graph, weights=BlendWeights(prior_strength=strength)).parts(
                given
            )
            for strength in strengths
        }
        for position, weights in enumerate(grid):
            parts = by_strength[weights.prior_strength]
            scores = weights.rules * parts["rules"] + weights.popularity * parts["popularity"]
            if graph is not None:
                scores = scores + weights.graph * parts["graph"]
            scores[given] = -np.inf
            hits[position, column] = rank_of_target(scores, case.target) < k
    return hits


def signals_used(weights: BlendWeights) -> tuple[int, int]:
    """(how many signals the blend uses, how costly they are): popularity < rules < the graph."""
    used = [value > 1e-9 for value in (weights.popularity, weights.rules, weights.graph)]
    return sum(used), sum(cost for cost, flag in zip((1, 2, 4), used, strict=True) if flag)


def simplest_best(grid: Sequence[BlendWeights], means: np.ndarray) -> int:
    """The grid point with the best mean; among equally good ones the one using the fewest and simplest signals,
    so a signal that adds nothing on validation gets weight 0 (then the first in grid order)."""
    best = float(np.max(means))
    tied = [position for position in range(len(grid)) if means[position] >= best - 1e-12]
    return min(tied, key=lambda position: (signals_used(grid[position]), position))


def choose_weights(
    *,
    rules: AssociationRules,
    graph: CoPurchaseGraphModel | None,
    cases: Sequence[HiddenItemCase],
    grid: Sequence[BlendWeights],
    k: int = 10,
) -> tuple[BlendWeights, float]:
    """The grid point with the best hit@k on validation cases (`simplest_best`: a signal adding nothing gets 0)."""
    if not cases:
        return grid[0], 0.0
    means = grid_hits(rules=rules, graph=graph, cases=cases, grid=grid, k=k).mean(axis=1)
    best = simplest_best(grid, means)
    return grid[best], float(means[best])


def cross_fitted_hits(grid: Sequence[BlendWeights], hits: np.ndarray) -> np.ndarray:
    """Per case 1/0 of weights chosen on the other half of the cases (alternate cases, so both halves span the
    same dates): the blend's held-out figure is not flattered by weights picked on the very cases it is scored on."""
    cases = hits.shape[1]
    halves = [np.arange(0, cases, 2), np.arange(1, cases, 2)]
    out = np.zeros(cases)
    for chosen_on, scored_on in (halves, halves[::-1]):
        if len(chosen_on) == 0:
            continue
        best = simplest_best(grid, hits[:, chosen_on].mean(axis=1))
        out[scored_on] = hits[best, scored_on]
    return out
