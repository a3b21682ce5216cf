"""A Celery worker killed (SIGKILL) in the middle of a real classifier training run, on the real services.

The version it was training never goes live: the active version keeps answering the classify API the whole
time. The sweep sees the silent job, marks the orphaned version failed and queues the job again; a new worker
runs it from the start and its version goes live. The workers and this process use a broker key prefix of
their own (`private_broker`), so a session worker on the same Redis cannot take the job.
"""

import os
import signal
import time
import uuid

import pytest

from recommend.core.jobs import job_create, job_sweep
from recommend.models import Job, ModelVersion
from tests.integration.conftest import start_celery_worker, stop_celery_worker
from tests.integration.test_classification_worker import labelled_catalog

pytestmark = pytest.mark.django_db(transaction=True)

STALE_AFTER = 3  # seconds without heartbeat before the sweep acts (production: minutes)
TRAIN = {"demo": True, "epochs": 40, "config": {"validation_fraction": 0}}


@pytest.fixture
def trainers(real_services, private_broker, tmp_path, settings):
    """Start solo workers on all queues, one artifact storage shared with this process; stopped after."""
    prefix, _ = private_broker
    artifacts = tmp_path / "artifacts"
    settings.STORAGES = {
        **settings.STORAGES,
        "artifacts": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(artifacts)},
        },
    }
    settings.JOB_STALE_AFTER_SECONDS = STALE_AFTER
    suffix, running = uuid.uuid4().hex[:6], []

    def start(role):
        process = start_celery_worker(
            db=real_services,
            log_path=tmp_path / f"{role}.log",
            name=f"killed-{role}-{suffix}",
            env_extra={
                "CELERY_BROKER_KEY_PREFIX": prefix,
                "ARTIFACT_ROOT": str(artifacts),
                "VAR_DIR": str(tmp_path / f"{role}-var"),
                "JOB_HEARTBEAT_SECONDS": "0.5",
                "JOB_STALE_AFTER_SECONDS": str(STALE_AFTER),
            },
        )
        running.append(process)
        return process

    yield start
    for process in running:
        if process.poll() is None:
            stop_celery_worker(process)


def wait_for(condition, what, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


def finished(job_id):
    job = Job.objects.get(pk=job_id)
    return job if job.status in ("done", "failed", "cancelled") else None


def classify(client):
    response = client.post("/api/v1/classify/", {"title": "Nova Android Smartphone"}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["model_version"]


def test_a_worker_killed_mid_training_leaves_the_active_version_serving_and_a_rerun_succeeds(
    trainers, staff_api_client
):
    labelled_catalog(per_leaf=30)
    first = trainers("first")
    v1_job = job_create(kind=Job.Kind.TRAIN_CLASSIFIER, params={**TRAIN, "force": True})  # a tiny catalog: TF-IDF ties
    v1_job = wait_for(lambda: finished(v1_job.pk), "the first training")
    assert v1_job.status == "done", v1_job.error
    v1 = ModelVersion.objects.get(kind="classifier", status="active")
    assert classify(staff_api_client) == v1.version

    job = job_create(kind=Job.Kind.TRAIN_CLASSIFIER, params={**TRAIN, "force": True})
    wait_for(
        lambda: (
            Job.objects.filter(pk=job.pk, status="running", progress__gt=0.1).exists()
            and ModelVersion.objects.filter(job=job, status="training").exists()
        ),
        "the second training under way",
    )
    os.kill(first.pid, signal.SIGKILL)  # mid-epoch: no handler, no cleanup, no goodbye
    first.wait(timeout=10)

    orphan = ModelVersion.objects.get(job=job)
    assert orphan.status == "training" and not orphan.artifact_path
    assert ModelVersion.objects.get(kind="classifier", status="active") == v1
    assert classify(staff_api_client) == v1.version  # the previous model keeps serving

    time.sleep(STALE_AFTER + 1)
    counts = job_sweep()
    orphan.refresh_from_db()
    assert counts["requeued"] == 1 and Job.objects.get(pk=job.pk).status == "queued"
    assert orphan.status == "failed" and "worker stopped" in orphan.metrics["failure"]
    assert classify(staff_api_client) == v1.version

    trainers("second")
    job = wait_for(lambda: finished(job.pk), "the rerun on a new worker")
    assert job.status == "done" and job.attempts == 2, job.error
    rerun = ModelVersion.objects.get(pk=job.result["version_id"])
    assert rerun.job_id == job.pk and rerun.version == orphan.version + 1 and rerun.status == "active"
    assert rerun.artifact_checksum and ModelVersion.objects.get(pk=v1.pk).status != "active"
    assert classify(staff_api_client) == rerun.version
