"""recommend.ml.sequential on tiny synthetic sequences: baselines by hand, SASRec learns a pattern, explanations."""

import random

import numpy as np
import pytest
import torch

from recommend.ml.sequential.baselines import ItemKNN, Popularity
from recommend.ml.sequential.data import ItemVocabulary, leave_one_out, pad_right, training_windows
from recommend.ml.sequential.evaluation import hit_ndcg, rank_all, target_ranks
from recommend.ml.sequential.explain import deletion_gap, history_weights
from recommend.ml.sequential.pipeline import SequentialArtifact
from recommend.ml.sequential.sasrec import SASRecConfig
from recommend.ml.sequential.training import SASRecRecommender, TrainingConfig

FAST = {"batch_size": 64, "learning_rate": 5e-3, "patience": 100, "threads": 1, "evaluate_every": 100}


def test_vocabulary_maps_ids_to_one_based_indexes_and_drops_unknown_items():
    vocabulary = ItemVocabulary.from_sequences([["a", "b"], ["b", "c"]])
    assert vocabulary.encode(["c", "zzz", "a"]) == [3, 1]
    assert vocabulary.decode([2]) == ["b"]


def test_leave_one_out_holds_out_the_last_two_items_in_time_order():
    split = leave_one_out([[1, 2, 3, 4], [5, 6]])  # the second is too short to split
    assert split.train == [[1, 2]]
    assert split.valid_target.tolist() == [3] and split.test_target.tolist() == [4]
    assert split.test_histories() == [[1, 2, 3]]


def test_training_windows_cover_a_long_sequence_without_repeating_targets():
    windows = training_windows([list(range(1, 8))], max_length=3)
    targets = [item for window in windows for item in window[1:]]
    assert sorted(targets) == list(range(2, 8))


def test_pad_right_keeps_the_latest_items():
    items, lengths = pad_right([[1, 2, 3], [4]], max_length=2)
    assert items.tolist() == [[2, 3], [4, 0]] and lengths.tolist() == [2, 1]


def test_target_rank_counts_ties_against_the_target_and_metrics_follow():
    scores = np.array([[0.0, 0.5, 0.9, 0.5]])
    assert target_ranks(scores, np.array([1])).tolist() == [2]
    hr, ndcg = hit_ndcg(np.array([0, 1, 20]), k=10)
    assert hr == pytest.approx(2 / 3)
    assert ndcg == pytest.approx((1 + 1 / np.log2(3)) / 3)


def test_popularity_ranks_by_training_count():
    model = Popularity(n_items=3).fit([[1, 2, 2], [2, 3]])
    assert model.score([[1]])[0].tolist() == [0, 1, 3, 1]


def test_itemknn_prefers_neighbours_of_the_latest_history_item():
    # 1 always comes with 2, 3 always with 4; the history ends with 3.
    sequences = [[1, 2], [1, 2], [3, 4], [3, 4]]
    model = ItemKNN(n_items=4, window=1, recency=0.5).fit(sequences)
    scores = model.score([[1, 3]])[0]
    assert scores[4] > scores[2] > 0
    assert scores[4] == pytest.approx(2 * scores[2])  # weight 1 for the latest item, 0.5 for the one before


def test_rank_all_excludes_history_items_only_in_the_excluded_ranking():
    model = Popularity(n_items=3).fit([[1, 1, 1, 2, 2, 3]])
    result = rank_all(model.score, [[1]], np.array([2]))
    assert result.ranks_all.tolist() == [1] and result.ranks_excluded.tolist() == [0]


def cyclic_sequences(n_items: int = 12, users: int = 120, length: int = 8) -> list[list[int]]:
    rng = random.Random(0)
    sequences = []
    for _ in range(users):
        start = rng.randint(1, n_items)
        sequences.append([(start + step - 1) % n_items + 1 for step in range(length)])
    return sequences


def tiny_sasrec(n_items: int, epochs: int) -> SASRecRecommender:
    config = SASRecConfig(
        n_items=n_items, hidden=16, layers=1, heads=1, max_length=10, dropout=0.0, attention_dropout=0.0
    )
    return SASRecRecommender(config, TrainingConfig(epochs=epochs, **FAST))


def test_sasrec_learns_a_deterministic_next_item_pattern():
    torch.manual_seed(0)
    sequences = cyclic_sequences()
    split = leave_one_out(sequences)
    recommender = tiny_sasrec(12, epochs=25).fit(
        split.train, valid_histories=split.valid_histories(), valid_targets=split.valid_target
    )
    ranks = rank_all(recommender.score, split.test_histories(), split.test_target).ranks_all
    assert (ranks == 0).mean() > 0.9


def test_sasrec_trains_with_sampled_softmax_too():
    sequences = cyclic_sequences()
    split = leave_one_out(sequences)
    config = SASRecConfig(n_items=12, hidden=16, layers=1, max_length=10, dropout=0.0, attention_dropout=0.0)
    training = TrainingConfig(epochs=40, negatives=6, **FAST)
    recommender = SASRecRecommender(config, training).fit(
        split.train, valid_histories=split.valid_histories(), valid_targets=split.valid_target
    )
    ranks = rank_all(recommender.score, split.test_histories(), split.test_target).ranks_all
    assert (ranks < 3).mean() > 0.8


def causal_sequences(users: int = 300) -> list[list[int]]:
    """[cue, 1-3 noise items, answer]: the answer (cue + 10) depends only on the cue, at any distance."""
    rng = random.Random(1)
    sequences = []
    for _ in range(users):
        cue = rng.randint(1, 5)
        sequences.append([cue, *[rng.randint(20, 40) for _ in range(rng.randint(1, 3))], cue + 10, 41, 42])
    return sequences


def test_explanation_points_at_the_causal_history_item():
    torch.manual_seed(0)
    split = leave_one_out(causal_sequences())  # train part: [cue, noise x3, answer]
    recommender = tiny_sasrec(42, epochs=60).fit(
        split.train, valid_histories=split.valid_histories(), valid_targets=split.valid_target
    )
    history = [3, 25, 30]
    weights = history_weights(recommender, history, [13], method="occlusion")[0]
    assert int(np.argmax(weights)) == 0
    gap = deletion_gap(recommender, [h[:-1] for h in split.train], method="occlusion", users=50)
    assert gap["deletion_gap"] > 0


def test_artifact_round_trip_scores_the_same(tmp_path):
    sequences = cyclic_sequences(users=20)
    vocabulary = ItemVocabulary.from_sequences(sequences)
    recommender = tiny_sasrec(vocabulary.size, epochs=1)
    artifact = SequentialArtifact(recommender, vocabulary, np.zeros(vocabulary.size + 1))
    artifact.save(tmp_path / "model.pt")
    loaded = SequentialArtifact.load(tmp_path / "model.pt")
    recommender.model.eval()
    assert np.allclose(loaded.recommender.score([[1, 2, 3]]), recommender.score([[1, 2, 3]]), atol=1e-5)
    assert loaded.vocabulary.ids == vocabulary.ids
