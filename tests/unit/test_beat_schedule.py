"""Every celery beat entry names a task that a worker process registers, and the site's upkeep tasks work."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from config.celery import app, task_packages
from config.tasks import clear_expired_sessions

ROOT = Path(__file__).resolve().parents[2]
# A fresh interpreter, as a worker or beat starts: what this test process imported already does not count.
REGISTERED_IN_A_NEW_PROCESS = """
import json, django
django.setup()
from config.celery import app
app.loader.import_default_modules()  # what `celery worker` and `celery beat` do at start
print(json.dumps(sorted(app.tasks)))
"""


def test_every_beat_entry_names_a_task_a_new_worker_process_registers():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", REGISTERED_IN_A_NEW_PROCESS], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    registered = set(json.loads(done.stdout.strip().splitlines()[-1]))

    unregistered = [entry["task"] for entry in app.conf.beat_schedule.values() if entry["task"] not in registered]

    assert unregistered == []
    assert {"recommend.sequential.scheduled_retrain", "recommend.sequential.expire_anonymous_events"} <= registered


def test_every_package_with_a_tasks_module_is_discovered():
    with_tasks = {path.parent.name for path in (ROOT / "recommend").glob("*/tasks.py")}

    assert {f"recommend.{name}" for name in with_tasks} <= set(task_packages())
    assert "config" in task_packages()


def test_sessions_are_cleared_daily_by_beat(db):
    entries = {entry["task"]: entry for entry in app.conf.beat_schedule.values()}
    assert entries["config.clear_expired_sessions"]["schedule"] == 24 * 3600.0
    live, expired = SessionStore(), SessionStore()
    live.create()
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(expire_date=timezone.now() - timedelta(days=1))

    clear_expired_sessions.apply()

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
