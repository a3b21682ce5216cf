"""The active sequential model, loaded lazily once per process and swapped when a newer one is active."""

from django.conf import settings

from recommend.core.model_cache import ModelCache
from recommend.core.registry import artifact_local_path
from recommend.models import ModelVersion


def _load(version: ModelVersion):  # type: ignore[no-untyped-def]
    # torch is imported here, on first use, so `manage.py check` and migrations stay light.
    import torch

    from recommend.ml.sequential.pipeline import SequentialArtifact

    torch.set_num_threads(1)  # one request, one core: web processes serve many in parallel
    return SequentialArtifact.load(artifact_local_path(version=version), device=settings.TORCH_DEVICE)


sequential_artifacts: ModelCache[object] = ModelCache(ModelVersion.Kind.SEQUENTIAL, _load)


def active_artifact():  # type: ignore[no-untyped-def]
    """(version id, SequentialArtifact) of the active version, or (None, None) while none is active or loadable."""
    loaded = sequential_artifacts.active()
    return loaded if loaded is not None else (None, None)
