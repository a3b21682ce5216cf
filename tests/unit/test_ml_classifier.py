"""Fast tests of the pure-ML hierarchical classifier on tiny synthetic data."""

from __future__ import annotations

import copy
import io
import random

import pytest

from recommend.ml.classification import (
    ClassifierConfig,
    HierarchyLabels,
    TrainedClassifier,
    train_classifier,
)
from recommend.ml.classification.baseline import TfidfSvmBaseline
from recommend.ml.classification.metrics import evaluate
from recommend.ml.classification.tokens import TokenEncoder, tokenize
from recommend.ml.classification.wide import gather_csr

pytestmark: list = []

# Each leaf path has its own keywords, so the toy problem is separable.
TREE = {
    ("Apparel", "Topwear", "Shirts"): ["shirt", "collar", "oxford"],
    ("Apparel", "Topwear", "Tshirts"): ["tshirt", "tee", "crewneck"],
    ("Apparel", "Bottomwear", "Jeans"): ["jeans", "denim", "slim"],
    ("Footwear", "Shoes", "Sneakers"): ["sneakers", "running", "trainers"],
    ("Footwear", "Sandals", "Flip Flops"): ["flip", "flops", "slippers"],
    ("Home", "Kitchen"): ["pan", "skillet", "cookware"],  # a shorter path
}
FILLER = ["blue", "red", "men", "women", "classic", "acme", "nova", "black", "cotton"]


def make_data(n_per_path: int, seed: int) -> tuple[list[str], list[tuple[str, ...]]]:
    rng = random.Random(seed)
    texts, paths = [], []
    for path, keywords in TREE.items():
        for _ in range(n_per_path):
            words = rng.sample(FILLER, 3) + rng.sample(keywords, 2)
            rng.shuffle(words)
            texts.append(" ".join(words).title())
            paths.append(path)
    return texts, paths


TINY = ClassifierConfig(
    embedding_dim=16,
    hidden_dim=16,
    attention_dim=8,
    bag_dim=16,
    buckets=2**12,
    epochs=12,
    batch_size=16,
    lr=1e-2,
    sparse_lr=5e-2,
    dropout=0.1,
    min_word_count=1,
    validation_fraction=0.0,
    num_threads=1,
)


@pytest.fixture(scope="module")
def trained() -> tuple[TrainedClassifier, list[str], list[tuple[str, ...]]]:
    texts, paths = make_data(20, seed=1)
    test_texts, test_paths = make_data(5, seed=2)
    return train_classifier(texts, paths, TINY), test_texts, test_paths


def test_learns_separable_hierarchy(trained) -> None:
    model, texts, paths = trained
    predicted = [p[0].path for p in model.predict(texts, top_k=1)]
    metrics = evaluate(predicted, paths, depth=3)
    assert metrics["path_accuracy"] >= 0.9
    assert metrics["level1.accuracy"] >= 0.95


def test_predictions_are_valid_paths_with_sane_confidence(trained) -> None:
    model, texts, _ = trained
    known = set(TREE)
    for preds in model.predict([*texts, "", "completely unseen words xyzzy"], top_k=4):
        assert len(preds) == 4
        assert len({p.path for p in preds}) == 4
        confidences = [p.confidence for p in preds]
        assert confidences == sorted(confidences, reverse=True)
        assert all(0.0 <= c <= 1.0 for c in confidences) and sum(confidences) <= 1.0 + 1e-6
        assert all(p.path in known for p in preds)


def test_attention_words_come_from_input(trained) -> None:
    model, texts, _ = trained
    for text, preds in zip(texts, model.predict(texts, top_k=1, attention_words=3), strict=False):
        words = preds[0].attention
        assert 1 <= len(words) <= 3
        assert all(word in tokenize(text) for word, _ in words)
        weights = [w for _, w in words]
        assert weights == sorted(weights, reverse=True) and sum(weights) <= 1.0 + 1e-3


def test_save_load_roundtrip(trained, tmp_path) -> None:
    model, texts, _ = trained
    buffer = io.BytesIO()
    model.save(buffer)
    model.save(tmp_path / "model.pt")
    for restored in (
        TrainedClassifier.load(buffer.getvalue()),
        TrainedClassifier.load(tmp_path / "model.pt"),
    ):
        assert restored.predict(texts, top_k=2) == model.predict(texts, top_k=2)
        assert restored.tau == model.tau
        assert restored.temperature == model.temperature


def test_confidences_are_calibrated_on_validation_data(trained) -> None:
    from recommend.ml.classification.calibration import TEMPERATURES, fit_temperature

    model, texts, paths = trained
    assert model.temperature in TEMPERATURES
    # Held-out products the model gets wrong a third of the time: a model ten times sharper
    # needs a proportionally higher temperature for its confidences to mean the same.
    noisy = [paths[(i + 1) % len(paths)] if i % 3 == 0 else p for i, p in enumerate(paths)] * 4
    soft = copy.copy(model)
    soft.wide_scale, soft.deep_weight = model.wide_scale / 10, model.deep_weight / 10
    soft_t, sharp_t = fit_temperature(soft, texts * 4, noisy), fit_temperature(model, texts * 4, noisy)
    assert soft_t > 0.25 and sharp_t > 5 * soft_t


def test_deterministic_with_seed() -> None:
    texts, paths = make_data(6, seed=3)
    config = ClassifierConfig(**{**TINY.__dict__, "epochs": 2})
    first = train_classifier(texts, paths, config).predict(texts, top_k=2)
    second = train_classifier(texts, paths, config).predict(texts, top_k=2)
    assert first == second


def test_hierarchy_labels_masks_and_end_class() -> None:
    labels = HierarchyLabels.from_paths(list(TREE))
    assert labels.depth == 3
    # "Home > Kitchen" stops at level 2, so level 3 has an END class.
    assert labels.end_index[2] == len(labels.nodes[2])
    mask = labels.child_mask(1)
    apparel = labels.node_index[0][("Apparel",)]
    footwear_shoes = labels.node_index[1][("Footwear", "Shoes")]
    assert not mask[apparel, footwear_shoes]
    assert mask[apparel, labels.node_index[1][("Apparel", "Topwear")]]


def test_evaluate_hand_computed_case() -> None:
    truth = [("A", "x", "1"), ("A", "y", "2"), ("B", "z", "3"), ("B", "z", "3")]
    pred = [("A", "x", "1"), ("A", "x", "1"), ("B", "z", "3"), ("A", "y", "2")]
    metrics = evaluate(pred, truth, depth=3)
    assert metrics["level1.accuracy"] == pytest.approx(0.75)
    # Level 1: A has P=2/3 R=1 F1=0.8; B has P=1 R=0.5 F1=2/3.
    assert metrics["level1.macro_f1"] == pytest.approx((0.8 + 2 / 3) / 2)
    assert metrics["level3.accuracy"] == pytest.approx(0.5)
    # Level 3: class 1 F1=2/3, class 2 F1=0, class 3 F1=2/3.
    assert metrics["level3.macro_f1"] == pytest.approx((2 / 3 + 0 + 2 / 3) / 3)
    assert metrics["path_accuracy"] == pytest.approx(0.5)


def test_baseline_fits_toy_data() -> None:
    texts, paths = make_data(10, seed=4)
    baseline = TfidfSvmBaseline(depth=3).fit(texts, paths)
    predicted = baseline.predict_paths(texts)
    assert evaluate(predicted, paths, depth=3)["path_accuracy"] >= 0.9


def test_predict_best_is_top1_of_predict(trained) -> None:
    model, texts, _ = trained
    assert model.predict_best(texts[:5], attention_words=2) == [p[0] for p in model.predict(texts[:5], 1, 2)]


def test_wide_features_are_two_normalised_tfidf_blocks() -> None:
    texts, _ = make_data(5, seed=5)
    encoder = TokenEncoder.build(texts, min_count=1, buckets=2**12, ngram_min=3, ngram_max=5, wide_ngram_min=2)
    encoder.fit_wide(texts, min_df=1)
    ids, weights = encoder.wide_features(tokenize("Blue Oxford Shirt Blue"))
    words = ids < encoder.wide_word_features
    assert words.any() and (~words).any()
    assert (weights[words] ** 2).sum() == pytest.approx(1.0, abs=1e-5)
    assert (weights[~words] ** 2).sum() == pytest.approx(1.0, abs=1e-5)
    flat_ids, flat_weights, offsets = encoder.encode_wide(["Blue Oxford Shirt Blue", "unseen zzzz"])
    assert offsets[0] == 0 and offsets[-1] == len(flat_ids) == len(flat_weights)
    assert list(flat_ids[: offsets[1]]) == list(ids)


def test_gather_csr_picks_rows() -> None:
    import numpy as np

    ids = np.arange(6)
    weights = np.arange(6, dtype=np.float32)
    offsets = np.array([0, 2, 3, 6])
    got_ids, got_weights, got_offsets = gather_csr(ids, weights, offsets, np.array([2, 0]))
    assert got_ids.tolist() == [3, 4, 5, 0, 1] and got_offsets.tolist() == [0, 3]
    assert got_weights.tolist() == [3.0, 4.0, 5.0, 0.0, 1.0]


def test_softmax_wide_variant_trains_and_roundtrips() -> None:
    texts, paths = make_data(8, seed=6)
    config = ClassifierConfig(**{**TINY.__dict__, "epochs": 2, "wide_loss": "ce", "wide_epochs": 2})
    model = train_classifier(texts, paths, config)
    buffer = io.BytesIO()
    model.save(buffer)
    restored = TrainedClassifier.load(buffer.getvalue())
    assert restored.predict(texts, top_k=2) == model.predict(texts, top_k=2)
