"""The job runner under faults, with real Redis, PostgreSQL and celery workers: broker down, a worker killed
mid-job, a message delivered twice, a handler over its time limit. None of them leaves a job stuck."""

import os
import signal
import time

import pytest
from celery import current_app
from django.urls import reverse

from recommend.core.job_registry import RUN_JOB_TASK
from recommend.core.jobs import job_create, job_is_pending, job_sweep
from recommend.models import Job
from tests.integration import job_fault_handlers
from tests.integration.conftest import start_celery_worker, stop_celery_worker

pytestmark = pytest.mark.django_db(transaction=True)

STALE_AFTER = 3  # seconds without heartbeat before the sweep acts (production: minutes)
FAULT_MODULE = "tests.integration.job_fault_handlers"
WORKER_ENV = {"JOB_HEARTBEAT_SECONDS": "0.5", "JOB_STALE_AFTER_SECONDS": str(STALE_AFTER)}


@pytest.fixture
def fast_sweep(settings):
    settings.JOB_STALE_AFTER_SECONDS = STALE_AFTER


@pytest.fixture
def fault_worker(real_services, tmp_path, fast_sweep):
    """A prefork worker with two processes (Celery time limits need prefork) on the fault queue only."""
    process = start_celery_worker(
        db=real_services,
        log_path=tmp_path / "fault-worker.log",
        name="faults",
        queues=job_fault_handlers.FAULT_QUEUE,
        pool="prefork",
        env_extra=WORKER_ENV,
        extra_args=["-c", "2", "-I", FAULT_MODULE],
    )
    yield process
    stop_celery_worker(process)


def solo_worker(real_services, log_path, name):
    return start_celery_worker(
        db=real_services,
        log_path=log_path,
        name=name,
        queues=job_fault_handlers.FAULT_QUEUE,
        env_extra=WORKER_ENV,
        extra_args=["-I", FAULT_MODULE],
    )


def drop_connection_pools():
    current_app._pool = None
    current_app.amqp._producer_pool = None


def broker_down(monkeypatch):
    """Point this process' Celery at a port where nothing listens, as if Redis were down."""
    drop_connection_pools()
    monkeypatch.setattr(current_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(current_app.conf, "broker_write_url", "redis://127.0.0.1:1/0")


def wait_for(job_id, condition, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if condition(job):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never got there; last seen {job.status} {job.progress} {job.message!r}")


def finished(job):
    return job.status in ("done", "failed", "cancelled")


def test_with_the_broker_down_the_api_answers_503_and_the_job_is_not_left_queued(
    real_services, staff_api_client, monkeypatch
):
    broker_down(monkeypatch)
    started = time.monotonic()

    response = staff_api_client.post(reverse("api:job-list"), {"preset": "groceries"}, format="json")

    monkeypatch.undo()
    drop_connection_pools()  # so later tests connect to the real broker again
    assert response.status_code == 503, response.content
    assert response.json()["detail"].startswith("could not reach the task queue")
    assert Job.objects.get().status == "failed" and not job_is_pending("import")
    assert time.monotonic() - started < 30  # answered, not hung


def test_a_job_whose_worker_is_killed_is_requeued_by_the_sweep_and_finished_by_a_new_worker(
    real_services, tmp_path, fast_sweep
):
    first = solo_worker(real_services, tmp_path / "first.log", "doomed")
    runs = tmp_path / "runs.txt"
    job = job_create(kind="fault_slow", params={"seconds": 4, "runs_file": str(runs)})
    wait_for(job.pk, lambda job: job.status == "running" and job.progress > 0.1)

    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    time.sleep(STALE_AFTER + 1)
    counts = job_sweep()
    second = solo_worker(real_services, tmp_path / "second.log", "rescuer")
    try:
        job = wait_for(job.pk, finished)
    finally:
        stop_celery_worker(second)

    assert counts["requeued"] == 1
    assert job.status == "done" and job.attempts == 2, job.error
    assert runs.read_text().splitlines() == [f"{job.pk} attempt 1", f"{job.pk} attempt 2"]


def test_a_message_delivered_twice_runs_the_job_once(fault_worker, tmp_path):
    runs = tmp_path / "runs.txt"
    job = job_create(kind="fault_slow", params={"seconds": 2, "runs_file": str(runs)})
    wait_for(job.pk, lambda job: job.status == "running")

    current_app.send_task(RUN_JOB_TASK, args=[job.pk], queue=job_fault_handlers.FAULT_QUEUE)  # a redelivery
    job = wait_for(job.pk, finished)
    time.sleep(1)  # give the duplicate time to be seen and skipped

    assert job.status == "done" and job.attempts == 1
    assert runs.read_text().splitlines() == [f"{job.pk} attempt 1"]


def test_a_handler_over_its_time_limit_is_failed_with_that_message(fault_worker):
    job = job_create(kind="fault_overrun", params={"seconds": 60})

    job = wait_for(job.pk, finished, timeout=40)

    assert job.status == "failed"
    assert job.message == "over its time limit of 2 s"
