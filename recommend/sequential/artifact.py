"""The active sequential model, loaded lazily once per process and swapped when a newer one is active."""

import threading

from django.conf import settings

from recommend.core.registry import active_version_id, artifact_local_path
from recommend.models import ModelVersion

_lock = threading.Lock()
_loaded: dict[int, object] = {}


def active_artifact():  # type: ignore[no-untyped-def]
    """(version id, SequentialArtifact) of the active version, or (None, None) while none is active."""
    version_id = active_version_id(ModelVersion.Kind.SEQUENTIAL)
    if version_id is None:
        return None, None
    artifact = _loaded.get(version_id)
    if artifact is None:
        with _lock:
            artifact = _loaded.get(version_id)
            if artifact is None:
                # torch is imported here, on first use, so `manage.py check` and migrations stay light.
                import torch

                from recommend.ml.sequential.pipeline import SequentialArtifact

                torch.set_num_threads(1)  # one request, one core: web processes serve many in parallel
                version = ModelVersion.objects.get(pk=version_id)
                artifact = SequentialArtifact.load(artifact_local_path(version=version), device=settings.TORCH_DEVICE)
                _loaded.clear()  # keep one version in memory
                _loaded[version_id] = artifact
    return version_id, artifact
