"""The job runner never gets stuck: claim, attempt cap, cancel, time limits, sweep, broker errors, embedded runs."""

import threading
from dataclasses import dataclass
from datetime import timedelta

import kombu.exceptions
import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.urls import reverse
from django.utils import timezone

from recommend.core import job_registry, jobs
from recommend.core.job_runner import job_claim, runner_name
from recommend.core.jobs import (
    JobParamsError,
    job_cancel,
    job_create,
    job_enqueue_failed,
    job_handler,
    job_is_pending,
    job_run,
    job_sweep,
    job_worker_loop,
)
from recommend.models import Job

pytestmark = pytest.mark.django_db

RUNS: list[int] = []


def counting(job, params, progress):
    RUNS.append(job.pk)
    progress(1.0, "done")
    return {"ran": True}


def cancelled_midway(job, params, progress):
    progress(0.1, "working")
    job_cancel(job=Job.objects.get(pk=job.pk))  # staff press Cancel while it runs
    progress(0.5, "still working")
    RUNS.append(job.pk)  # never reached
    return {}


def overrunning(job, params, progress):
    progress.started -= 10  # as if ten seconds had passed
    progress(0.5, "late")
    return {}


def soft_limited(job, params, progress):
    raise SoftTimeLimitExceeded()


def reclaimed_midway(job, params, progress):
    Job.objects.filter(pk=job.pk).update(attempts=job.attempts + 1)  # the sweep re-queued it, another runner claimed
    progress(0.5, "working")
    return {"written": True}


@dataclass(frozen=True)
class SizeParams:
    size: int = 1

    def validate(self) -> None:
        if self.size < 1:
            raise ValueError("size: must be at least 1.")


@pytest.fixture(autouse=True)
def handlers(monkeypatch, settings):
    settings.JOB_PROGRESS_INTERVAL = 0
    monkeypatch.setattr(job_registry, "JOB_HANDLERS", dict(job_registry.JOB_HANDLERS))
    job_handler("t_count", params=SizeParams)(counting)
    job_handler("t_cancel")(cancelled_midway)
    job_handler("t_overrun", time_limit=5)(overrunning)
    job_handler("t_soft", time_limit=7)(soft_limited)
    job_handler("t_reclaimed")(reclaimed_midway)
    RUNS.clear()


def make_stale(job, *, attempts=1, minutes=10, **fields):
    long_ago = timezone.now() - timedelta(minutes=minutes)
    Job.objects.filter(pk=job.pk).update(
        status="running", attempts=attempts, started_at=long_ago, heartbeat_at=long_ago, **fields
    )


def test_a_claimed_job_is_not_claimed_again_so_a_redelivered_message_does_not_run_it():
    job = job_create(kind="t_count", enqueue=False)

    first, second = job_claim(job_id=job.pk), job_claim(job_id=job.pk)

    assert first is not None and first.attempts == 1
    assert second is None


def test_a_claim_records_the_worker_that_runs_the_job():
    by_celery = job_claim(job_id=job_create(kind="t_count", enqueue=False).pk, worker="training@gpu-1")
    here = job_run(job_id=job_create(kind="t_count", enqueue=False).pk)

    assert by_celery.worker == "training@gpu-1"
    assert here.worker == runner_name() and here.status == "done"


def test_a_redelivered_message_for_a_live_running_job_leaves_it_alone():
    job = job_create(kind="t_count", enqueue=False)
    job_claim(job_id=job.pk)

    job = job_run(job_id=job.pk)

    assert RUNS == [] and job.status == "running"


def test_a_job_whose_worker_died_is_claimed_again_by_the_redelivered_message():
    job = job_create(kind="t_count", enqueue=False)
    make_stale(job, attempts=1)

    job = job_run(job_id=job.pk)

    assert job.status == "done" and job.attempts == 2 and [job.pk] == RUNS


def test_past_the_attempt_cap_a_redelivered_job_is_failed_not_run(settings):
    settings.JOB_MAX_ATTEMPTS = 3
    job = job_create(kind="t_count", enqueue=False)
    make_stale(job, attempts=3)

    job = job_run(job_id=job.pk)

    assert RUNS == [] and job.status == "failed"
    assert "gave up after 3 attempts" in job.message


def test_cancelling_a_queued_job_ends_it_at_once():
    job = job_cancel(job=job_create(kind="t_count", enqueue=False))

    assert job.status == "cancelled" and job.finished_at is not None
    assert job_run(job_id=job.pk).status == "cancelled" and RUNS == []


def test_a_running_job_stops_at_its_next_progress_report_after_cancel():
    job = job_run(job_id=job_create(kind="t_cancel", enqueue=False).pk)

    assert job.status == "cancelled" and job.progress == pytest.approx(0.1)
    assert RUNS == []


def test_a_finished_job_cannot_be_cancelled():
    job = job_run(job_id=job_create(kind="t_count", enqueue=False).pk)

    with pytest.raises(ValueError, match="Only queued or running"):
        job_cancel(job=job)


def test_a_handler_past_its_time_limit_is_failed_with_that_message():
    job = job_run(job_id=job_create(kind="t_overrun", enqueue=False).pk)

    assert job.status == "failed" and job.message == "over its time limit of 5 s"


def test_celerys_soft_time_limit_fails_the_job_with_that_message():
    job = job_run(job_id=job_create(kind="t_soft", enqueue=False).pk)

    assert job.status == "failed" and job.message == "over its time limit of 7 s"


def test_a_run_that_lost_its_claim_writes_nothing():
    job = job_run(job_id=job_create(kind="t_reclaimed", enqueue=False).pk)

    assert job.status == "running" and job.result == {} and job.progress == 0.0


def test_the_sweep_requeues_a_running_job_without_heartbeat(settings):
    settings.JOB_MAX_ATTEMPTS = 3
    job = job_create(kind="t_count", enqueue=False)
    make_stale(job, attempts=1)

    counts = job_sweep()

    job.refresh_from_db()
    assert counts["requeued"] == 1
    assert job.status == "queued" and "no heartbeat" in job.message


def test_the_sweep_fails_a_dead_job_over_its_cap_or_its_time_limit(settings):
    settings.JOB_MAX_ATTEMPTS = 3
    capped = job_create(kind="t_count", enqueue=False)
    make_stale(capped, attempts=3)
    overrun = job_create(kind="t_overrun", enqueue=False)
    make_stale(overrun, attempts=1, minutes=30)  # 5 s limit + 60 s grace, long past

    job_sweep()

    capped.refresh_from_db()
    overrun.refresh_from_db()
    assert capped.status == "failed" and "gave up after 3 attempts" in capped.error
    assert overrun.status == "failed" and overrun.message == "over its time limit of 5 s"


def test_the_sweep_ends_a_dead_job_that_staff_cancelled_as_cancelled():
    job = job_create(kind="t_count", enqueue=False)
    make_stale(job, cancel_requested=True)

    job_sweep()

    job.refresh_from_db()
    assert job.status == "cancelled"


def test_the_sweep_leaves_a_job_with_a_fresh_heartbeat_running():
    job = job_create(kind="t_count", enqueue=False)
    job_claim(job_id=job.pk)

    assert job_sweep()["requeued"] == 0
    assert Job.objects.get(pk=job.pk).status == "running"


def test_a_stale_job_does_not_count_as_pending_so_automatic_rebuilds_go_on():
    job = job_create(kind="t_count", enqueue=False)
    make_stale(job, attempts=3)

    assert not job_is_pending("t_count") or Job.objects.get(pk=job.pk).status == "queued"


def test_params_are_validated_when_the_job_is_created():
    with pytest.raises(JobParamsError, match="Unknown parameter"):
        job_create(kind="t_count", params={"colour": "red"}, enqueue=False)
    with pytest.raises(ValueError, match="size: must be at least 1"):
        job_create(kind="t_count", params={"size": 0}, enqueue=False)
    assert not Job.objects.exists()


def broker_down(*args, **kwargs):
    raise kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


@pytest.fixture
def broker_is_down(settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(jobs.current_app, "send_task", broker_down)


def test_with_the_broker_down_a_new_job_is_failed_with_a_clear_message(
    broker_is_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(kind="t_count")

    job.refresh_from_db()
    assert job_enqueue_failed(job) and job.message.startswith("could not reach the task queue: Error 111")
    assert not job_is_pending("t_count")


@pytest.mark.django_db(transaction=True)  # autocommit, as in production: the send happens inside the request
def test_the_jobs_api_answers_503_when_the_broker_is_down(broker_is_down, staff_api_client):
    response = staff_api_client.post(reverse("api:job-list"), {"preset": "groceries"}, format="json")

    assert response.status_code == 503
    assert response.json()["detail"].startswith("could not reach the task queue")
    assert Job.objects.get().status == "failed"


def test_in_embedded_mode_a_start_returns_at_once_and_the_runner_is_woken(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.JOB_RUN_INLINE = False
    woken = []
    monkeypatch.setattr(jobs, "embedded_runner_wake", lambda *, start: woken.append(start))

    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(kind="t_count")

    assert woken == [True] and RUNS == []
    assert Job.objects.get(pk=job.pk).status == "queued"


def test_the_runner_loop_runs_queued_jobs_oldest_first_until_idle():
    first = job_create(kind="t_count", enqueue=False)
    second = job_create(kind="t_count", enqueue=False)
    cancelled = job_cancel(job=job_create(kind="t_count", enqueue=False))

    job_worker_loop(wake=threading.Event(), stop=threading.Event(), until_idle=True)

    assert [first.pk, second.pk] == RUNS
    assert Job.objects.get(pk=cancelled.pk).status == "cancelled"


def test_the_storefront_banner_counts_the_demo_batch_and_disappears_when_done(client, monkeypatch):
    from recommend.core import demo

    monkeypatch.setattr(demo, "BANNER_CACHE_SECONDS", 0)
    job_handler("t_demo", params=DemoParams)(counting)
    monkeypatch.setattr(demo, "DEMO_MODEL_JOBS", [demo.DemoJob("t_demo"), demo.DemoJob("t_demo")])
    first, second = demo.demo_jobs_queue()
    assert first.pk == second.pk  # a kind still pending is not queued twice

    Job.objects.create(kind="t_demo", params={"demo": True}, status="running", progress=0.5)
    assert b"Models are training: 0 of 2 done, 25 %" in client.get("/").content

    Job.objects.filter(kind="t_demo").update(status="done", progress=1.0)
    assert b"Models are training" not in client.get("/").content


@dataclass(frozen=True)
class DemoParams:
    demo: bool = False


def test_setup_demo_never_resets_an_existing_staff_password(staff):
    from recommend.management.commands.setup_demo import Command

    staff.set_password("kept-secret-1")
    staff.save()

    login = Command().ensure_staff("staff", reset=False)

    staff.refresh_from_db()
    assert "password unchanged" in login and staff.check_password("kept-secret-1")
    assert "password '" in Command().ensure_staff("newcomer", reset=False)
