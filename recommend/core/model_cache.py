"""One in-process model cache for every kind: load the active version lazily, once per process.

    classifiers = ModelCache(ModelVersion.Kind.CLASSIFIER, load=lambda version: MyModel.load(...))
    loaded = classifiers.active()  # (version id, model) or None; notices a newly activated version

`active()` asks `registry.active_version_id(kind)` (a cache read, cheap per request), so a version
activated by any process is picked up without a restart; the version it replaces is dropped from
memory. Loading runs under a per-cache lock, so concurrent requests of a threaded server load a
version once. Entries are keyed by version id and artifact checksum, never by id alone (ids restart
in tests that roll back). Nothing is loaded at import time.

An active version whose artifact is missing or fails its checksum on this machine is served as if none were
active (callers fall back: popularity, lexical search, 503 for the classify API), logged as an error and
retried after UNUSABLE_RETRY_SECONDS, so a damaged file neither fails every request nor is re-downloaded
on each one; `/readyz` reports it.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from recommend.core.registry import ArtifactChecksumError, active_version_id
from recommend.models import ModelVersion

Loaded = TypeVar("Loaded")
CacheKey = tuple[int, str]

_caches: list["ModelCache[object]"] = []
logger = logging.getLogger(__name__)
UNUSABLE_RETRY_SECONDS = 30.0


class ModelCache(Generic[Loaded]):
    """Loaded models of one kind: the active one, plus any version asked for by `get` until the next switch."""

    def __init__(self, kind: str, load: Callable[[ModelVersion], Loaded], keep: int = 2) -> None:
        self.kind = kind
        self.load = load
        self.keep = keep  # at most this many versions in memory (the active one and one being compared)
        self._lock = threading.Lock()
        self._loaded: dict[CacheKey, Loaded] = {}
        self._unusable: dict[CacheKey, tuple[float, str]] = {}  # artifacts that failed to load here: when, why
        _caches.append(self)  # type: ignore[arg-type]

    @staticmethod
    def _key(version: ModelVersion) -> CacheKey:
        return (version.pk, version.artifact_checksum)

    def get(self, version: ModelVersion) -> Loaded:
        """This version's model, loaded on first use."""
        key = self._key(version)
        with self._lock:
            if key not in self._loaded:
                while len(self._loaded) >= self.keep:
                    del self._loaded[next(iter(self._loaded))]  # the oldest loaded first
                self._loaded[key] = self.load(version)
            return self._loaded[key]

    def active(self) -> tuple[int, Loaded] | None:
        """(version id, model) of the kind's active version, or None when there is none."""
        version_id = active_version_id(self.kind)
        if version_id is None:
            return None
        with self._lock:
            for (pk, _checksum), model in self._loaded.items():
                if pk == version_id:
                    return version_id, model
        version = ModelVersion.objects.filter(pk=version_id).first()
        if version is None:  # deleted since the cached lookup
            return None
        key = self._key(version)
        failed = self._unusable.get(key)
        if failed is not None and time.monotonic() - failed[0] < UNUSABLE_RETRY_SECONDS:
            return None
        try:
            model = self.get(version)
        except (FileNotFoundError, ArtifactChecksumError) as error:
            self._unusable[key] = (time.monotonic(), str(error))
            logger.error("the active %s cannot be loaded here; serving without it: %s", version, error)
            return None
        self._unusable.pop(key, None)
        with self._lock:
            # Only the active model stays in memory; a retired one is not needed any more.
            for stale in [other for other in self._loaded if other != key]:
                del self._loaded[stale]
        return version_id, model

    def clear(self) -> None:
        with self._lock:
            self._loaded.clear()
            self._unusable.clear()


def unusable_artifacts() -> dict[CacheKey, str]:
    """{(version id, checksum): error} of the active versions this process could not load (for /readyz)."""
    return {key: why for cache in _caches for key, (_, why) in list(cache._unusable.items())}


def clear_model_caches() -> None:
    """Forget every loaded model of every kind (tests; a process that must reload from storage)."""
    for cache in _caches:
        cache.clear()
