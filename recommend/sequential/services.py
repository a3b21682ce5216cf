"""Writes of the sequential recommender: training a version (with its activation guard) and feedback.

Training reads every shopper's sequence (views, clicks, carts, purchases; "not interested" items
removed from that shopper's sequence, so the model stops learning them as wanted), fits SASRec
with early stopping on the validation item, and scores it beside popularity and item-kNN, hit@10 per
visitor on each visitor's latest event (the evaluation stored on the version, `recommend.core.evaluation`).
The new version is activated only when it beats its strongest baseline there and its validation NDCG@10 is
not below the active version's (`force` overrides both). Without an active version the shop serves
popularity (`selectors._cold`: this week's best sellers, the shopper's latest categories first).
"""

import hashlib
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from catalog.models import Product
from recommend.core.evaluation import activate_if_beats_baseline_and_active, evaluation_store
from recommend.core.progress import ProgressCallback, scaled_progress
from recommend.core.registry import (
    model_version_create,
    model_version_mark,
    model_version_save_artifact,
)
from recommend.core.selectors import visitor_sequences
from recommend.models import ModelVersion
from recommend.sequential.models import RecommendationFeedback

ARTIFACT_NAME = "sequential.pt"
GUARD_METRIC = "valid.sasrec.ndcg_at_10"
BASELINE_SERVES = (
    "the baseline serves instead: popular products for everybody (this week's best sellers, "
    "each shopper's latest categories first)"
)


@dataclass(frozen=True)
class TrainingOptions:
    demo: bool = False
    force: bool = False
    epochs: int | None = None
    time_limit_seconds: float | None = None


def training_config(options: TrainingOptions) -> tuple[dict[str, Any], dict[str, Any]]:
    """(model, training) keyword arguments: the benchmark's configuration, or a fast one for the demo."""
    model = {"hidden": 64, "layers": 2, "heads": 1, "max_length": 50, "dropout": 0.5, "attention_dropout": 0.5}
    training: dict[str, Any] = dict(settings.RECOMMEND_TRAINING)
    if options.demo:
        training.update(epochs=6, time_limit_seconds=60, evaluate_every=2, validation_users=2000)
    if options.epochs:
        training["epochs"] = options.epochs
    if options.time_limit_seconds:
        training["time_limit_seconds"] = options.time_limit_seconds
    return model, training


def training_sequences() -> dict[str, list[int]]:
    """Each visitor's product sequence without the products they said they are not interested in."""
    sequences = visitor_sequences(min_length=1)
    for visitor_id, product_id in RecommendationFeedback.objects.values_list("visitor_id", "product_id"):
        if visitor_id in sequences:
            sequences[visitor_id] = [item for item in sequences[visitor_id] if item != product_id]
    return {visitor: items for visitor, items in sequences.items() if len(items) >= 3}


def dataset_fingerprint(sequences: dict[str, list[int]]) -> str:
    digest = hashlib.sha256()
    for visitor in sorted(sequences):
        digest.update(f"{visitor}:{','.join(map(str, sequences[visitor]))};".encode())
    return digest.hexdigest()[:16]


def recommender_train(*, options: TrainingOptions, progress: ProgressCallback | None = None) -> ModelVersion:
    """Train, measure and store a sequential model version; activate it if it passes the guard."""
    from recommend.ml.sequential.pipeline import fit_and_measure

    report = progress or (lambda fraction, message: None)
    report(0.0, "reading shopper sequences")
    sequences = training_sequences()
    if len(sequences) < 10:
        raise ValueError(f"Too few shoppers with 3 or more events to train on ({len(sequences)}); import interactions.")
    model_kwargs, training_kwargs = training_config(options)
    version = model_version_create(
        kind=ModelVersion.Kind.SEQUENTIAL,
        params={"model": model_kwargs, "training": training_kwargs, **asdict(options)},
        dataset_fingerprint=dataset_fingerprint(sequences),
    )
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as folder:
            artifact = Path(folder) / ARTIFACT_NAME
            metrics, comparison = fit_and_measure(
                sequences=list(sequences.values()),
                model_kwargs=model_kwargs,
                training_kwargs=training_kwargs,
                artifact=artifact,
                progress=scaled_progress(report, 0.02, 0.97),
                measure_users=3000 if options.demo else None,
                device=settings.TORCH_DEVICE,
            )
            model_version_save_artifact(version=version, local_path=artifact)
    except Exception:
        model_version_mark(version=version, status=ModelVersion.Status.FAILED)
        raise
    metrics.update(
        train_seconds=round(time.monotonic() - started, 1),
        visitors=len(sequences),
        negative_feedback=RecommendationFeedback.objects.count(),
    )
    model_version_mark(version=version, status=ModelVersion.Status.READY, metrics=metrics)
    evaluation_store(
        version=version,
        comparison=comparison,
        cases_label=f"the latest events of {comparison.cases} of your visitors",
    )
    activated = recommender_activate(version=version, force=options.force)
    report(
        1.0, f"v{version.version}: valid NDCG@10 {metrics[GUARD_METRIC]:.4f}, {'active' if activated else 'kept ready'}"
    )
    return version


@transaction.atomic
def recommender_activate(*, version: ModelVersion, force: bool = False) -> bool:
    """The activation gate shared by manual, admin and scheduled training.

    Activated only when the version beats its strongest baseline on the visitors' latest events and its
    validation NDCG@10 is not below the active version's; `force` overrides both. When not, the version stays
    ready and metrics["not_activated_because"] says why and what serves meanwhile."""
    return activate_if_beats_baseline_and_active(
        version=version,
        force=force,
        fallback=BASELINE_SERVES,
        score=lambda candidate: float(candidate.metrics.get(GUARD_METRIC, 0.0)),
        describe=lambda new, old, active: f"valid NDCG@10 {new:.4f} < {old:.4f} of v{active.version}",
    )


def feedback_not_interested(*, visitor_ids: list[str], product: Product, user: Any = None) -> int:
    """Store 'not interested' for each of the visitor's ids; serving hides it (and near-duplicates) at once."""
    created = 0
    for visitor_id in visitor_ids:
        _, was_created = RecommendationFeedback.objects.get_or_create(
            visitor_id=visitor_id,
            product=product,
            kind=RecommendationFeedback.Kind.NOT_INTERESTED,
            defaults={"user": user if user is not None and user.is_authenticated else None},
        )
        created += int(was_created)
    return created
