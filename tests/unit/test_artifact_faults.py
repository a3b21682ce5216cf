"""A damaged artifact store: activation checks the stored file itself, serving degrades instead of failing."""

import pytest

from recommend.core.model_cache import ModelCache
from recommend.core.registry import (
    ArtifactUnusable,
    artifact_local_path,
    artifact_storage,
    model_version_activate,
    model_version_create,
    model_version_mark,
    model_version_save_artifact,
)
from recommend.models import ModelVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready_version(tmp_path, settings):
    settings.VAR_DIR = tmp_path / "var"
    settings.STORAGES = {
        **settings.STORAGES,
        "artifacts": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "artifacts")},
        },
    }

    def make(content: str, kind: str = "classifier") -> ModelVersion:
        source = tmp_path / f"{content}.bin"
        source.write_bytes(content.encode())
        version = model_version_save_artifact(version=model_version_create(kind=kind), local_path=source)
        return model_version_mark(version=version, status="ready")

    return make


def tamper(version: ModelVersion) -> None:
    with artifact_storage().open(version.artifact_path, "wb") as handle:
        handle.write(b"tampered")


def test_activation_checks_the_stored_file_even_when_a_verified_local_copy_exists(ready_version):
    serving = model_version_activate(version=ready_version("good"))
    rolled_back_to = ready_version("earlier")
    artifact_local_path(version=rolled_back_to)  # this machine served it before: a good local copy
    tamper(rolled_back_to)  # ...but every other machine would load the stored file

    with pytest.raises(ArtifactUnusable, match="stored artifact was changed"):
        model_version_activate(version=rolled_back_to)

    serving.refresh_from_db()
    assert serving.status == "active"


def test_an_active_version_that_cannot_be_loaded_is_served_as_none_and_loaded_once_restored(ready_version):
    loads = []
    cache = ModelCache(
        "damaged_kind", load=lambda version: loads.append(version.pk) or artifact_local_path(version=version)
    )
    version = model_version_activate(version=ready_version("weights", kind="damaged_kind"))
    for copy in artifact_local_path(version=version).parent.iterdir():
        copy.unlink()  # a machine that never loaded it...
    tamper(version)  # ...finds the stored file damaged

    assert cache.active() is None and cache.active() is None
    assert loads == [version.pk]  # tried once; not again on every request (UNUSABLE_RETRY_SECONDS)

    with artifact_storage().open(version.artifact_path, "wb") as handle:
        handle.write(b"weights")  # staff restore the file
    cache.clear()

    version_id, path = cache.active()
    assert version_id == version.pk and path.read_bytes() == b"weights"
