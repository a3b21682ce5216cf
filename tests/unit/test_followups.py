"""Debounced follow-up jobs: one queued job per kind, re-armed by later edits, run only after the quiet period."""

from datetime import timedelta

import pytest
from django.utils import timezone

from recommend.core import followups
from recommend.core.followups import followup_schedule, followups_collected
from recommend.core.jobs import job_handler, job_run_next
from recommend.models import Job

pytestmark = pytest.mark.django_db

RAN: list[int] = []


def _test_followup(job, params, progress):
    RAN.append(job.pk)
    return {"ran": True}


@pytest.fixture(autouse=True)
def _quiet(settings):
    # Registered per test: other tests swap the handler registry for their own.
    job_handler("test_followup", queue="default", label="Test rebuild")(_test_followup)
    settings.REBUILD_QUIET_SECONDS = 120
    RAN.clear()
    followups_collected().clear()


def test_a_burst_of_edits_queues_one_job_due_after_the_quiet_period(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = followup_schedule(kind="test_followup", reason="move")
    with django_capture_on_commit_callbacks(execute=True):
        second = followup_schedule(kind="test_followup", reason="rename")

    assert first.pk == second.pk and Job.objects.filter(kind="test_followup").count() == 1
    job = Job.objects.get()
    assert job.status == "queued" and RAN == []  # inline mode would have run it at once if it were due
    assert timezone.now() + timedelta(seconds=100) < job.run_after <= timezone.now() + timedelta(seconds=121)


def test_a_later_edit_moves_the_due_time(django_capture_on_commit_callbacks, monkeypatch):
    with django_capture_on_commit_callbacks(execute=True):
        followup_schedule(kind="test_followup", quiet=10)
    earlier = Job.objects.get().run_after

    with django_capture_on_commit_callbacks(execute=True):
        followup_schedule(kind="test_followup", quiet=60)

    assert Job.objects.get().run_after > earlier + timedelta(seconds=45)


def test_the_runner_leaves_a_job_until_it_is_due_then_runs_it():
    job = followup_schedule(kind="test_followup")

    assert job_run_next() is None and RAN == []

    Job.objects.filter(pk=job.pk).update(run_after=timezone.now() - timedelta(seconds=1))
    assert job_run_next().status == "done" and [job.pk] == RAN


def test_a_running_job_does_not_absorb_new_edits():
    running = Job.objects.create(kind="test_followup", status=Job.Status.RUNNING)

    queued = followup_schedule(kind="test_followup")

    assert queued.pk != running.pk and queued.status == "queued"


def test_the_message_says_what_was_queued_and_when():
    followup_schedule(kind="test_followup", reason="category “Shoes” moved")

    text = followups.followup_text(followups_collected()[0])

    assert text.startswith("Test rebuild (job #") and "queued for" in text
    assert "runs once after 120 s without further edits (category “Shoes” moved)" in text


def test_admin_requests_get_one_message_per_queued_job(rf):
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.http import HttpResponse

    def admin_view_with_two_edits(request):
        followup_schedule(kind="test_followup", reason="a")
        followup_schedule(kind="test_followup", reason="b")
        return HttpResponse("ok")

    request = rf.post("/admin/taxonomy/category/")
    request._messages = CookieStorage(request)

    followups.FollowupMessagesMiddleware(admin_view_with_two_edits)(request)

    said = [str(message) for message in request._messages]
    assert len(said) == 1 and said[0].startswith("Test rebuild (job #")
    assert followups_collected() == []  # nothing leaks into the next request
