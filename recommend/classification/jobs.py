"""Job handlers of classification: training a version (training queue), classifying products (inference)."""

from dataclasses import dataclass
from typing import Any

from recommend.classification.selectors import NoActiveClassifier, active_classifier, products_to_classify
from recommend.classification.services import products_classify
from recommend.classification.training import classifier_train
from recommend.core.jobs import job_handler
from recommend.core.progress import ProgressCallback
from recommend.models import Job


@dataclass(frozen=True)
class TrainClassifierParams:
    force: bool = False
    epochs: int | None = None
    limit: int | None = None
    demo: bool = False
    config: dict[str, Any] | None = None
    reason: str = ""


@dataclass(frozen=True)
class ClassifyParams:
    product_ids: list[int] | None = None
    scope: str = "uncategorized"
    demo: bool = False


@job_handler(Job.Kind.TRAIN_CLASSIFIER, queue="training", params=TrainClassifierParams, label="Train classifier")
def run_train_classifier(job: Job, params: TrainClassifierParams, progress: ProgressCallback) -> dict[str, Any]:
    return classifier_train(
        force=params.force,
        epochs=params.epochs,
        limit=params.limit,
        demo=params.demo,
        config_overrides=params.config,
        progress=progress,
    )


@job_handler(Job.Kind.CLASSIFY, queue="inference", params=ClassifyParams, label="Classify products")
def run_classify(job: Job, params: ClassifyParams, progress: ProgressCallback) -> dict[str, Any]:
    """Classify a list of products (`product_ids`) or a scope; the demo classifies the uncategorized ones."""
    ids = params.product_ids or products_to_classify(scope=params.scope)
    if active_classifier() is None:
        raise NoActiveClassifier("No classifier is active: train one first.")
    return products_classify(product_ids=ids, progress=progress)
