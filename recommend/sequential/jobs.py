"""Job handler of the sequential recommender: training on the `training` queue."""

from dataclasses import dataclass
from typing import Any

from recommend.core.jobs import job_handler
from recommend.core.progress import ProgressCallback
from recommend.models import Job
from recommend.sequential.services import TrainingOptions, recommender_train


@dataclass(frozen=True)
class TrainRecommenderParams:
    demo: bool = False
    force: bool = False
    epochs: int | None = None
    reason: str = ""

    def validate(self) -> None:
        if self.epochs is not None and not 1 <= self.epochs <= 1000:
            raise ValueError("epochs: between 1 and 1000")


@job_handler(Job.Kind.TRAIN_RECOMMENDER, queue="training", params=TrainRecommenderParams, label="Train recommender")
def train_recommender_job(job: Job, params: TrainRecommenderParams, progress: ProgressCallback) -> dict[str, Any]:
    options = TrainingOptions(demo=params.demo, force=params.force, epochs=params.epochs)
    version = recommender_train(options=options, progress=progress)
    version.refresh_from_db()
    return {"model_version": version.pk, "version": version.version, "status": version.status, **version.metrics}
