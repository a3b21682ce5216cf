"""Jobs run with progress, capture failures and are seen by permission; one active model version per kind."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from recommend.core import job_registry
from recommend.core.jobs import NoParams, job_create, job_handler, job_retry, job_run
from recommend.core.registry import (
    ArtifactChecksumError,
    active_version_id,
    artifact_local_path,
    model_version_activate,
    model_version_create,
    model_version_mark,
    model_version_rollback,
    model_version_save_artifact,
)
from recommend.models import Job, ModelVersion

pytestmark = pytest.mark.django_db

SEEN_PROGRESS: list[float] = []


def counting_handler(job, params, progress):
    for step in range(1, 5):
        progress(step / 4, f"step {step}")
        SEEN_PROGRESS.append(Job.objects.get(pk=job.pk).progress)
    return {"steps": 4}


def failing_handler(job, params, progress):
    raise RuntimeError("disk on fire")


@pytest.fixture
def test_handlers(monkeypatch):
    monkeypatch.setattr(job_registry, "JOB_HANDLERS", dict(job_registry.JOB_HANDLERS))
    job_handler("count", params=NoParams)(counting_handler)
    job_handler("fail", params=NoParams)(failing_handler)
    SEEN_PROGRESS.clear()


def test_a_job_runs_to_done_reporting_progress(test_handlers, settings):
    settings.JOB_PROGRESS_INTERVAL = 0

    job = job_run(job_id=job_create(kind="count", enqueue=False).pk)

    assert job.status == "done" and job.progress == 1.0 and job.result == {"steps": 4}
    assert SEEN_PROGRESS == [0.25, 0.5, 0.75, 1.0]
    assert job.started_at <= job.finished_at


def test_a_failing_job_records_the_error_and_can_be_retried(test_handlers, django_capture_on_commit_callbacks):
    job = job_run(job_id=job_create(kind="fail", enqueue=False).pk)
    assert job.status == "failed" and "RuntimeError: disk on fire" in job.error

    with django_capture_on_commit_callbacks(execute=True):
        job_retry(job=job)

    job.refresh_from_db()
    # A retry by staff starts a fresh attempt budget: this is its first attempt.
    assert job.status == "failed" and job.attempts == 1


def test_a_done_job_is_not_run_twice(test_handlers):
    job = job_run(job_id=job_create(kind="count", enqueue=False).pk)
    SEEN_PROGRESS.clear()

    job_run(job_id=job.pk)

    assert SEEN_PROGRESS == []


def test_unknown_job_kind_is_refused(db):
    with pytest.raises(ValueError, match="Unknown job kind"):
        job_create(kind="nope")


def test_only_one_active_version_per_kind_in_the_database(db):
    ModelVersion.objects.create(kind="classifier", version=1, status="active")

    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.create(kind="classifier", version=2, status="active")


def test_activation_retires_the_previous_version_and_rollback_restores_it(db):
    first = model_version_mark(version=model_version_create(kind="similar"), status="ready")
    second = model_version_mark(version=model_version_create(kind="similar"), status="ready")
    model_version_activate(version=first)
    model_version_activate(version=second)

    assert (second.version, active_version_id("similar")) == (2, second.pk)
    assert ModelVersion.objects.get(pk=first.pk).status == "retired"
    model_version_rollback(kind="similar")
    assert ModelVersion.objects.get(pk=first.pk).status == "active"


def test_a_training_version_cannot_be_activated(db):
    with pytest.raises(ValueError, match="Only a ready or retired version"):
        model_version_activate(version=model_version_create(kind="similar"))


def test_artifacts_roundtrip_and_tampering_is_detected(db, tmp_path):
    source = tmp_path / "weights.bin"
    source.write_bytes(b"weights-v1")
    version = model_version_save_artifact(version=model_version_create(kind="classifier"), local_path=source)

    local = artifact_local_path(version=version)
    assert local.read_bytes() == b"weights-v1"

    version.artifact_checksum = "0" * 64
    with pytest.raises(ArtifactChecksumError):
        artifact_local_path(version=version)


@pytest.fixture
def viewer_client(client, db):
    """Staff who may look at jobs but not change them."""
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_job"))
    client.force_login(viewer)
    return client


def test_staff_cancel_a_queued_job_from_the_admin_list(client, staff, test_handlers):
    client.force_login(staff)
    job = job_create(kind="count", enqueue=False)

    response = client.post(
        reverse("admin:recommend_job_changelist"), {"action": "cancel", "_selected_action": [job.pk]}, follow=True
    )

    assert b"1 jobs cancelled" in response.content
    assert Job.objects.get(pk=job.pk).status == "cancelled"


def test_the_cancel_button_on_a_running_job_requests_a_stop(client, staff, test_handlers):
    client.force_login(staff)
    job = job_create(kind="count", enqueue=False)
    Job.objects.filter(pk=job.pk).update(status="running", attempts=1)
    page = client.get(reverse("admin:recommend_job_change", args=[job.pk]))
    assert b">Cancel<" in page.content

    client.post(reverse("admin:recommend_job_cancel", args=[job.pk]))

    job.refresh_from_db()
    assert job.status == "running" and job.cancel_requested


def test_staff_without_change_permission_cannot_cancel(viewer_client, test_handlers):
    job = job_create(kind="count", enqueue=False)

    page = viewer_client.get(reverse("admin:recommend_job_change", args=[job.pk]))
    viewer_client.post(reverse("admin:recommend_job_cancel", args=[job.pk]))

    assert page.status_code == 200 and b">Cancel<" not in page.content
    assert Job.objects.get(pk=job.pk).status == "queued"


def test_the_cancel_api_cancels_and_refuses_a_finished_job(staff_api_client, test_handlers):
    queued = job_create(kind="count", enqueue=False)
    done = job_run(job_id=job_create(kind="count", enqueue=False).pk)

    response = staff_api_client.post(reverse("api:job-cancel", args=[queued.pk]))
    refused = staff_api_client.post(reverse("api:job-cancel", args=[done.pk]))

    assert response.status_code == 202 and response.json()["status"] == "cancelled"
    assert refused.status_code == 409 and "Only queued or running" in refused.json()["detail"]


def test_the_job_list_shows_each_kind_by_its_registered_label(admin_client):
    job_create(kind=Job.Kind.REBUILD_TREE, enqueue=False)

    page = admin_client.get(reverse("admin:recommend_job_changelist")).content.decode()

    assert "Rebuild category tree" in page and ">rebuild_tree<" not in page


def test_the_job_list_filters_by_kind(admin_client):
    job_create(kind=Job.Kind.REBUILD_TREE, enqueue=False)
    job_create(kind=Job.Kind.IMPORT, params={"preset": "groceries"}, enqueue=False)

    response = admin_client.get(reverse("admin:recommend_job_changelist"), {"kind": Job.Kind.REBUILD_TREE})

    assert [job.kind for job in response.context["cl"].result_list] == [Job.Kind.REBUILD_TREE]
