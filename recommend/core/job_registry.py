"""The job handler registry: which function runs a job kind, on which queue, with which params and time limit.

Each capability registers its handlers in its own `jobs.py` with `@job_handler(kind, queue=..., params=...)`;
`RecommendConfig.ready()` imports those modules, so core never names a capability. Everything that looks a
handler up goes through `job_handler_get` (it reads `JOB_HANDLERS` at call time, so tests can swap the dict).
"""

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from recommend.core.progress import ProgressCallback

logger = logging.getLogger(__name__)

Handler = Callable[[Any, Any, ProgressCallback], dict[str, Any] | None]

# The Celery task that runs a job by id (defined in recommend.core.tasks); sent by name so that the
# dispatch in recommend.core.jobs does not import the task module (which imports the dispatch).
RUN_JOB_TASK = "recommend.run_job"
SWEEP_JOBS_TASK = "recommend.sweep_jobs"


@dataclass(frozen=True)
class NoParams:
    """For handlers that take no parameters."""


@dataclass(frozen=True)
class JobHandler:
    kind: str
    function: Handler
    queue: str
    params: type
    time_limit: int  # seconds: the soft limit; the hard limit adds JOB_HARD_LIMIT_GRACE_SECONDS
    label: str


JOB_HANDLERS: dict[str, JobHandler] = {}


class JobParamsError(ValueError):
    """The params given for a job do not fit its handler's params dataclass."""


def default_time_limit(queue: str) -> int:
    """Seconds a handler on `queue` may run when it does not say: minutes for inference, hours for training."""
    limits: dict[str, int] = settings.JOB_TIME_LIMITS
    return int(limits.get(queue, limits["default"]))


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
        limit = int(time_limit or default_time_limit(queue))
        visibility = int(settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 0))
        if visibility and limit + settings.JOB_HARD_LIMIT_GRACE_SECONDS >= visibility:
            # Above the visibility timeout Redis would hand a still-running job's message to a second worker.
            logger.warning(
                "job %s: time limit %ss is not below the broker visibility timeout %ss", kind, limit, visibility
            )
        JOB_HANDLERS[kind] = JobHandler(
            kind, function, queue, params, limit, label or kind.replace("_", " ").capitalize()
        )
        return function

    return register


def job_handler_get(kind: str) -> JobHandler:
    try:
        return JOB_HANDLERS[kind]
    except KeyError:
        raise ValueError(f"Unknown job kind {kind!r}; known: {', '.join(sorted(JOB_HANDLERS))}.") from None


def job_kind_known(kind: str) -> bool:
    return kind in JOB_HANDLERS


def job_kind_label(kind: str) -> str:
    handler = JOB_HANDLERS.get(kind)
    return handler.label if handler else kind


def job_hard_time_limit(handler: JobHandler) -> int:
    """Seconds after which the worker kills the task: the soft limit plus time to record the failure."""
    return handler.time_limit + int(settings.JOB_HARD_LIMIT_GRACE_SECONDS)


def job_params_parse(*, kind: str, params: dict[str, Any] | None) -> Any:
    """Build the handler's params dataclass from a dict; unknown or badly typed fields raise JobParamsError."""
    handler = job_handler_get(kind)
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
