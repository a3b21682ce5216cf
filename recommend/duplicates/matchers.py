"""Reads of the active duplicate matcher: the `duplicate_scorer` model version, or the shipped default.

Loaded once per process and version; a newer active version (cheap cached id check) is
picked up on the next call without a restart.
"""

import tarfile
import threading
from pathlib import Path
from typing import Any

from django.conf import settings

from recommend.core.registry import active_version_id, artifact_local_path
from recommend.models import ModelVersion

_lock = threading.Lock()
_loaded: dict[str, Any] = {}


def matcher_unpack(*, version: ModelVersion) -> Path:
    """The version's artifact (a tar of the matcher folder) unpacked next to its verified local copy."""
    archive = artifact_local_path(version=version)
    target = archive.parent / "matcher"
    marker = target / ".checksum"
    if not marker.exists() or marker.read_text() != version.artifact_checksum:
        with tarfile.open(archive) as bundle:
            bundle.extractall(target, filter="data")
        marker.write_text(version.artifact_checksum)
    return target


def matcher_for_version(*, version: ModelVersion) -> Any:
    from recommend.ml.duplicates.training import Matcher

    return Matcher.load(matcher_unpack(version=version), device=settings.TORCH_DEVICE)


def default_matcher() -> Any:
    """DUPLICATE_SCORER_PATH (a scorer JSON) or the shipped out-of-the-box scorer, as a one-stage matcher."""
    from recommend.ml.duplicates import DuplicateScorer
    from recommend.ml.duplicates.training import Matcher

    path = settings.DUPLICATE_SCORER_PATH
    return Matcher(DuplicateScorer.load(path) if path else DuplicateScorer.default(), None, {"method": "default"})


def active_matcher() -> Any:
    """The matcher `score_pairs` and the admin list use: the active version, else the default."""
    version_id = active_version_id(ModelVersion.Kind.DUPLICATE_SCORER)
    key = f"v{version_id}" if version_id else "default"
    with _lock:
        if key not in _loaded:
            _loaded.clear()  # one matcher per process: an older one is not used again
            if version_id:
                version = ModelVersion.objects.get(pk=version_id)
                _loaded[key] = matcher_for_version(version=version)
                _loaded[key].meta["model_version"] = version.pk
            else:
                _loaded[key] = default_matcher()
        return _loaded[key]
