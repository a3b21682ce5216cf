"""Running one job: claim it, keep its heartbeat, report progress, stop on cancel or time limit, record the end.

A job runs only after a compare-and-set `queued (or stale running) -> running`, so a redelivered Celery
message, a second runner or a re-queue by the sweep never runs it beside the original. The claim bumps
`attempts`; that number is the claim's token: every later write of the run filters on it, so a runner that
lost its claim (its job was swept and claimed again) stops instead of overwriting the new run.
"""

import logging
import os
import socket
import threading
import time
import traceback
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import F, Q
from django.utils import timezone

from recommend.core.job_context import current_job_id
from recommend.core.job_registry import job_handler_get, job_params_parse
from recommend.core.progress import ProgressCallback
from recommend.core.registry import model_versions_orphaned_fail
from recommend.models import Job

logger = logging.getLogger(__name__)

ACTIVE = (Job.Status.QUEUED, Job.Status.RUNNING)


class JobStopped(Exception):
    """Raised inside a handler (at a progress call) to end its run early; `status` is what the job becomes."""

    status = Job.Status.FAILED


class JobCancelled(JobStopped):
    status = Job.Status.CANCELLED


class JobTimeLimitExceeded(JobStopped):
    pass


class JobClaimLost(JobStopped):
    """The job is no longer this runner's (swept and claimed again): stop without writing anything."""


def stale_before() -> Any:
    return timezone.now() - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS)


def stale_running() -> Q:
    """Running jobs whose runner stopped writing its heartbeat: its worker is gone (or wedged)."""
    cutoff = stale_before()
    return Q(status=Job.Status.RUNNING) & (
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )


def over_attempts_message(attempts: int) -> str:
    return (
        f"gave up after {attempts} attempts: its worker stopped each time (killed, out of memory or restarted); "
        "fix the cause, then Retry"
    )


def time_limit_message(seconds: int) -> str:
    return f"over its time limit of {seconds} s"


def job_is_due(now: Any) -> Q:
    """Queued jobs without a `run_after`, or whose quiet period is over (a debounced job waits until then)."""
    return Q(run_after__isnull=True) | Q(run_after__lte=now)


def runner_name() -> str:
    """This process, for `Job.worker` when no Celery worker names the runner (embedded runner, `run_jobs`)."""
    return f"{os.getpid()}@{socket.gethostname()}"


def job_claim(*, job_id: int, worker: str = "") -> Job | None:
    """Compare-and-set the job to running for this runner; None when it is not claimable (or over its cap).

    `worker` (the Celery node name) is recorded on the job, or this process' `runner_name()`.
    """
    now = timezone.now()
    claimable = Job.objects.filter(pk=job_id).filter(
        Q(status=Job.Status.QUEUED, cancel_requested=False) & job_is_due(now) | stale_running()
    )
    cap = settings.JOB_MAX_ATTEMPTS
    claimed = claimable.filter(attempts__lt=cap).update(
        status=Job.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        finished_at=None,
        attempts=F("attempts") + 1,
        progress=0.0,
        error="",
        message="started",
        worker=(worker or runner_name())[:255],
    )
    if claimed:
        return Job.objects.get(pk=job_id)
    # A job that killed its worker `cap` times is redelivered no more.
    message = over_attempts_message(cap)
    if claimable.filter(attempts__gte=cap).update(
        status=Job.Status.FAILED, finished_at=now, message=message, error=message
    ):
        model_versions_orphaned_fail(job_id=job_id, reason=message)
    return None


class Heartbeat:
    """A daemon thread that writes `heartbeat_at` every JOB_HEARTBEAT_SECONDS while the handler works.

    It runs beside the handler rather than in progress calls because a handler may compute for minutes
    between two reports; it has its own database connection and closes it when the run ends.
    """

    def __init__(self, job: Job) -> None:
        self.job_id, self.attempt = job.pk, job.attempts
        self.stopped = threading.Event()
        self.cancel_seen = False
        self.thread = threading.Thread(target=self.run, name=f"job-{job.pk}-heartbeat", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.JOB_HEARTBEAT_SECONDS):
                self.beat()
        except Exception:
            logger.exception("heartbeat of job %s stopped", self.job_id)
        finally:
            connection.close()  # this thread's own connection

    def beat(self) -> None:
        mine = Job.objects.filter(pk=self.job_id, attempts=self.attempt, status=Job.Status.RUNNING)
        mine.update(heartbeat_at=timezone.now())
        # Seen here, a cancel stops the handler at its next progress call even between two progress writes.
        self.cancel_seen = mine.filter(cancel_requested=True).exists()


class JobProgress:
    """Writes progress (and the heartbeat) to the job row, a few times a second at most; stops the handler
    with JobCancelled when staff cancelled the job, or JobTimeLimitExceeded past the handler's time limit."""

    def __init__(self, job: Job, on_write: ProgressCallback | None = None, heartbeat: Heartbeat | None = None) -> None:
        self.job = job
        self.on_write = on_write
        self.heartbeat = heartbeat
        self.min_interval = settings.JOB_PROGRESS_INTERVAL
        self.last_write = 0.0
        self.started = time.monotonic()
        self.time_limit = job_handler_get(job.kind).time_limit

    def __call__(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if now - self.started > self.time_limit:
            raise JobTimeLimitExceeded(time_limit_message(self.time_limit))
        if self.heartbeat is not None and self.heartbeat.cancel_seen:
            raise JobCancelled("cancelled by staff")
        fraction = min(max(fraction, 0.0), 1.0)
        if now - self.last_write < self.min_interval and fraction < 1.0:
            return
        self.last_write = now
        mine = Job.objects.filter(pk=self.job.pk, attempts=self.job.attempts, status=Job.Status.RUNNING)
        written = mine.filter(cancel_requested=False).update(
            progress=fraction, message=message[:500], heartbeat_at=timezone.now()
        )
        if not written:
            # One more read only on the rare path: tell a cancel from a lost claim.
            raise JobCancelled("cancelled by staff") if mine.exists() else JobClaimLost("claimed by another run")
        if self.on_write is not None:
            self.on_write(fraction, message)


def job_finish(*, job: Job, status: str, message: str, error: str = "", result: dict | None = None) -> None:
    """The run's last write, only while the job is still this run's."""
    fields: dict[str, Any] = {"status": status, "finished_at": timezone.now(), "message": message[:500]}
    fields["error"] = error[:20000]
    if status == Job.Status.DONE:
        fields.update(progress=1.0, result=result or {})
    Job.objects.filter(pk=job.pk, attempts=job.attempts, status=Job.Status.RUNNING).update(**fields)


def job_run(*, job_id: int, on_progress: ProgressCallback | None = None, worker: str = "") -> Job:
    """Run one job by id if this runner can claim it: queued -> running -> done, failed or cancelled.

    A job that is done, cancelled, or running elsewhere with a live heartbeat is left as it is.
    `on_progress` also sees each progress update (commands print it); `worker` names the runner (job_claim).
    """
    job = job_claim(job_id=job_id, worker=worker)
    if job is None:
        job = Job.objects.get(pk=job_id)
        logger.info("job %s not claimed (it is %s), skipping", job_id, job.status)
        return job
    try:
        handler = job_handler_get(job.kind)
    except ValueError as error:  # a worker running other code than the one that queued the job
        job_finish(job=job, status=Job.Status.FAILED, message=str(error), error=str(error))
        job.refresh_from_db()
        return job
    if job.attempts > 1:  # an earlier run died (worker killed, redelivered): what it was training is dead too
        model_versions_orphaned_fail(job_id=job.pk, reason=f"its run (attempt {job.attempts - 1}) stopped unfinished")
    token = current_job_id.set(job.pk)
    try:
        params = job_params_parse(kind=job.kind, params=job.params)
        with Heartbeat(job) as heartbeat:
            result = handler.function(job, params, JobProgress(job, on_progress, heartbeat))
    except KeyboardInterrupt:
        # The runner was stopped (Ctrl-C, SIGTERM of `run_jobs`): not the job's fault, so it goes back to the queue.
        Job.objects.filter(pk=job.pk, attempts=job.attempts, status=Job.Status.RUNNING).update(
            status=Job.Status.QUEUED, attempts=F("attempts") - 1, heartbeat_at=None, message="interrupted; queued again"
        )
        raise
    except JobClaimLost:
        logger.warning("job %s attempt %s lost its claim; stopping", job.pk, job.attempts)
    except JobStopped as stop:
        job_finish(job=job, status=stop.status, message=str(stop), error=str(stop) if stop.status == "failed" else "")
    except SoftTimeLimitExceeded:
        message = time_limit_message(handler.time_limit)
        job_finish(job=job, status=Job.Status.FAILED, message=message, error=message)
    except Exception as error:
        logger.exception("job %s failed", job.pk)
        details = f"{type(error).__name__}: {error}\n\n{traceback.format_exc()}"
        job_finish(job=job, status=Job.Status.FAILED, message=f"failed: {error}", error=details)
    else:
        job_finish(job=job, status=Job.Status.DONE, message="done", result=result)
    finally:
        current_job_id.reset(token)
    job.refresh_from_db()
    return job


def job_run_next(*, queues: list[str] | None = None) -> Job | None:
    """Claim and run the oldest queued job (on `queues`); one at a time on the machine. None when idle.

    Embedded mode has one machine and usually two cores: running jobs one after the other keeps them
    from fighting over the CPU and keeps the order they were queued in (the demo relies on it).
    """
    close_old_connections()
    if Job.objects.filter(status=Job.Status.RUNNING).exclude(stale_running()).exists():
        return None
    waiting = Job.objects.filter(status=Job.Status.QUEUED, cancel_requested=False).filter(job_is_due(timezone.now()))
    waiting = waiting.order_by("created_at", "pk")
    if queues:
        waiting = waiting.filter(queue__in=queues)
    for job_id in waiting.values_list("pk", flat=True)[:20]:
        if job_claim_possible(job_id=job_id):
            return job_run(job_id=job_id)
    return None


def job_claim_possible(*, job_id: int) -> bool:
    return Job.objects.filter(pk=job_id, status=Job.Status.QUEUED, cancel_requested=False).exists()
