"""Which job the running code works for (set by the job runner), so that what it creates can name its job."""

from contextvars import ContextVar

current_job_id: ContextVar[int | None] = ContextVar("current_job_id", default=None)
