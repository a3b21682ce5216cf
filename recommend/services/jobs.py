"""Long-running jobs: creation, enqueueing on commit, running with progress, failure capture.

A job is a row that a worker picks up by id. Running is idempotent: a job already done is not
run again, and a job whose worker died (acks_late re-delivers it) starts over from `running`.
"""

import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import import_module
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from recommend.models import Job

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[float, str], None]

# kind -> (dotted path of the handler, Celery queue). A handler is `handler(job, progress) -> dict`
# and returns the result stored on the job.
JOB_HANDLERS: dict[str, tuple[str, str]] = {
    Job.Kind.IMPORT: ("recommend.services.job_handlers.run_import", "default"),
    Job.Kind.REBUILD_TREE: ("recommend.services.job_handlers.rebuild_category_tree", "default"),
    Job.Kind.TRAIN_CLASSIFIER: ("recommend.services.classification.run_train_classifier", "training"),
    Job.Kind.CLASSIFY: ("recommend.services.classification.run_classify", "inference"),
    Job.Kind.BUILD_SIMILAR: ("recommend.services.similarity.similarity_job", "training"),
}


_automatic = threading.local()


@contextmanager
def automatic_jobs_suspended() -> Iterator[None]:
    """Inside this block, signal receivers do not enqueue follow-up work (bulk loads run it once after)."""
    previous = getattr(_automatic, "suspended", False)
    _automatic.suspended = True
    try:
        yield
    finally:
        _automatic.suspended = previous


def automatic_jobs_enabled() -> bool:
    return not getattr(_automatic, "suspended", False)


def job_is_pending(kind: str) -> bool:
    """True when a job of this kind is queued or running (receivers use it to debounce)."""
    return Job.objects.filter(kind=kind, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).exists()


def register_job_handler(kind: str, dotted_path: str, queue: str = "default") -> None:
    JOB_HANDLERS[kind] = (dotted_path, queue)


def job_create(*, kind: str, params: dict[str, Any] | None = None, user: Any = None, enqueue: bool = True) -> Job:
    if kind not in JOB_HANDLERS:
        raise ValueError(f"Unknown job kind {kind!r}; known: {', '.join(sorted(JOB_HANDLERS))}.")
    job = Job.objects.create(kind=kind, params=params or {}, created_by=user if user and user.pk else None)
    if enqueue:
        job_enqueue(job=job)
    return job


def job_enqueue(*, job: Job) -> None:
    from recommend.tasks import run_job

    queue = JOB_HANDLERS[job.kind][1]
    # A worker must never see a job row that is not committed yet.
    transaction.on_commit(lambda: run_job.apply_async(args=[job.pk], queue=queue))


class JobProgress:
    """Writes progress to the job row, at most a few times a second so it never slows the work."""

    def __init__(self, job: Job, on_write: ProgressCallback | None = None) -> None:
        self.job = job
        self.on_write = on_write
        self.min_interval = settings.JOB_PROGRESS_INTERVAL
        self.last_write = 0.0

    def __call__(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        fraction = min(max(fraction, 0.0), 1.0)
        if now - self.last_write < self.min_interval and fraction < 1.0:
            return
        self.last_write = now
        Job.objects.filter(pk=self.job.pk).update(progress=fraction, message=message[:500])
        if self.on_write is not None:
            self.on_write(fraction, message)


def job_run(*, job_id: int, on_progress: ProgressCallback | None = None) -> Job:
    """Run one job by id: queued/running -> running -> done or failed. `on_progress` also sees each update."""
    job = Job.objects.get(pk=job_id)
    if job.status in (Job.Status.DONE, Job.Status.CANCELLED):
        logger.info("job %s already %s, skipping", job.pk, job.status)
        return job
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING,
        started_at=timezone.now(),
        attempts=job.attempts + 1,
        progress=0.0,
        error="",
        message="started",
    )
    job.refresh_from_db()
    dotted_path = JOB_HANDLERS[job.kind][0]
    module_name, function_name = dotted_path.rsplit(".", 1)
    handler = getattr(import_module(module_name), function_name)
    try:
        result = handler(job, JobProgress(job, on_progress))
    except Exception as error:
        logger.exception("job %s failed", job.pk)
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.FAILED,
            finished_at=timezone.now(),
            error=f"{type(error).__name__}: {error}\n\n{traceback.format_exc()}"[:20000],
            message=f"failed: {error}"[:500],
        )
        job.refresh_from_db()
        return job
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.DONE, finished_at=timezone.now(), progress=1.0, message="done", result=result or {}
    )
    job.refresh_from_db()
    return job


def job_retry(*, job: Job) -> Job:
    if job.status not in (Job.Status.FAILED, Job.Status.CANCELLED):
        raise ValueError("Only failed or cancelled jobs can be retried.")
    Job.objects.filter(pk=job.pk).update(status=Job.Status.QUEUED, progress=0.0, message="re-queued", error="")
    job.refresh_from_db()
    job_enqueue(job=job)
    return job
