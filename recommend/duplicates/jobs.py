"""Job handlers of duplicates: training a new matcher version from labels or staff decisions (training queue)."""

from dataclasses import dataclass
from typing import Any

from recommend.core.jobs import job_handler
from recommend.core.progress import ProgressCallback
from recommend.duplicates.training import duplicate_training_run
from recommend.models import Job

SOURCES = ("file", "decisions")
METHODS = ("features", "cross_encoder")


@dataclass(frozen=True)
class TrainDuplicateScorerParams:
    source: str = "decisions"
    labels: str = ""  # storage name of the checked labelled file (source "file")
    method: str = "cross_encoder"
    epochs: int = 2
    force: bool = False  # activate even if it beats neither the active matcher nor cosine

    def validate(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"source: must be one of {', '.join(SOURCES)}")
        if self.source == "file" and not self.labels:
            raise ValueError("labels: a file source needs the stored labels")
        if self.method not in METHODS:
            raise ValueError(f"method: must be one of {', '.join(METHODS)}")
        if not 1 <= self.epochs <= 10:
            raise ValueError("epochs: must be between 1 and 10")


@job_handler(
    Job.Kind.TRAIN_DUPLICATE_SCORER,
    queue="training",
    params=TrainDuplicateScorerParams,
    time_limit=3 * 3600,
    label="Train duplicate scorer",
)
def train_duplicate_scorer_job(
    job: Job, params: TrainDuplicateScorerParams, progress: ProgressCallback
) -> dict[str, Any]:
    version = duplicate_training_run(params=params, progress=progress)
    return {"model_version": version.pk, "version": version.version, "status": version.status, **version.metrics}
