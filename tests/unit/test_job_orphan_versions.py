"""A version a dead worker left "training" is marked failed when its job is swept or claimed again;
the active version and versions of other jobs are never touched."""

from datetime import timedelta

import pytest
from django.utils import timezone

from recommend.core import job_registry
from recommend.core.jobs import job_create, job_handler, job_run, job_sweep
from recommend.core.registry import model_version_create
from recommend.models import Job, ModelVersion

pytestmark = pytest.mark.django_db


def training_a_version(job, params, progress):
    version = model_version_create(kind="t_model")
    return {"version_id": version.pk}


@pytest.fixture(autouse=True)
def handlers(monkeypatch, settings):
    settings.JOB_PROGRESS_INTERVAL = 0
    settings.JOB_MAX_ATTEMPTS = 3
    monkeypatch.setattr(job_registry, "JOB_HANDLERS", dict(job_registry.JOB_HANDLERS))
    job_handler("t_train")(training_a_version)


def died_while_training(job):
    """What a worker killed mid-training leaves: the job running without heartbeat, its version "training"."""
    long_ago = timezone.now() - timedelta(minutes=10)
    Job.objects.filter(pk=job.pk).update(status="running", attempts=1, started_at=long_ago, heartbeat_at=long_ago)
    return ModelVersion.objects.create(kind="t_model", version=2, job=job)


@pytest.fixture
def active_version():
    return ModelVersion.objects.create(kind="t_model", version=1, status="active")


def test_a_version_created_in_a_job_run_names_its_job_and_one_created_outside_does_not():
    job = job_run(job_id=job_create(kind="t_train", enqueue=False).pk)

    inside = ModelVersion.objects.get(pk=job.result["version_id"])
    outside = model_version_create(kind="t_model")

    assert job.status == "done" and inside.job_id == job.pk
    assert outside.job_id is None


def test_the_sweep_fails_the_version_a_dead_run_left_training(active_version):
    job = job_create(kind="t_train", enqueue=False)
    orphan = died_while_training(job)
    elsewhere = ModelVersion.objects.create(kind="t_model", version=3)  # another trainer, still alive

    counts = job_sweep()

    orphan.refresh_from_db()
    active_version.refresh_from_db()
    elsewhere.refresh_from_db()
    assert counts["requeued"] == 1
    assert orphan.status == "failed" and "worker stopped during attempt 1" in orphan.metrics["failure"]
    assert active_version.status == "active" and elsewhere.status == "training"


def test_a_redelivered_job_fails_the_orphan_then_trains_a_new_version(active_version):
    job = job_create(kind="t_train", enqueue=False)
    orphan = died_while_training(job)

    job = job_run(job_id=job.pk)  # the broker redelivers the message to another worker

    orphan.refresh_from_db()
    fresh = ModelVersion.objects.get(pk=job.result["version_id"])
    assert job.status == "done" and job.attempts == 2
    assert orphan.status == "failed" and "attempt 1" in orphan.metrics["failure"]
    assert fresh.version == 3 and fresh.job_id == job.pk and fresh.status == "training"
    assert ModelVersion.objects.get(pk=active_version.pk).status == "active"


def test_a_job_given_up_after_its_last_attempt_fails_its_orphan(settings):
    job = job_create(kind="t_train", enqueue=False)
    orphan = died_while_training(job)
    Job.objects.filter(pk=job.pk).update(attempts=3)

    job = job_run(job_id=job.pk)

    orphan.refresh_from_db()
    assert job.status == "failed" and orphan.status == "failed"
    assert "gave up after 3 attempts" in orphan.metrics["failure"]
