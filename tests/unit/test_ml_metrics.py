"""Metrics on tiny cases computed by hand."""

import math

import numpy as np
import pytest

from recommend.ml.common import metrics


def test_hit_precision_recall_on_a_hand_case():
    ranked, relevant = [5, 3, 9, 1], {3, 1, 7}
    assert metrics.hit_at_k(ranked, relevant, 1) == 0.0
    assert metrics.hit_at_k(ranked, relevant, 2) == 1.0
    assert metrics.precision_at_k(ranked, relevant, 4) == 0.5
    assert metrics.recall_at_k(ranked, relevant, 4) == pytest.approx(2 / 3)


def test_ndcg_with_one_relevant_item_is_inverse_log_rank():
    assert metrics.ndcg_at_k([4, 2, 8], {8}, 10) == pytest.approx(1 / math.log2(4))
    assert metrics.ndcg_at_k([8, 2], {8}, 10) == 1.0
    assert metrics.ndcg_at_k([1, 2], {8}, 10) == 0.0


def test_ndcg_with_two_relevant_items():
    # relevant at positions 1 and 3 (1-based): dcg = 1 + 1/log2(4) = 1.5; ideal = 1 + 1/log2(3)
    assert metrics.ndcg_at_k([1, 0, 2], {1, 2}, 3) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))


def test_mrr_and_mean():
    assert metrics.mrr([9, 8, 7], {7}) == pytest.approx(1 / 3)
    assert metrics.mean_over(metrics.hit_at_k, [[1, 2], [3, 4]], [{2}, {5}], 2) == 0.5


def test_rank_of_target_counts_ties_against_it():
    scores = np.array([0.1, 0.9, 0.5, 0.9])
    assert metrics.rank_of_target(scores, 2) == 2
    assert metrics.rank_of_target(scores, 3) == 1  # the tie at index 1 counts against it
    assert metrics.rank_of_target(scores, 1) == 1  # and the tie at index 3 against this one: one rule for both
    assert metrics.target_ranks(np.array([scores, scores]), np.array([2, 0])).tolist() == [2, 3]
    assert metrics.hits_at_k(np.array([0, 9, 10]), 10).tolist() == [1.0, 1.0, 0.0]
    assert metrics.hit_and_ndcg_from_rank(0, 10) == (1.0, 1.0)
    assert metrics.hit_and_ndcg_from_rank(10, 10) == (0.0, 0.0)


def test_clustering_metrics_on_a_perfect_and_a_mixed_split():
    truth = ["a", "a", "b", "b"]
    assert metrics.nmi(truth, [1, 1, 2, 2]) == pytest.approx(1.0)
    assert metrics.ari(truth, [2, 2, 1, 1]) == pytest.approx(1.0)
    assert metrics.purity(truth, [1, 1, 1, 2]) == 0.75
