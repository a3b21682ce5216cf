"""End to end on real services: a job goes queued -> running -> done in a real Celery worker."""

import time

import pytest

from catalog.models import Interaction, Product
from recommend.core.jobs import job_create
from recommend.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


def write_groceries(folder, members=300, days=20):
    data = folder / "groceries_basket"
    data.mkdir(parents=True)
    items = ["whole milk", "rolls/buns", "yogurt", "soda", "bottled water", "citrus fruit", "sausage"]
    lines = []
    for member in range(members):
        for day in range(days):
            for offset in range(3):
                lines.append(f"{1000 + member},{day + 1:02d}-01-2015,{items[(member + day + offset) % len(items)]}")
    (data / "Groceries_dataset_noheader.csv").write_text("\n".join(lines) + "\n")
    return len(lines)


def watch(job_id, timeout=120):
    """Poll the job row; return every (status, progress) seen until it finishes."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if not seen or seen[-1] != (job.status, job.progress):
            seen.append((job.status, job.progress))
        if job.status in ("done", "failed"):
            return job, seen
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not finish in {timeout}s; seen {seen[-5:]}")


def test_import_job_runs_in_the_worker_with_progress(celery_worker_process, tmp_path):
    rows = write_groceries(tmp_path)

    job = job_create(kind=Job.Kind.IMPORT, params={"preset": "groceries", "data_dir": str(tmp_path)})
    job, seen = watch(job.pk)

    assert job.status == "done", job.error
    assert seen[0][0] in ("queued", "running")
    assert any(status == "running" and 0 < progress < 1 for status, progress in seen), seen
    assert job.progress == 1.0 and job.finished_at > job.started_at
    assert Product.objects.filter(source="groceries").count() == 7
    assert Interaction.objects.count() == rows


def test_a_failing_job_is_marked_failed_with_its_error(celery_worker_process, tmp_path):
    job = job_create(kind=Job.Kind.IMPORT, params={"preset": "groceries", "data_dir": str(tmp_path / "missing")})

    job, _ = watch(job.pk)

    assert job.status == "failed"
    assert "Data file not found" in job.error


def test_reimport_in_the_worker_is_idempotent_on_postgres(celery_worker_process, tmp_path):
    rows = write_groceries(tmp_path, members=20, days=5)
    for _ in range(2):
        job, _ = watch(job_create(kind=Job.Kind.IMPORT, params={"preset": "groceries", "data_dir": str(tmp_path)}).pk)
        assert job.status == "done", job.error

    assert Interaction.objects.count() == rows
    assert job.result["reports"][1]["unchanged"] == rows
