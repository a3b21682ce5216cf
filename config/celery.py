"""Celery application: queues `default`, `inference` and `training`, configured from Django settings."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("inference"), Queue("training"))
app.conf.task_default_queue = "default"
app.autodiscover_tasks()
