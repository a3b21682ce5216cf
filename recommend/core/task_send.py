"""Send the Celery task a committed write needs, surviving a broker that is down.

Receivers send small tasks (classify or embed a saved product) when the write commits. When Redis is
unreachable the write is already stored: the request must still answer, and the work must not be lost.
`task_send` then runs a fallback that records the same work as a deferred job (recommend.core.jobs,
`defer=True`): it stays queued in the database and the sweep sends it once the broker is back.
"""

import logging
from collections.abc import Callable
from typing import Any

from recommend.core.jobs import BROKER_ERRORS

logger = logging.getLogger(__name__)


def task_send(task: Any, *, args: list[Any], queue: str, fallback: Callable[[], Any]) -> bool:
    """Send `task`; on a broker error call `fallback` instead. True when the task itself was sent."""
    try:
        task.apply_async(args=args, queue=queue)
    except BROKER_ERRORS as error:
        logger.warning("task %s not sent (%s): kept as a deferred job", getattr(task, "name", task), error)
        fallback()
        return False
    return True
