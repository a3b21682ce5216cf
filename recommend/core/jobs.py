"""Long-running jobs: a handler registry, creation with validated params, enqueueing on commit, running.

Each capability registers its handlers in its own `jobs.py` with `@job_handler(kind, queue=..., params=...)`;
`RecommendConfig.ready()` imports those modules, so core never names a capability. A handler is
`handler(job, params, progress) -> dict` where `params` is an instance of the registered frozen dataclass
(built from `job.params` and validated when the job is created) and the dict is stored as the job's result.

A job is a row that a worker picks up by id. Running is idempotent: a job already done is not run again.
"""

import dataclasses
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from recommend.core.progress import ProgressCallback
from recommend.models import Job

logger = logging.getLogger(__name__)

Handler = Callable[[Job, Any, ProgressCallback], dict[str, Any] | None]


@dataclass(frozen=True)
class NoParams:
    """For handlers that take no parameters."""


@dataclass(frozen=True)
class JobHandler:
    kind: str
    function: Handler
    queue: str
    params: type
    time_limit: int
    label: str


JOB_HANDLERS: dict[str, JobHandler] = {}


class JobParamsError(ValueError):
    """The params given for a job do not fit its handler's params dataclass."""


def job_handler(
    kind: str,
    *,
    queue: str = "default",
    params: type = NoParams,
    time_limit: int | None = None,
    label: str = "",
) -> Callable[[Handler], Handler]:
    """Register `function` as the handler of job `kind` on `queue`; `params` is a frozen dataclass."""
    if not dataclasses.is_dataclass(params):
        raise TypeError(f"params of job {kind!r} must be a dataclass, not {params!r}")

    def register(function: Handler) -> Handler:
        limit = time_limit or int(getattr(settings, "CELERY_TASK_TIME_LIMIT", 3600))
        JOB_HANDLERS[kind] = JobHandler(
            kind, function, queue, params, limit, label or kind.replace("_", " ").capitalize()
        )
        return function

    return register


def job_kind_label(kind: str) -> str:
    handler = JOB_HANDLERS.get(kind)
    return handler.label if handler else kind


def job_params_parse(*, kind: str, params: dict[str, Any] | None) -> Any:
    """Build the handler's params dataclass from a dict; unknown or badly typed fields raise JobParamsError."""
    handler = JOB_HANDLERS[kind]
    fields = {field.name for field in dataclasses.fields(handler.params)}
    given = dict(params or {})
    unknown = sorted(set(given) - fields)
    if unknown:
        raise JobParamsError(f"Unknown parameter(s) for job {kind!r}: {', '.join(unknown)}; known: {sorted(fields)}.")
    try:
        parsed = handler.params(**given)
    except TypeError as error:
        raise JobParamsError(f"Bad parameters for job {kind!r}: {error}") from error
    validate = getattr(parsed, "validate", None)
    if callable(validate):
        validate()  # may raise JobParamsError (or ValueError) with a field message
    return parsed


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


def job_create(*, kind: str, params: Any = None, user: Any = None, enqueue: bool = True) -> Job:
    """Create a job with params validated against its handler (a dict or the params dataclass itself)."""
    if kind not in JOB_HANDLERS:
        raise ValueError(f"Unknown job kind {kind!r}; known: {', '.join(sorted(JOB_HANDLERS))}.")
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        params = dataclasses.asdict(params)
    parsed = job_params_parse(kind=kind, params=params)
    stored = {key: value for key, value in dataclasses.asdict(parsed).items() if key in (params or {})}
    job = Job.objects.create(kind=kind, params=stored, created_by=user if user and user.pk else None)
    if enqueue:
        job_enqueue(job=job)
    return job


def job_enqueue(*, job: Job) -> None:
    from recommend.tasks import run_job

    queue = JOB_HANDLERS[job.kind].queue
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
    handler = JOB_HANDLERS[job.kind]
    try:
        params = job_params_parse(kind=job.kind, params=job.params)
        result = handler.function(job, params, JobProgress(job, on_progress))
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
