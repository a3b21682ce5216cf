"""Long-running jobs, the public API: create with validated params, dispatch, cancel, retry, sweep stale ones.

Handlers are registered with `job_handler` (recommend.core.job_registry) and run by `job_run`
(recommend.core.job_runner); both are re-exported here, so capabilities import everything from this module.

Where a job runs (`job_run_mode`):
- `celery`: a broker is configured; the job's message goes to its handler's queue with its time limits.
  When the broker cannot be reached a job staff started is marked failed with "could not reach the task
  queue: ..." at once, so the request that created it can answer clearly; an automatic one (`defer=True`:
  follow-ups, sweeps, work a write needs) stays queued and the sweep sends it when the broker is back.
- `embedded`: no broker (`CELERY_TASK_ALWAYS_EAGER`); a request never runs a job itself: the job waits in
  the database and one background runner thread of this process (or `manage.py run_jobs`) runs queued
  jobs one at a time, oldest first.
- `inline`: no broker and `JOB_RUN_INLINE=True` (the unit tests set it in tests/conftest.py): the job runs
  synchronously when the creating transaction commits, as Celery's eager mode did.

A sweep (`job_sweep`: celery beat every minute, each embedded runner every minute, and on every
`job_create` / `job_is_pending` of that kind) re-queues or fails running jobs whose heartbeat stopped, so one
dead worker never blocks the automatic rebuilds that wait for "no job of this kind pending".
"""

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from config.redis_circuit import BROKER_ERRORS, broker_circuit
from recommend.core import job_registry
from recommend.core.job_registry import (
    RUN_JOB_TASK,
    Handler,
    JobHandler,
    JobParamsError,
    NoParams,
    job_handler,
    job_handler_get,
    job_hard_time_limit,
    job_kind_label,
    job_params_parse,
)
from recommend.core.job_runner import (
    ACTIVE,
    JobCancelled,
    JobProgress,
    JobTimeLimitExceeded,
    job_run,
    job_run_next,
    over_attempts_message,
    stale_running,
    time_limit_message,
)
from recommend.core.outbox import QueueSizes, derived_work_resend, lost_job_ids
from recommend.core.registry import model_versions_orphaned_fail
from recommend.models import Job

__all__ = [
    "JOB_HANDLERS",
    "Handler",
    "JobCancelled",
    "JobHandler",
    "JobParamsError",
    "JobProgress",
    "JobTimeLimitExceeded",
    "NoParams",
    "automatic_jobs_enabled",
    "automatic_jobs_suspended",
    "job_cancel",
    "job_create",
    "job_enqueue",
    "job_enqueue_failed",
    "job_handler",
    "job_is_pending",
    "job_kind_label",
    "job_params_parse",
    "job_retry",
    "job_run",
    "job_sweep",
    "job_worker_loop",
]

logger = logging.getLogger(__name__)

JOB_HANDLERS = job_registry.JOB_HANDLERS
QUEUE_ERROR = "could not reach the task queue"
QUEUED_ON = "queued on "
DEFERRED = "not sent yet, the sweep sends it later"

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
    """True when a live job of this kind is queued or running (receivers use it to debounce).

    Stale jobs are swept first, so a job whose worker died does not count as pending.
    """
    job_sweep(kind=kind)
    return Job.objects.filter(kind=kind, status__in=ACTIVE).exists()


def job_create(*, kind: str, params: Any = None, user: Any = None, enqueue: bool = True, defer: bool = False) -> Job:
    """Create a job with params validated against its handler (a dict or the params dataclass itself).

    With `enqueue` it is sent when the transaction commits; check `job_enqueue_failed(job)` after a
    refresh to tell the user the task queue was unreachable (the job is then failed, not stuck), or
    with `defer` leave it queued for the sweep to send later (work nobody waits on).
    """
    handler = job_handler_get(kind)
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        params = dataclasses.asdict(params)
    parsed = job_params_parse(kind=kind, params=params)
    stored = {key: value for key, value in dataclasses.asdict(parsed).items() if key in (params or {})}
    job_sweep(kind=kind)
    job = Job.objects.create(
        kind=kind, params=stored, created_by=user if user and user.pk else None, queue=handler.queue
    )
    if enqueue:
        job_enqueue(job=job, defer=defer)
    return job


def job_run_mode() -> str:
    """`celery` when a broker is configured; without one `embedded`, or `inline` when JOB_RUN_INLINE is set."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        return "celery"
    return "inline" if settings.JOB_RUN_INLINE else "embedded"


def job_enqueue(*, job: Job, note: str = "", defer: bool = False) -> None:
    # A worker must never see a job row that is not committed yet.
    transaction.on_commit(lambda: job_dispatch(job_id=job.pk, note=note, defer=defer))


def job_dispatch(*, job_id: int, note: str = "", defer: bool = False) -> bool:
    """Hand a committed queued job to whatever runs jobs here; a broker error fails the job with a message,
    or with `defer` leaves it queued (not marked sent) so `job_resend_unsent` sends it later.
    False when the broker could not be reached."""
    mode = job_run_mode()
    if mode == "inline":
        job_run(job_id=job_id)
        return True
    if mode == "embedded":
        embedded_runner_wake(start=True)
        return True
    job = Job.objects.get(pk=job_id)
    handler = job_handler_get(job.kind)
    try:
        with broker_circuit():  # a broker that failed moments ago is not tried again (config.redis_circuit)
            current_app.send_task(
                RUN_JOB_TASK,
                args=[job_id],
                queue=handler.queue,
                soft_time_limit=handler.time_limit,
                time_limit=job_hard_time_limit(handler),
                eta=job.run_after,  # a debounced job; re-arming it sends a new message (the early one is refused)
            )
    except BROKER_ERRORS as error:
        logger.error("job %s: %s: %s", job_id, QUEUE_ERROR, error)
        message = f"{QUEUE_ERROR}: {error}"
        if defer:
            Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(message=f"{DEFERRED}: {message}"[:500])
            return False
        Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
            status=Job.Status.FAILED, finished_at=timezone.now(), message=message[:500], error=message
        )
        return False
    sent = f"{QUEUED_ON}{handler.queue}" + (f" ({note})" if note else "")
    Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(message=sent[:500], sent_at=timezone.now())
    return True


def job_enqueue_failed(job: Job) -> bool:
    """True when the job could not be sent because the task queue was unreachable."""
    return job.status == Job.Status.FAILED and job.message.startswith(QUEUE_ERROR)


def job_cancel(*, job: Job) -> Job:
    """Staff cancel: a queued job is cancelled at once; a running one stops at its next progress report."""
    now = timezone.now()
    if job.status not in ACTIVE:
        raise ValueError("Only queued or running jobs can be cancelled.")
    Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
        status=Job.Status.CANCELLED, cancel_requested=True, finished_at=now, message="cancelled before it started"
    )
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def job_retry(*, job: Job) -> Job:
    """Run a failed or cancelled job again, with a fresh attempt budget (a person asked for it)."""
    if job.status not in (Job.Status.FAILED, Job.Status.CANCELLED):
        raise ValueError("Only failed or cancelled jobs can be retried.")
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.QUEUED,
        progress=0.0,
        attempts=0,
        cancel_requested=False,
        finished_at=None,
        message="re-queued",
        error="",
    )
    job.refresh_from_db()
    job_enqueue(job=job, note="retried")
    return job


def job_sweep(*, kind: str | None = None) -> dict[str, int]:
    """Fail or re-queue jobs whose worker is gone, and re-send queued jobs whose message never left.

    A running job with no heartbeat for JOB_STALE_AFTER_SECONDS is failed when it is over its hard time
    limit, was cancelled, or used up JOB_MAX_ATTEMPTS; otherwise it is queued again for another worker.
    Every change is a compare-and-set on (status, attempts), so sweeps running at once act once.
    """
    counts = {"requeued": 0, "failed": 0, "cancelled": 0, "resent": 0}
    stale = Job.objects.filter(stale_running())
    if kind:
        stale = stale.filter(kind=kind)
    now = timezone.now()
    for job in stale.only("pk", "kind", "attempts", "started_at", "cancel_requested")[:100]:
        same_run = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts)
        outcome, message = stale_job_outcome(job=job, now=now)
        fields: dict[str, Any] = {"status": outcome, "message": message[:500]}
        if outcome == Job.Status.QUEUED:
            fields["heartbeat_at"] = None
        else:
            fields.update(finished_at=now, error=message if outcome == Job.Status.FAILED else "")
        if same_run.filter(stale_running()).update(**fields):
            counts["requeued" if outcome == Job.Status.QUEUED else outcome] += 1
            logger.warning("job %s (%s) swept: %s", job.pk, job.kind, message)
            model_versions_orphaned_fail(job_id=job.pk, reason=f"its worker stopped during attempt {job.attempts}")
            if outcome == Job.Status.QUEUED and job_run_mode() == "celery":
                job_enqueue(job=job, note=message, defer=True)
    if job_run_mode() == "celery":
        sizes = QueueSizes() if kind is None else None  # the periodic sweep, not the one of each job_create
        counts["resent"] = job_resend_unsent(kind=kind, sizes=sizes)
        if sizes is not None:
            counts["derived_resent"] = derived_work_resend(sizes=sizes)
    elif counts["requeued"]:
        embedded_runner_wake(start=False)
    return counts


def stale_job_outcome(*, job: Job, now: Any) -> tuple[str, str]:
    """What a stale running job becomes: (status, message)."""
    handler = job_registry.JOB_HANDLERS.get(job.kind)
    if handler is None:
        return Job.Status.FAILED, f"no handler is registered for job kind {job.kind!r}"
    if job.cancel_requested:
        return Job.Status.CANCELLED, "cancelled (its worker had stopped)"
    if job.started_at and (now - job.started_at).total_seconds() > job_hard_time_limit(handler):
        return Job.Status.FAILED, time_limit_message(handler.time_limit)
    if job.attempts >= settings.JOB_MAX_ATTEMPTS:
        return Job.Status.FAILED, over_attempts_message(job.attempts)
    silent = settings.JOB_STALE_AFTER_SECONDS
    return Job.Status.QUEUED, f"re-queued: no heartbeat from its worker for over {silent} s"


def job_resend_unsent(*, kind: str | None, sizes: QueueSizes | None = None) -> int:
    """Queued jobs never marked as sent (the creating process died between commit and send), or sent but lost by
    the broker (recommend.core.outbox.lost_job_ids): send again; a second message of a job is a no-op."""
    cutoff = timezone.now() - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS)
    unsent = Job.objects.filter(status=Job.Status.QUEUED, created_at__lt=cutoff, cancel_requested=False)
    unsent = unsent.exclude(message__startswith=QUEUED_ON)
    if kind:
        unsent = unsent.filter(kind=kind)
    job_ids = list(unsent.values_list("pk", flat=True)[:100])
    if sizes is not None:  # the periodic sweep (never inside a request's job_create): jobs the broker lost
        job_ids += lost_job_ids(sizes=sizes)
    sent = 0
    for job_id in job_ids:
        if not job_dispatch(job_id=job_id, note="sent again by the sweep", defer=True):
            break  # the broker is down: the rest wait for the next sweep instead of a timeout each
        sent += 1
    return sent


# Wake events of the worker loops running in this process (`run_jobs`, or the embedded runner thread).
ACTIVE_LOOPS: set[threading.Event] = set()


def job_worker_loop(
    *,
    wake: threading.Event,
    stop: threading.Event,
    until_idle: bool = False,
    queues: list[str] | None = None,
    on_job: Callable[[Job], None] | None = None,
) -> None:
    """Run queued jobs from the database one at a time until `stop` (or, with `until_idle`, none is left)."""
    ACTIVE_LOOPS.add(wake)  # jobs queued from inside this process wake this loop instead of a new thread
    try:
        worker_loop_body(wake=wake, stop=stop, until_idle=until_idle, queues=queues, on_job=on_job)
    finally:
        ACTIVE_LOOPS.discard(wake)


def worker_loop_body(
    *,
    wake: threading.Event,
    stop: threading.Event,
    until_idle: bool,
    queues: list[str] | None,
    on_job: Callable[[Job], None] | None,
) -> None:
    last_sweep = 0.0
    while not stop.is_set():
        try:
            if time.monotonic() - last_sweep > settings.JOB_SWEEP_SECONDS:
                job_sweep()
                last_sweep = time.monotonic()
            job = job_run_next(queues=queues)
            if job is not None:
                if on_job is not None:
                    on_job(job)
                continue
            if until_idle and not Job.objects.filter(status__in=ACTIVE).exists():
                return
        except Exception:
            # The runner must outlive any one bad moment (a locked database, a lost connection).
            logger.exception("job runner: unexpected error; continuing")
        close_old_connections()
        wake.wait(settings.JOB_POLL_SECONDS)
        wake.clear()


class EmbeddedRunner:
    """The one background runner thread of a web process in embedded mode (started on the first job)."""

    def __init__(self) -> None:
        self.thread: threading.Thread | None = None
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def notify(self, *, start: bool) -> None:
        if ACTIVE_LOOPS - {self.wake}:  # `run_jobs` (or setup_demo --wait) is this process: it runs them
            for wake in list(ACTIVE_LOOPS):
                wake.set()
            return
        with self.lock:
            if start and (self.thread is None or not self.thread.is_alive()):
                self.thread = threading.Thread(target=self.main, name="embedded-job-runner", daemon=True)
                self.thread.start()
        self.wake.set()

    def main(self) -> None:
        try:
            job_worker_loop(wake=self.wake, stop=self.stop)
        finally:
            connection.close()


EMBEDDED_RUNNER = EmbeddedRunner()


def embedded_runner_wake(*, start: bool) -> None:
    """Wake this process' runner thread (starting it first when `start`) to look for queued jobs."""
    EMBEDDED_RUNNER.notify(start=start)


def embedded_runner_ensure() -> None:
    """In embedded mode, make sure queued jobs left by another process (setup_demo, a restart) get run."""
    if job_run_mode() == "embedded" and Job.objects.filter(status=Job.Status.QUEUED).exists():
        embedded_runner_wake(start=True)
