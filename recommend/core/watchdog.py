"""A Celery worker that holds work but makes no progress exits, so its supervisor starts a fresh one.

After a broker hiccup (Redis hung for seconds, then back) a celery/kombu 5.x worker can log "Couldn't ack" and
consume nothing for minutes while it still answers `inspect ping`. A thread in the worker's main process (started
on `worker_ready`) looks every WORKER_WATCHDOG_INTERVAL seconds at what the worker has done (tasks received or
finished, heartbeats of the jobs it runs, small tasks still inside their time limit) and at what waits for it (its
queues in the broker, its active tasks). It exits the process with WATCHDOG_EXIT_CODE when

- a job running in this worker has written no heartbeat for WORKER_STALL_SECONDS (the process is wedged), or
- the broker answers, work waits in its queues or is active here, and nothing progressed for WORKER_STALL_SECONDS.

While the broker cannot be reached nothing is decided (a restart would not help); the clock starts again when it
answers. The supervisor (systemd `Restart=always`, Kubernetes) starts a new worker; the beat sweep re-queues the
job of the old one (no heartbeat), and messages it had not acked are delivered again by the broker.

Each healthy look also touches WORKER_LIVENESS_FILE: `manage.py worker_liveness` (a container liveness probe)
fails when the file is older than a few intervals, i.e. when the watchdog itself stopped (the process is frozen).
"""

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from recommend.core.job_registry import RUN_JOB_TASK
from recommend.core.outbox import queue_size
from recommend.models import Job

logger = logging.getLogger(__name__)
WATCHDOG_EXIT_CODE = 75  # EX_TEMPFAIL: restart me


@dataclass(frozen=True)
class Observation:
    """One look at the worker. `waiting` is None when the broker (or the database) could not be asked."""

    now: float  # time.monotonic()
    progressed: bool  # a message received or a task finished since the last look
    waiting: int | None  # messages waiting in the worker's queues
    active: int  # tasks being run here
    busy_in_limit: bool = False  # a small task (not a job) is running and still inside its time limit
    fresh_heartbeat: bool = False  # a job running here wrote its heartbeat within the stall window
    stale_jobs: tuple[int, ...] = ()  # jobs started here (since the watchdog) whose heartbeat stopped


@dataclass
class StallDecision:
    """The watchdog's rule, without threads, clocks or Celery: tests feed it observations."""

    stall_after: float
    last_progress: float = field(default_factory=time.monotonic)

    def observe(self, seen: Observation) -> str | None:
        """None while the worker is fine; otherwise why it must exit."""
        if seen.waiting is None:
            self.last_progress = seen.now  # the broker is away: nothing to judge, the clock restarts when it is back
            return None
        if seen.stale_jobs:
            return f"job(s) {list(seen.stale_jobs)} running here wrote no heartbeat for over {self.stall_after:.0f} s"
        holds_work = seen.waiting > 0 or seen.active > 0
        if seen.progressed or seen.fresh_heartbeat or seen.busy_in_limit or not holds_work:
            self.last_progress = seen.now
            return None
        silent = seen.now - self.last_progress
        if silent > self.stall_after:
            return (
                f"no progress for {silent:.0f} s with {seen.waiting} message(s) waiting and {seen.active} task(s) "
                "active while the broker answers"
            )
        return None


class WorkerProbe:
    """Reads one Observation from a running worker (main process): celery.worker.state, the broker, the jobs."""

    def __init__(self, *, hostname: str, queues: list[str]) -> None:
        self.hostname, self.queues = hostname, queues
        self.started = timezone.now()
        self.received = 0
        self.last_marker: tuple[int, int] | None = None

    def on_received(self, **_: Any) -> None:  # task_received: a message reached this worker
        self.received += 1

    def look(self) -> Observation:
        from celery.worker import state

        now = time.monotonic()
        marker = (state.all_total_count[0], self.received)
        progressed, self.last_marker = self.last_marker is not None and marker != self.last_marker, marker
        active = list(state.active_requests)
        busy = any(request.name != RUN_JOB_TASK and in_time_limit(request) for request in active)
        sizes = [queue_size(queue) for queue in self.queues]
        if any(size is None for size in sizes):
            return Observation(now=now, progressed=progressed, waiting=None, active=len(active))
        try:
            close_old_connections()
            fresh, stale = self.job_heartbeats()
        except Exception:  # the database is away: nothing to judge either
            logger.warning("worker watchdog: could not read the jobs", exc_info=True)
            return Observation(now=now, progressed=progressed, waiting=None, active=len(active))
        return Observation(
            now=now,
            progressed=progressed,
            waiting=sum(size or 0 for size in sizes),
            active=len(active),
            busy_in_limit=busy,
            fresh_heartbeat=fresh,
            stale_jobs=stale,
        )

    def job_heartbeats(self) -> tuple[bool, tuple[int, ...]]:
        cutoff = timezone.now() - timedelta(seconds=settings.WORKER_STALL_SECONDS)
        mine = Job.objects.filter(status=Job.Status.RUNNING, worker=self.hostname)
        fresh = mine.filter(heartbeat_at__gte=cutoff).exists()
        stale = mine.filter(started_at__gte=self.started, heartbeat_at__lt=cutoff).values_list("pk", flat=True)
        return fresh, tuple(stale)


def in_time_limit(request: Any) -> bool:
    started = getattr(request, "time_start", None)
    if started is None:  # accepted, not started yet
        return True
    limit = (request.time_limits or (None, None))[1] or settings.CELERY_TASK_TIME_LIMIT
    return time.time() - started < limit


def liveness_touch(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{os.getpid()} {time.time():.0f}\n")
    except OSError:
        logger.warning("worker watchdog: could not write %s", path, exc_info=True)


def liveness_age(path: Path) -> float | None:
    """Seconds since the watchdog last found the worker healthy; None when it never did."""
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return None


def exit_worker(reason: str) -> None:
    """Stop this worker at once with a non-zero code (its pool children too): its supervisor restarts it."""
    logger.critical(
        "worker watchdog: %s; exiting (code %s) so that the supervisor restarts it", reason, WATCHDOG_EXIT_CODE
    )
    try:
        from billiard import process

        for child in process.active_children():
            child.kill()
    except Exception:
        logger.warning("worker watchdog: could not stop the pool processes", exc_info=True)
    logging.shutdown()
    os._exit(WATCHDOG_EXIT_CODE)


def watch(
    *,
    probe: WorkerProbe,
    decision: StallDecision,
    stop: threading.Event,
    on_stall: Callable[[str], None] = exit_worker,
) -> None:
    liveness = Path(settings.WORKER_LIVENESS_FILE)
    while not stop.wait(settings.WORKER_WATCHDOG_INTERVAL):
        try:
            reason = decision.observe(probe.look())
        except Exception:  # the watchdog must never be what breaks the worker
            logger.exception("worker watchdog: look failed")
            continue
        if reason:
            on_stall(reason)
            return
        liveness_touch(liveness)


def watchdog_start(sender: Any = None, **_: Any) -> threading.Thread | None:
    """`worker_ready` receiver: start the watchdog thread of this worker (WORKER_STALL_SECONDS 0 turns it off)."""
    if settings.WORKER_STALL_SECONDS <= 0 or sender is None:
        return None
    from celery.signals import task_received

    queues = sorted(sender.app.amqp.queues.consume_from) if sender.app.amqp.queues.consume_from else ["default"]
    probe = WorkerProbe(hostname=sender.hostname, queues=queues)
    task_received.connect(probe.on_received, weak=False)
    decision = StallDecision(stall_after=settings.WORKER_STALL_SECONDS)
    liveness_touch(Path(settings.WORKER_LIVENESS_FILE))
    thread = threading.Thread(
        target=watch, kwargs={"probe": probe, "decision": decision, "stop": threading.Event()}, daemon=True
    )
    thread.name = "worker-watchdog"
    thread.start()
    logger.info("worker watchdog on %s: queues %s, exits after %s s without progress", sender.hostname, queues,
                settings.WORKER_STALL_SECONDS)  # fmt: skip
    return thread
