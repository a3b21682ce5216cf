"""A trained matcher against the simplest baseline a shop could use: plain cosine of the record embeddings.

Honest and cheap: the same split `train_matcher` made (connected records on one side, re-made from the same seed),
the cosine's cut chosen on the validation part exactly as the matcher's (the F1-best threshold), and both scored
per held-out test pair as right or wrong at their own cut (per-pair accuracy: the comparison needs per-case
scores, and F1 has none; the F1 of each is kept beside it). No Django.
"""

from collections.abc import Sequence

import numpy as np

from recommend.ml.common.comparison import Comparison, compare

from .calibration import best_f1_threshold, precision_recall_f1
from .scorer import Encoder, text_cosines
from .training import Matcher, Pair, split_pairs

BASELINE_NAME = "embedding cosine"
METRIC = "pair accuracy"


def cosine_threshold(validation: Sequence[Pair], encoder: Encoder) -> float:
    """The cosine cut with the best F1 on the validation pairs (as the matcher's own threshold is chosen)."""
    scores = text_cosines([(a, b) for a, b, _ in validation], encoder)
    threshold, _ = best_f1_threshold(np.array([y for *_, y in validation]), scores)
    return threshold


def compare_with_cosine(
    matcher: Matcher, pairs: Sequence[Pair], encoder: Encoder, *, seed: int = 0, model: str = "learned matcher"
) -> tuple[Comparison, dict[str, float]]:
    """(paired per-pair accuracy on the test part, matcher - cosine; extra figures: both F1s and the cosine cut)."""
    _, validation, test = split_pairs(pairs, seed=seed)
    cut = cosine_threshold(validation, encoder)
    truth = np.array([y for *_, y in test]).astype(bool)
    test_pairs = [(a, b) for a, b, _ in test]
    matcher_scores = matcher.score_pairs(test_pairs, encoder=encoder)
    cosines = text_cosines(test_pairs, encoder)
    comparison = compare(
        metric=METRIC,
        model=model,
        model_scores=((matcher_scores >= matcher.threshold) == truth).astype(float),
        baselines={BASELINE_NAME: ((cosines >= cut) == truth).astype(float)},
        unit="pairs",
    )
    extra = {
        "cosine_threshold": round(cut, 4),
        "cosine_test_f1": round(precision_recall_f1(truth, cosines, cut)["f1"], 4),
    }
    return comparison, extra
