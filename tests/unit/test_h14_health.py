"""/healthz answers without I/O; /readyz checks database, cache, broker, active models and static files, each
with its time, and answers 503 when one fails."""

import pytest
from django.test import override_settings

from recommend.core.registry import model_version_activate, model_version_create, model_version_save_artifact
from tests.unit.test_h14_redis_down import DEAD_REDIS

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, staff):
    """The checks are shown to staff only (anonymous callers get the status: tests/unit/test_h21_exposure.py)."""
    client.force_login(staff)
    return client


def test_healthz_does_no_io(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_reports_every_check(staff_client):
    response = staff_client.get("/readyz")

    body = response.json()
    assert response.status_code == 200 and body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker", "models", "static"}
    assert all(check["ok"] and "ms" in check for check in body["checks"].values())


def test_readyz_is_503_when_the_cache_is_unreachable(staff_client):
    with override_settings(CACHES=DEAD_REDIS):
        response = staff_client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["cache"]["ok"] is False
    assert response.json()["checks"]["database"]["ok"] is True


@pytest.fixture
def dead_broker(settings, monkeypatch):
    from celery import current_app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    current_app._pool = None
    monkeypatch.setattr(current_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(current_app.conf, "broker_write_url", "redis://127.0.0.1:1/0")
    yield
    monkeypatch.undo()
    current_app._pool = None


def test_readyz_is_503_when_the_broker_is_unreachable(staff_client, dead_broker):
    response = staff_client.get("/readyz")

    broker = response.json()["checks"]["broker"]
    assert response.status_code == 503
    assert broker["ok"] is False and "111" in broker["error"]


def test_readyz_is_503_when_an_active_models_artifact_is_missing(
    staff_client, tmp_path, django_capture_on_commit_callbacks
):
    source = tmp_path / "weights.bin"
    source.write_bytes(b"weights")
    version = model_version_save_artifact(version=model_version_create(kind="classifier"), local_path=source)
    version.status = "ready"
    version.save()
    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version=version)
    assert staff_client.get("/readyz").status_code == 200

    from recommend.core.registry import artifact_storage

    artifact_storage().delete(version.artifact_path)
    response = staff_client.get("/readyz")

    assert response.status_code == 503
    assert "missing" in response.json()["checks"]["models"]["problems"][0]


def test_readyz_is_503_without_a_static_manifest_when_debug_is_off(staff_client, settings, tmp_path):
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "static-empty"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    response = staff_client.get("/readyz")

    assert response.status_code == 503
    assert "collectstatic" in response.json()["checks"]["static"]["error"]
