"""Celery tasks: thin wrappers that load ids and call services."""

from celery import shared_task
from django.db import OperationalError

from recommend.core.jobs import job_run


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 5},
)
def run_job(self, job_id: int) -> str:  # type: ignore[no-untyped-def]
    return job_run(job_id=job_id).status
