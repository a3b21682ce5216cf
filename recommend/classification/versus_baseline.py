"""A classifier version against the TF-IDF + linear baseline on the held-out products, and the activation gate.

Both are trained on the same training products (the version's sample) and scored per held-out product (full
path right or wrong, the model's prediction read through the live tree) on the set of `evaluation.py`, whose
products are grouped by normalised title so no near-copy of a held-out product was trained on. The paired
comparison is stored on the version (`recommend.core.evaluation.evaluation_store`): the admin page and
`manage.py evaluate classifier` show it. A version that does not beat the baseline is kept "ready" unless staff
force it (`activate_if_beats_baseline`); one worse than the active version was never going to go live.
"""

from collections.abc import Sequence
from typing import Any

from django.conf import settings

from recommend.classification.evaluation import EvaluationSet, candidate_metrics, live_predictions
from recommend.core.evaluation import activate_if_beats_baseline, evaluation_store
from recommend.core.progress import ProgressCallback
from recommend.core.registry import model_version_activate
from recommend.ml.common.comparison import Comparison
from recommend.models import ModelVersion


def candidate_against_baseline(
    model: Any,
    train_texts: list[str],
    train_labels: Sequence[tuple[str, ...]],
    evaluation: EvaluationSet,
    progress: ProgressCallback,
) -> tuple[dict[str, Any], Comparison | None]:
    """(the version's held-out metrics, its comparison with the TF-IDF baseline; None without held-out products)."""
    from recommend.ml.classification.comparison import compare_with_tfidf, tfidf_paths

    if not evaluation.ids:
        return {}, None
    predicted = live_predictions(model, evaluation)
    metrics = candidate_metrics(model, evaluation, predicted)
    progress(0.3, f"training the TF-IDF + linear baseline on the same {len(train_texts):,} products")
    depth = settings.CLASSIFIER_MAX_DEPTH
    baseline = tfidf_paths(train_texts, list(train_labels), evaluation.texts, depth)
    comparison = compare_with_tfidf(model_paths=predicted, baseline_paths=baseline, truth=evaluation.truth, depth=depth)
    metrics["heldout.baseline.path_accuracy"] = round(comparison.baseline_value, 4)
    return metrics, comparison


def cases_label(comparison: Comparison) -> str:
    return f"{comparison.cases:,} of your products, grouped by title"


def store_and_activate(
    *, version: ModelVersion, comparison: Comparison | None, wanted: bool, force: bool
) -> tuple[bool, str]:
    """Store the comparison; activate when `wanted` (at least as good as the active version, or forced) and the
    version beats the baseline (or `force`). Returns (activated, why not: "" when activated or not wanted)."""
    if comparison is not None:
        evaluation_store(version=version, comparison=comparison, cases_label=cases_label(comparison))
    if not wanted:
        return False, ""
    if force:
        model_version_activate(version=version)
        return True, ""
    if activate_if_beats_baseline(version=version):
        return True, ""
    return False, f"does not beat the {comparison.baseline if comparison else 'baseline'} on the held-out products"
