"""Redis down: pages and reads fall back to the database (the cache acts as a miss) and writes that need a
task are kept, their work queued as a deferred job that the sweep sends once the broker is back."""

import kombu.exceptions
import pytest
from django.test import override_settings

from catalog.models import Product
from config import redis_circuit
from recommend.classification import receivers as classification_receivers
from recommend.classification.tasks import classify_products
from recommend.core import jobs
from recommend.core.followups import followup_schedule
from recommend.core.jobs import DEFERRED, job_enqueue_failed, job_sweep
from recommend.models import Job
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

# Nothing listens on port 1: every Redis call fails at once with "connection refused".
DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2, "IGNORE_EXCEPTIONS": True},
    }
}


def refused(*args, **kwargs):
    raise kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")


@pytest.fixture
def broker_down(settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(jobs.current_app, "send_task", refused)
    monkeypatch.setattr(classify_products, "apply_async", refused)


def test_pages_and_reads_answer_with_redis_unreachable(client):
    category = CategoryFactory(name="Shirts", slug="shirts")
    product = ProductFactory(title="Blue shirt", category=category)
    with override_settings(CACHES=DEAD_REDIS):
        urls = [
            "/",
            f"/p/{product.pk}/",
            "/search/?q=shirt",
            f"/c/{category.pk}/shirts/",
            "/api/v1/categories/",
            f"/api/v1/products/{product.pk}/similar/",
            "/api/v1/search/?q=shirt",
        ]
        answers = {url: client.get(url).status_code for url in urls}

    assert answers == dict.fromkeys(urls, 200)


def test_a_saved_product_is_kept_and_its_classification_deferred_when_the_broker_is_down(
    broker_down, monkeypatch, staff_api_client, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(classification_receivers, "classifier_active", lambda: True)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_api_client.post("/api/v1/products/", {"sku": "S1", "title": "Blue shirt"}, format="json")

    assert response.status_code == 201
    product = Product.objects.get(sku="S1")
    job = Job.objects.get(kind=Job.Kind.CLASSIFY)
    assert job.status == Job.Status.QUEUED and job.params == {"product_ids": [product.pk]}
    assert job.message.startswith(DEFERRED) and not job_enqueue_failed(job)


def test_a_deferred_follow_up_is_sent_by_the_sweep_once_the_broker_is_back(
    broker_down, monkeypatch, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = followup_schedule(kind=Job.Kind.BUILD_SIMILAR, params={"reason": "edit"}, reason="edit")
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and job.message.startswith(DEFERRED)

    sent = []
    monkeypatch.setattr(jobs.current_app, "send_task", lambda name, args, **kw: sent.append(args))
    settings.JOB_STALE_AFTER_SECONDS = 0
    later = redis_circuit.clock() + settings.BROKER_RETRY_AFTER_SECONDS + 1  # the failed broker is tried again
    monkeypatch.setattr(redis_circuit, "clock", lambda: later)
    counts = job_sweep()

    job.refresh_from_db()
    assert counts["resent"] == 1 and sent == [[job.pk]]
    assert job.message.startswith("queued on training")


def test_a_job_staff_start_still_fails_at_once_with_the_broker_down(broker_down, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.job_create(kind=Job.Kind.BUILD_SIMILAR)
    job.refresh_from_db()

    assert job_enqueue_failed(job)


def test_a_sweep_with_the_broker_still_down_stops_at_the_first_failure(broker_down, settings, monkeypatch):
    for _ in range(5):
        Job.objects.create(kind=Job.Kind.BUILD_SIMILAR, message=f"{DEFERRED}: could not reach the task queue")
    attempts = []

    def refused_and_counted(*args, **kwargs):
        attempts.append(1)
        refused()

    monkeypatch.setattr(jobs.current_app, "send_task", refused_and_counted)
    settings.JOB_STALE_AFTER_SECONDS = 0

    counts = job_sweep()

    assert counts["resent"] == 0 and len(attempts) == 1
    assert Job.objects.filter(status=Job.Status.QUEUED).count() == 5
