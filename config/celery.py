"""Celery application: queues `default`, `inference` and `training`, configured from Django settings.

Beat (`celery -A config beat`, or a worker started with `-B`) runs the job sweep every minute: running jobs
whose worker stopped sending heartbeats are re-queued or failed, so none stays `running` forever. Task modules
are found by `task_packages` (every `tasks.py` of an installed app or a recommend package), so every beat entry's
task is registered in every worker without a list to keep up to date.
"""

import os
import pkgutil

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("inference"), Queue("training"))
app.conf.task_default_queue = "default"
app.conf.beat_schedule = {
    "sweep-stale-jobs": {
        "task": "recommend.sweep_jobs",
        "schedule": 60.0,
        # A sweep that waited a minute in the queue is superseded by the next one.
        "options": {"queue": "default", "expires": 55},
    },
    # The recommender retrains on this interval (RECOMMEND_RETRAIN_HOURS, 0 turns it off in the task).
    "retrain-recommender": {
        "task": "recommend.sequential.scheduled_retrain",
        "schedule": max(float(os.environ.get("RECOMMEND_RETRAIN_HOURS", 24)), 0.1) * 3600,
        "options": {"queue": "default"},
    },
    # New products that fit no category propose a rebuild of their subtree (TAXONOMY_FIT_CHECK_HOURS, 0: off).
    "check-taxonomy-fit": {
        "task": "recommend.hierarchy.scheduled_fit_check",
        "schedule": max(float(os.environ.get("TAXONOMY_FIT_CHECK_HOURS", 24)), 0.1) * 3600,
        "options": {"queue": "default"},
    },
    # Privacy: anonymous events past ANONYMOUS_EVENT_RETENTION_DAYS are deleted (0 keeps them; the task is a no-op).
    "expire-anonymous-events": {
        "task": "recommend.sequential.expire_anonymous_events",
        "schedule": 24 * 3600.0,
        "options": {"queue": "default"},
    },
    # Expired Django sessions are deleted (what `manage.py clearsessions` does), so the session table stays small.
    "clear-expired-sessions": {
        "task": "config.clear_expired_sessions",
        "schedule": 24 * 3600.0,
        "options": {"queue": "default"},
    },
}


def task_packages() -> list[str]:
    """Every package whose `tasks` module is imported by each worker and beat: the site's own (config), each
    installed Django app, and each package of recommend (one per capability, plus core). Nothing to add by hand:
    a new capability's tasks.py is found because its package exists (tests/unit/test_beat_schedule.py checks
    that every beat entry names a registered task)."""
    from django.apps import apps

    import recommend

    packages = ["config", *(config.name for config in apps.get_app_configs())]
    packages += [f"recommend.{module.name}" for module in pkgutil.iter_modules(recommend.__path__) if module.ispkg]
    return [name for name in packages if name != "recommend.ml"]  # torch/numpy only: no tasks, not imported here


# Lazy: the list is read when the worker (or beat) imports its task modules, after Django is set up.
app.autodiscover_tasks(task_packages)
