"""Site upkeep tasks that belong to no app of ours (celery beat, config/celery.py)."""

from importlib import import_module

from celery import shared_task
from django.conf import settings


@shared_task(name="config.clear_expired_sessions", ignore_result=True)
def clear_expired_sessions() -> None:
    """Beat, daily: delete expired sessions, as `manage.py clearsessions` does (for any SESSION_ENGINE)."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
