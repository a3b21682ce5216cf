"""Job handler of bought together: the build (training queue)."""

from dataclasses import dataclass
from typing import Any

from recommend.bought_together.services import bought_together_build
from recommend.core.jobs import job_handler
from recommend.core.progress import ProgressCallback
from recommend.models import Job


@dataclass(frozen=True)
class BuildBoughtTogetherParams:
    reason: str = ""
    demo: bool = False  # the demo's job list passes it; the build is small enough to be the same
    force: bool = False  # activate the new version even if it does not beat its baseline


@job_handler(
    Job.Kind.BUILD_BOUGHT_TOGETHER, queue="training", params=BuildBoughtTogetherParams, label="Build bought together"
)
def bought_together_job(job: Job, params: BuildBoughtTogetherParams, progress: ProgressCallback) -> dict[str, Any]:
    version = bought_together_build(progress=progress, force=params.force)
    version.refresh_from_db()
    return {"model_version": version.pk, "version": version.version, "status": version.status, **version.metrics}
