"""Job handlers of similar items: the full build (training queue)."""

from dataclasses import dataclass
from typing import Any

from recommend.core.jobs import job_handler
from recommend.core.progress import ProgressCallback
from recommend.models import Job
from recommend.similarity.services import similarity_build


@dataclass(frozen=True)
class BuildSimilarParams:
    reason: str = ""
    products: int | None = None
    demo: bool = False


@job_handler(Job.Kind.BUILD_SIMILAR, queue="training", params=BuildSimilarParams, label="Build similar items")
def similarity_job(job: Job, params: BuildSimilarParams, progress: ProgressCallback) -> dict[str, Any]:
    version = similarity_build(progress=progress)
    return {"model_version": version.pk, "version": version.version, **version.metrics}
