"""The model registry: versions, artifacts through the `artifacts` storage, atomic activation.

Artifacts are written once per version through Django's storage API (local folder by default,
any django-storages backend in production) with a SHA-256 recorded on the ModelVersion. Each
process reads them through `artifact_local_path`, which keeps a verified local copy per version.
"""

import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from recommend.core.job_context import current_job_id
from recommend.models import ModelVersion

ACTIVE_CACHE_KEY = "recommend:active:{kind}"


class ArtifactChecksumError(RuntimeError):
    pass


class ArtifactUnusable(ValueError):
    """Activation refused: the version's artifact is missing or does not match its checksum."""


def artifact_storage() -> Storage:
    return storages["artifacts"]


def sha256_of(path: Path) -> str:
    with open(path, "rb") as handle:
        return sha256_of_stream(handle)


def sha256_of_stream(handle: IO[bytes]) -> str:
    """SHA-256 of an open binary file (local or from the artifact storage), read in 1 MiB chunks."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


@transaction.atomic
def model_version_create(
    *, kind: str, params: dict[str, Any] | None = None, dataset_fingerprint: str = ""
) -> ModelVersion:
    # Lock the kind's rows so two trainers never pick the same version number.
    latest = ModelVersion.objects.select_for_update().filter(kind=kind).aggregate(v=Max("version"))["v"] or 0
    return ModelVersion.objects.create(
        kind=kind,
        version=latest + 1,
        params=params or {},
        dataset_fingerprint=dataset_fingerprint,
        job_id=current_job_id.get(),
    )


def model_versions_orphaned_fail(*, job_id: int, reason: str) -> int:
    """Mark failed the versions an earlier run of job `job_id` left "training" (its worker died mid-run).

    Called when the job is claimed again or swept; the active version was never touched by that run.
    """
    orphans = ModelVersion.objects.filter(job_id=job_id, status=ModelVersion.Status.TRAINING)
    return orphans.update(status=ModelVersion.Status.FAILED, metrics={"failure": reason[:500]})


def model_version_save_artifact(*, version: ModelVersion, local_path: Path) -> ModelVersion:
    """Upload a finished artifact (a file) for `version` and record where it is and its checksum."""
    name = f"{version.kind}/v{version.version}/{local_path.name}"
    storage = artifact_storage()
    if storage.exists(name):
        storage.delete(name)
    with open(local_path, "rb") as handle:
        saved = storage.save(name, File(handle))
    version.artifact_path = saved
    version.artifact_checksum = sha256_of(local_path)
    version.save(update_fields=["artifact_path", "artifact_checksum"])
    return version


def model_version_mark(*, version: ModelVersion, status: str, metrics: dict[str, Any] | None = None) -> ModelVersion:
    version.status = status
    if metrics is not None:
        version.metrics = metrics
    version.save(update_fields=["status", "metrics"])
    return version


@transaction.atomic
def model_version_activate(*, version: ModelVersion) -> ModelVersion:
    """Make `version` the one active version of its kind; the previous one is retired. One transaction."""
    if version.status not in (ModelVersion.Status.READY, ModelVersion.Status.RETIRED, ModelVersion.Status.ACTIVE):
        raise ValueError(f"Only a ready or retired version can be activated, not a {version.status} one.")
    if version.artifact_path:
        # Before anything changes: a missing or altered file is refused and the current version keeps serving.
        # The stored file is what every other machine will load, so it is checked even when a verified local
        # copy exists here.
        try:
            artifact_verify_stored(version=version)
            artifact_local_path(version=version)
        except (FileNotFoundError, ArtifactChecksumError) as error:
            raise ArtifactUnusable(f"{version} cannot be activated: {error}") from error
    ModelVersion.objects.select_for_update().filter(kind=version.kind, status=ModelVersion.Status.ACTIVE).exclude(
        pk=version.pk
    ).update(status=ModelVersion.Status.RETIRED)
    version.status = ModelVersion.Status.ACTIVE
    version.activated_at = timezone.now()
    version.save(update_fields=["status", "activated_at"])
    # Forget the cached id now (this process) and again after commit (others may re-read the old row meanwhile).
    key = ACTIVE_CACHE_KEY.format(kind=version.kind)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))
    return version


def model_version_rollback(*, kind: str) -> ModelVersion:
    """Re-activate the most recently retired version of `kind`."""
    previous = (
        ModelVersion.objects.filter(kind=kind, status=ModelVersion.Status.RETIRED).order_by("-activated_at").first()
    )
    if previous is None:
        raise ValueError(f"No earlier {kind} version to roll back to.")
    return model_version_activate(version=previous)


def active_version_id(kind: str) -> int | None:
    """The active version's id, from the cache (cheap enough to call on every request)."""
    key = ACTIVE_CACHE_KEY.format(kind=kind)
    value = cache.get(key)
    if value is None:
        value = (
            ModelVersion.objects.filter(kind=kind, status=ModelVersion.Status.ACTIVE)
            .values_list("pk", flat=True)
            .first()
            or 0
        )
        cache.set(key, value, 30)
    return value or None


def artifact_verify_stored(*, version: ModelVersion) -> None:
    """Raise unless the artifact storage holds the version's file with its recorded checksum (streamed)."""
    if not version.artifact_checksum:
        raise ArtifactChecksumError(f"{version} has no recorded checksum: its artifact cannot be verified.")
    storage = artifact_storage()
    if not storage.exists(version.artifact_path):
        raise FileNotFoundError(f"{version.artifact_path} is missing from the artifact storage.")
    with storage.open(version.artifact_path, "rb") as handle:
        stored_checksum = sha256_of_stream(handle)
    if stored_checksum != version.artifact_checksum:
        raise ArtifactChecksumError(f"Checksum mismatch for {version}: the stored artifact was changed after training.")


def artifact_local_path(*, version: ModelVersion) -> Path:
    """A verified local copy of the version's artifact, downloaded once per machine."""
    if not version.artifact_path:
        raise FileNotFoundError(f"{version} has no artifact.")
    if not version.artifact_checksum:
        # Only artifact_store records a path, always with its checksum: an empty one was written by hand or
        # by something else, and an unverified file must never be unpickled.
        raise ArtifactChecksumError(f"{version} has no recorded checksum: its artifact cannot be verified.")
    local = (
        Path(settings.VAR_DIR) / "model_cache" / version.kind / f"v{version.version}" / Path(version.artifact_path).name
    )
    if local.exists() and sha256_of(local) == version.artifact_checksum:
        return local
    local.parent.mkdir(parents=True, exist_ok=True)
    with (
        artifact_storage().open(version.artifact_path, "rb") as source,
        tempfile.NamedTemporaryFile(dir=local.parent, delete=False) as target,
    ):
        shutil.copyfileobj(source, target)
    temporary = Path(target.name)
    if sha256_of(temporary) != version.artifact_checksum:
        temporary.unlink()
        raise ArtifactChecksumError(f"Checksum mismatch for {version}: the artifact was changed after training.")
    temporary.replace(local)  # atomic: readers never see a half-written file
    return local
