"""Derived work survives a broker that loses messages: an outbox in the database (recommend.DerivedWork).

A receiver that needs a task after a data change (classify or embed a saved product...) calls
`recommend.core.task_send.task_send_on_commit`: with a broker, the row is written here in the same transaction
as the change, the task is sent under the row's id (its Celery task id) when that transaction commits, and the
worker deletes the row when the task succeeded (`derived_work_finished`, a `task_postrun` receiver).
A message the broker lost (Redis restarted empty or was flushed, the process died between commit and send)
leaves its row: the sweep (`job_sweep`, celery beat every minute) sends it again (`derived_work_resend`). Queued
jobs (rebuilds, retrains, deferred work) are rows already; a job whose message was lost the same way is sent
again by the same rule (`lost_job_ids`, used by recommend.core.jobs.job_resend_unsent).

The rule: pending past DERIVED_WORK_RESEND_SECONDS and its queue holds no waiting message (so nothing is sent
twice only because a busy queue is slow), or pending past six times that. Tasks are idempotent (classify,
embed and place write the same result again; a job's claim makes a second message a no-op).
"""

import logging
import uuid
from datetime import timedelta
from typing import Any

from celery import current_app
from celery.signals import task_postrun
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from config.redis_circuit import BROKER_ERRORS, broker_circuit
from recommend.models import DerivedWork, Job

logger = logging.getLogger(__name__)
BACKLOG_FACTOR = 6  # pending this many resend intervals: sent again even while its queue has a backlog
RESEND_BATCH = 500


def derived_work_record(*, task: str, args: list[Any], queue: str) -> DerivedWork:
    """Store the work in the current transaction (call it from the receiver, before the commit)."""
    return DerivedWork.objects.create(task=task, args=args, queue=queue)


def derived_work_sent(work: DerivedWork) -> None:
    DerivedWork.objects.filter(pk=work.pk).update(sent_at=timezone.now(), sends=F("sends") + 1)


def derived_work_drop(work: DerivedWork) -> None:
    """The broker refused the first send and the caller's fallback (a deferred job) holds the work now."""
    DerivedWork.objects.filter(pk=work.pk).delete()


def derived_work_finished(
    sender: Any = None, task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any
) -> None:
    """`task_postrun` in a worker: a task that succeeded under an outbox row's id deletes that row."""
    if state != "SUCCESS" or not task_id or settings.CELERY_TASK_ALWAYS_EAGER:
        return  # without a broker no row is ever written
    try:
        DerivedWork.objects.filter(pk=uuid.UUID(task_id)).delete()
    except ValueError:  # a task id that is no UUID (sent by hand): no row of ours
        return
    except Exception:  # the row stays; the sweep sends the work again, which is safe
        logger.warning("could not mark derived work %s done", task_id, exc_info=True)


# Connected wherever recommend.core.jobs is imported (every worker, web process and command).
task_postrun.connect(derived_work_finished, weak=False, dispatch_uid="recommend.derived_work_finished")


class QueueSizes:
    """Messages waiting in each broker queue, asked once per sweep; None when the broker cannot say."""

    def __init__(self) -> None:
        self.sizes: dict[str, int | None] = {}

    def drained(self, queue: str) -> bool | None:
        if queue not in self.sizes:
            self.sizes[queue] = queue_size(queue)
        size = self.sizes[queue]
        return None if size is None else size == 0

    def sent_to(self, queue: str) -> None:
        self.sizes[queue] = 1  # it holds the message just sent


def queue_size(queue: str) -> int | None:
    try:
        with broker_circuit(), current_app.connection_for_write() as connection:
            declared = connection.default_channel.queue_declare(queue=queue, passive=True)
            return int(declared.message_count)
    except BROKER_ERRORS as error:
        logger.warning("could not read the size of queue %s: %s", queue, error)
        return None
    except Exception:  # a queue never declared (no message ever sent there) holds nothing
        return 0


def lost(*, sent_at: Any, queue: str, now: Any, sizes: QueueSizes) -> bool:
    """Is work sent at `sent_at` to `queue` and still not done to be sent again?"""
    waited = (now - sent_at).total_seconds()
    if waited > settings.DERIVED_WORK_RESEND_SECONDS * BACKLOG_FACTOR:
        return True
    return waited > settings.DERIVED_WORK_RESEND_SECONDS and sizes.drained(queue) is True


def derived_work_resend(*, sizes: QueueSizes | None = None) -> int:
    """The sweep: send again outbox rows whose message was lost; give up on work sent too often. Returns sends."""
    sizes = sizes or QueueSizes()
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.DERIVED_WORK_RESEND_SECONDS)
    waiting = DerivedWork.objects.filter(given_up_at__isnull=True).filter(
        Q(sent_at__lt=cutoff) | Q(sent_at__isnull=True, created_at__lt=cutoff)
    )
    sent = 0
    for work in waiting.order_by("created_at")[:RESEND_BATCH]:
        if work.sends >= settings.DERIVED_WORK_MAX_SENDS:
            if DerivedWork.objects.filter(pk=work.pk, sends=work.sends).update(given_up_at=now):
                logger.error(
                    "derived work %s %s(%s) given up after %s sends", work.pk, work.task, work.args, work.sends
                )
            continue
        if work.sent_at is not None and not lost(sent_at=work.sent_at, queue=work.queue, now=now, sizes=sizes):
            continue
        try:
            with broker_circuit():
                current_app.send_task(work.task, args=work.args, queue=work.queue, task_id=str(work.pk))
        except BROKER_ERRORS as error:
            logger.warning("derived work not sent again (%s); the next sweep tries", error)
            break
        derived_work_sent(work)
        sizes.sent_to(work.queue)
        sent += 1
    if sent:
        logger.warning("sweep: %s derived task(s) sent again (their message was lost)", sent)
    return sent


def lost_job_ids(*, sizes: QueueSizes) -> list[int]:
    """Queued jobs that were sent (and are due) long enough ago, and whose message the broker no longer holds."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.DERIVED_WORK_RESEND_SECONDS)
    sent = Job.objects.filter(status=Job.Status.QUEUED, cancel_requested=False, sent_at__lt=cutoff)
    sent = sent.filter(Q(run_after__isnull=True) | Q(run_after__lt=cutoff))
    ids = []
    for job_id, queue, sent_at, run_after in sent.values_list("pk", "queue", "sent_at", "run_after")[:RESEND_BATCH]:
        due = run_after if run_after is not None and (sent_at is None or run_after > sent_at) else sent_at
        if lost(sent_at=due, queue=queue or "default", now=now, sizes=sizes):
            ids.append(job_id)
    return ids
