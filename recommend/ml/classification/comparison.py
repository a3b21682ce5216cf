"""The classifier against its TF-IDF + linear baseline on the same held-out products: per-product full-path
correctness (1/0) of each, and the paired comparison (`recommend.ml.common.comparison.compare`).

The product (`recommend.classification.training`) and `benchmarks/classification.py` both call `tfidf_paths`
and `compare_with_tfidf`, so the figure staff see and the benchmark's are computed alike. No Django.
"""

from collections.abc import Sequence

import numpy as np

from recommend.ml.common.comparison import Comparison, compare

MODEL_NAME = "BiGRU classifier"
BASELINE_NAME = "TF-IDF + linear SVM"
METRIC = "full-path accuracy"


def full_path_correct(predicted: Sequence[Sequence[str]], truth: Sequence[Sequence[str]], depth: int) -> np.ndarray:
    """1.0 where the predicted path equals the true one down to `depth`, else 0.0 (one entry per product)."""
    if len(predicted) != len(truth):
        raise ValueError("predicted and truth differ in length")
    return np.array([tuple(p[:depth]) == tuple(t[:depth]) for p, t in zip(predicted, truth, strict=True)], dtype=float)


def tfidf_paths(
    train_texts: list[str], train_paths: Sequence[Sequence[str]], test_texts: list[str], depth: int
) -> list[tuple[str, ...]]:
    """The baseline's predicted paths: TF-IDF word 1-2 + char 2-5 grams, one LinearSVC per level (C=1, untuned),
    trained on the same training products as the model."""
    from recommend.ml.classification.baseline import TfidfSvmBaseline

    if not test_texts:
        return []
    return TfidfSvmBaseline(depth).fit(train_texts, train_paths).predict_paths(test_texts)


def compare_with_tfidf(
    *,
    model_paths: Sequence[Sequence[str]],
    baseline_paths: Sequence[Sequence[str]],
    truth: Sequence[Sequence[str]],
    depth: int,
    model: str = MODEL_NAME,
) -> Comparison:
    """Paired full-path accuracy, model - TF-IDF baseline, over the same held-out products."""
    return compare(
        metric=METRIC,
        model=model,
        model_scores=full_path_correct(model_paths, truth, depth),
        baselines={BASELINE_NAME: full_path_correct(baseline_paths, truth, depth)},
        unit="products",
    )
