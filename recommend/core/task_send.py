"""Send the Celery task a committed write needs, surviving a broker that is down.

Receivers send small tasks (classify or embed a saved product) when the write commits. When Redis is
unreachable the write is already stored: the request must still answer, and the work must not be lost.
`task_send` then runs a fallback that records the same work as a deferred job (recommend.core.jobs,
`defer=True`): it stays queued in the database and the sweep sends it once the broker is back.

Receivers call `task_send_on_commit` from inside the data change's transaction: with a broker the work is first
stored as an outbox row in that transaction (recommend.core.outbox), so a message the broker accepted and then
lost (Redis restarted empty) is sent again by the sweep; the worker deletes the row when the task succeeded.
"""

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import close_old_connections, transaction

from config.redis_circuit import BROKER_ERRORS, broker_circuit
from recommend.core.jobs import job_run_mode
from recommend.core.outbox import derived_work_drop, derived_work_record, derived_work_sent
from recommend.models import DerivedWork

logger = logging.getLogger(__name__)
# Embedded mode (no broker): small tasks run here, one at a time in send order, never inside the request.
_embedded = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedded-tasks")


def _run_embedded(task: Any, args: list[Any], fallback: Callable[[], Any]) -> None:
    close_old_connections()
    try:
        task.apply(args=args, throw=True)
    except Exception:  # e.g. a command exiting while the encoder loads: keep the work as a deferred job
        logger.warning("embedded task %s failed; kept as a deferred job", getattr(task, "name", task), exc_info=True)
        try:
            fallback()
        except Exception:
            logger.exception("could not keep the work of %s", getattr(task, "name", task))
    finally:
        close_old_connections()


def task_send_on_commit(task: Any, *, args: list[Any], queue: str, fallback: Callable[[], Any]) -> None:
    """Send `task` when the current transaction commits; with a broker, record it first (the outbox row is part
    of this transaction, so the work exists exactly when the change does)."""
    work = derived_work_record(task=task.name, args=args, queue=queue) if job_run_mode() == "celery" else None
    transaction.on_commit(lambda: task_send(task, args=args, queue=queue, fallback=fallback, work=work))


def task_send(
    task: Any, *, args: list[Any], queue: str, fallback: Callable[[], Any], work: DerivedWork | None = None
) -> bool:
    """Send `task`; on a broker error call `fallback` instead. True when the task itself was sent.

    Without a broker the task runs in this process's embedded task thread (after the response, not in it);
    with JOB_RUN_INLINE (the unit tests) it runs at once, as Celery's eager mode does.
    """
    if job_run_mode() == "embedded":
        try:
            _embedded.submit(_run_embedded, task, args, fallback)
        except RuntimeError:  # the interpreter is shutting down: its task thread is gone, run it here
            _run_embedded(task, args, fallback)
        return True
    try:
        with broker_circuit():  # a broker that failed moments ago is not tried again (config.redis_circuit)
            task.apply_async(args=args, queue=queue, **({"task_id": str(work.pk)} if work else {}))
    except BROKER_ERRORS as error:
        logger.warning("task %s not sent (%s): kept as a deferred job", getattr(task, "name", task), error)
        fallback()
        if work is not None:
            derived_work_drop(work)  # the fallback holds the work now
        return False
    if work is not None:
        derived_work_sent(work)
    return True
