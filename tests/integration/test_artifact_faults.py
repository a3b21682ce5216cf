"""A corrupt or missing artifact on the real services, with real trained classifier versions.

Staff activating a version whose stored file is damaged or gone get a clear message in the admin and the
active version keeps serving. A machine that finds the ACTIVE version's file damaged serves without it: the
classify API answers 503 saying so, pages and the other APIs go on, and /readyz reports it.
"""

import pytest
from django.urls import reverse

from recommend.classification.training import classifier_train
from recommend.core.model_cache import clear_model_caches
from recommend.core.registry import artifact_storage, model_version_activate
from recommend.models import ModelVersion
from tests.factories import ProductFactory, StaffFactory
from tests.integration.test_classification_worker import labelled_catalog

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def machine(real_services, settings, tmp_path):
    """This process as one machine of the site: its own VAR_DIR, the shared artifact storage in tmp_path."""
    settings.VAR_DIR = tmp_path / "machine-a"
    settings.STORAGES = {
        **settings.STORAGES,
        "artifacts": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "artifacts")},
        },
        # Pages render without `collectstatic` having run (the manifest is the /readyz check's business).
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    clear_model_caches()
    yield settings
    clear_model_caches()


@pytest.fixture
def two_versions(machine):
    """v1 active and serving, v2 trained and retired: (v1, v2)."""
    labelled_catalog(per_leaf=20)
    train = {"demo": True, "epochs": 5, "config_overrides": {"validation_fraction": 0}}
    first = ModelVersion.objects.get(pk=classifier_train(**train)["version_id"])
    second = ModelVersion.objects.get(pk=classifier_train(force=True, **train)["version_id"])
    first.refresh_from_db()
    return model_version_activate(version=first), second


def classify(client):
    return client.post("/api/v1/classify/", {"title": "Nova Android Smartphone"}, format="json")


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_activating_a_damaged_version_is_refused_in_the_admin_and_the_active_one_keeps_serving(
    two_versions, client, staff_api_client, damage
):
    serving, damaged = two_versions
    assert classify(staff_api_client).json()["model_version"] == serving.version
    if damage == "missing":
        artifact_storage().delete(damaged.artifact_path)
    else:
        with artifact_storage().open(damaged.artifact_path, "wb") as handle:
            handle.write(b"\x80not a model")
    client.force_login(StaffFactory(is_superuser=True))

    page = client.post(reverse("admin:recommend_modelversion_activate", args=[damaged.pk]), follow=True)

    shown = [str(message) for message in page.context["messages"]]
    expected = "missing from the artifact storage" if damage == "missing" else "stored artifact was changed"
    assert len(shown) == 1 and "cannot be activated" in shown[0] and expected in shown[0], shown
    assert ModelVersion.objects.get(kind="classifier", status="active") == serving
    assert classify(staff_api_client).json()["model_version"] == serving.version


def test_a_machine_that_finds_the_active_artifact_damaged_serves_without_it(
    two_versions, machine, tmp_path, client, staff_api_client
):
    serving, _ = two_versions
    product = ProductFactory(title="Acme Phone")
    with artifact_storage().open(serving.artifact_path, "wb") as handle:
        handle.write(b"\x80not a model")
    machine.VAR_DIR = tmp_path / "machine-b"  # a new machine: no verified local copy to fall back on
    clear_model_caches()

    refused = classify(staff_api_client)

    assert refused.status_code == 503
    assert "cannot be loaded on this server" in refused.json()["detail"]
    assert client.get(f"/p/{product.pk}/").status_code == 200
    assert client.get(f"/api/v1/products/{product.pk}/similar/").status_code == 200
    ready = staff_api_client.get("/readyz")  # the checks are shown to staff
    models = ready.json()["checks"]["models"]
    assert ready.status_code == 503 and not models["ok"]
    assert models["problems"] == [f"classifier v{serving.version}: could not be loaded here: {mismatch(serving)}"]


def mismatch(version):
    return f"Checksum mismatch for {version}: the artifact was changed after training."
