"""Bought-together ML on tiny hand-made baskets: rule arithmetic, graph, blend, protocol, features."""

import numpy as np
import pytest
import torch

from recommend.ml.bought_together import (
    AssociationRules,
    BlendedScorer,
    BlendWeights,
    CoPurchaseGraphModel,
    GraphConfig,
    split_by_time,
)
from recommend.ml.bought_together.blend import choose_weights, weight_grid
from recommend.ml.bought_together.data import basket_matrix, hidden_item_cases, item_basket_counts
from recommend.ml.bought_together.evaluate import evaluate_cases
from recommend.ml.bought_together.features import item_features, price_band_features
from recommend.ml.bought_together.weights import recency_weights

BASKETS = [[0, 1], [0, 1, 2], [0, 2], [3]]


def test_rule_support_confidence_and_lift_by_hand():
    rules = AssociationRules(min_count=1, min_lift=0.0).fit(BASKETS, 4)
    table = rules.table()
    pairs = {(int(a), int(c)): i for i, (a, c) in enumerate(zip(table.antecedent, table.consequent, strict=True))}
    rule = pairs[(0, 1)]
    assert table.count[rule] == 2
    assert table.support[rule] == pytest.approx(2 / 4)
    assert table.confidence[rule] == pytest.approx(2 / 3)  # 0 is in 3 baskets, 2 of them hold 1
    assert table.lift[rule] == pytest.approx((2 / 3) / (2 / 4))
    assert table.confidence[pairs[(1, 0)]] == pytest.approx(1.0)
    assert (0, 3) not in pairs and (3, 0) not in pairs


def test_rule_thresholds_drop_weak_pairs():
    rules = AssociationRules(min_count=2, min_lift=1.0).fit(BASKETS, 4)
    table = rules.table()
    kept = {(int(a), int(c)) for a, c in zip(table.antecedent, table.consequent, strict=True)}
    assert kept == {(0, 1), (1, 0), (0, 2), (2, 0)}  # (1, 2) was in one basket only
    # (1, 2) was seen once: below min_count, so the plain rule score ignores it.
    assert rules.score([1])[2] == 0.0
    assert rules.score([1])[0] == pytest.approx(1.0)


def test_conditional_without_prior_is_the_confidence_and_with_prior_shrinks_to_popularity():
    rules = AssociationRules(min_count=1).fit(BASKETS, 4)
    assert rules.conditional([0], prior_strength=0.0)[1] == pytest.approx(2 / 3)
    strong = rules.conditional([0], prior_strength=1e6)
    assert strong == pytest.approx(rules.popularity(), rel=1e-4)


def test_recency_weights_halve_at_the_half_life_and_weight_the_counts():
    days = np.array([0.0, 30.0, 60.0])
    assert recency_weights(days, half_life_days=30) == pytest.approx([0.25, 0.5, 1.0])
    assert recency_weights(days, half_life_days=None) is None
    rules = AssociationRules(min_count=1).fit([[0, 1], [0, 2]], 3, basket_weights=np.array([0.25, 1.0]))
    assert rules.item_weights == pytest.approx([1.25, 0.25, 1.0])
    assert rules.item_counts == pytest.approx([2, 1, 1])  # the rule table keeps plain counts


def test_rules_save_and_load_round_trip(tmp_path):
    rules = AssociationRules(min_count=1).fit(BASKETS, 4, basket_weights=np.array([1.0, 0.5, 0.5, 1.0]))
    rules.save(tmp_path / "rules.npz")
    loaded = AssociationRules.load(tmp_path / "rules.npz")
    assert loaded.conditional([0, 2], prior_strength=3.0) == pytest.approx(
        rules.conditional([0, 2], prior_strength=3.0)
    )
    assert len(loaded.table()) == len(rules.table())


def _paired_baskets(repeats: int = 30) -> list[list[int]]:
    """Items 0+1 and 2+3 always bought together; 4 is a cold twin of 1 (same features, no baskets)."""
    return [[0, 1]] * repeats + [[2, 3]] * repeats


def _fit_graph(features=None):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only add overhead
    try:
        baskets = _paired_baskets()
        rules = AssociationRules(min_count=1).fit(baskets, 6)
        graph = CoPurchaseGraphModel(GraphConfig(dim=8, epochs=30, batch_size=128, lr=0.05)).fit(
            baskets, n_items=6, pair_counts=rules.pair_counts, item_counts=rules.item_counts, features=features
        )
    finally:
        torch.set_num_threads(threads)
    return rules, graph


@pytest.fixture(scope="module")
def fitted():
    return _fit_graph()


def test_graph_learns_the_co_purchase_pairs(fitted):
    _, graph = fitted
    assert int(np.argmax(graph.score([0]))) == 1
    assert int(np.argmax(graph.score([3]))) == 2
    assert graph.score([0])[0] == 0.0  # a given item is never suggested
    assert graph.score([0]).sum() == pytest.approx(1.0)


def test_graph_scores_a_cold_item_through_its_features(tmp_path):
    features = np.eye(6, dtype=np.float32)
    features[4] = features[1]  # the cold item 4 looks exactly like item 1
    _, graph = _fit_graph(features)
    scores = graph.score([0])
    assert scores[4] > scores[5]  # 5 has features of its own and no baskets either
    graph.save(tmp_path / "graph.npz")
    assert CoPurchaseGraphModel.load(tmp_path / "graph.npz").score([0]) == pytest.approx(scores)


def test_blend_is_a_distribution_and_explains_rules_evidence(fitted):
    rules, graph = fitted
    blend = BlendedScorer(rules=rules, graph=graph, weights=BlendWeights(0.5, 0.4, 0.1, 1.0))
    scores = blend.score([0])
    assert scores.sum() == pytest.approx(1.0)
    top = blend.explain([0], limit=2, min_count=5)[0]
    assert (top.item, top.signal, top.source_item, top.pair_count) == (1, "rules", 0, 30)
    assert top.confidence == pytest.approx(1.0)


def test_choose_weights_picks_the_signal_that_finds_the_hidden_items(fitted):
    rules, graph = fitted
    cases = hidden_item_cases(_paired_baskets(3), seed=0)
    grid = [BlendWeights(0.0, 0.0, 1.0, 1.0), BlendWeights(1.0, 0.0, 0.0, 1.0)]
    chosen, value = choose_weights(rules=rules, graph=graph, cases=cases, grid=grid, k=1)
    assert chosen.rules == 1.0 and value == 1.0
    assert all(abs(w.rules + w.graph + w.popularity - 1.0) < 1e-9 for w in weight_grid())


def test_hidden_item_protocol_by_hand():
    cases = hidden_item_cases([[0, 1], [2], [1, 2, 3]], seed=0)
    assert len(cases) == 2 and all(case.target not in case.given for case in cases)
    assert hidden_item_cases([[0, 1], [1, 2, 3]], seed=0) == hidden_item_cases([[0, 1], [1, 2, 3]], seed=0)
    fixed = np.array([0.1, 0.9, 0.5, 0.2])  # ranking 1, 2, 3, 0
    metrics = evaluate_cases(lambda given: fixed, [cases[0]], k=1)
    rank_scores = fixed.copy()
    rank_scores[list(cases[0].given)] = -np.inf
    assert metrics["hit_at_1"] == float(int(np.argmax(rank_scores)) == cases[0].target)


def test_data_helpers():
    matrix = basket_matrix([[0, 0, 1], [2]], 3)
    assert matrix.toarray().tolist() == [[1, 1, 0], [0, 0, 1]]
    assert item_basket_counts([[0, 0, 1], [0]], 2).tolist() == [2, 1]
    assert split_by_time(list(range(10)), 0.2) == (list(range(8)), [8, 9])


def test_features_share_category_prefixes_and_band_prices():
    features = item_features(
        category_paths=[("Dairy", "Milk"), ("Dairy", "Cheese"), ("Bakery",)], prices=[1.0, 5.0, None]
    )
    assert features.shape[0] == 3
    assert float(features[0] @ features[1]) > 0.0  # both under "Dairy"
    bands = price_band_features([1.0, 100.0, None])
    assert bands.sum(axis=1).tolist() == [1.0, 1.0, 1.0]
    assert bands[2, -1] == 1.0 and bands[0].argmax() != bands[1].argmax()
