"""Celery tasks of the sequential recommender: thin wrappers that queue a training job."""

from celery import shared_task
from django.conf import settings

from catalog.services import interactions_expire
from recommend.core.jobs import job_create, job_is_pending
from recommend.models import Job


@shared_task(name="recommend.sequential.scheduled_retrain")
def scheduled_retrain() -> int | None:
    """Beat's periodic retrain; the job goes through the same activation guard as any other."""
    if settings.RECOMMEND_RETRAIN_HOURS <= 0 or job_is_pending(Job.Kind.TRAIN_RECOMMENDER):
        return None
    return job_create(kind=Job.Kind.TRAIN_RECOMMENDER, params={"reason": "scheduled retrain"}).pk


@shared_task(name="recommend.sequential.expire_anonymous_events")
def expire_anonymous_events() -> int:
    """Beat, daily: events with no account older than ANONYMOUS_EVENT_RETENTION_DAYS are deleted (0: kept)."""
    return interactions_expire(days=settings.ANONYMOUS_EVENT_RETENTION_DAYS)
