"""Celery beat's entry of taxonomy proposals: queue the fit check as a job (so staff see it in the job list)."""

from celery import shared_task
from django.conf import settings

from recommend.core.jobs import job_create, job_is_pending
from recommend.models import Job


@shared_task(name="recommend.hierarchy.scheduled_fit_check")
def scheduled_fit_check() -> int | None:
    if settings.TAXONOMY_FIT_CHECK_HOURS <= 0 or job_is_pending(Job.Kind.CHECK_TAXONOMY_FIT):
        return None
    return job_create(kind=Job.Kind.CHECK_TAXONOMY_FIT, params={}).pk
