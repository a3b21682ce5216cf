"""One in-process model cache for every kind: load the active version lazily, once per process.

    classifiers = ModelCache(ModelVersion.Kind.CLASSIFIER, load=lambda version: MyModel.load(...))
    loaded = classifiers.active()  # (version id, model) or None; notices a newly activated version

`active()` asks `registry.active_version_id(kind)` (a cache read, cheap per request), so a version
activated by any process is picked up without a restart; the version it replaces is dropped from
memory. Loading runs under a per-cache lock, so concurrent requests of a threaded server load a
version once. Entries are keyed by version id and artifact checksum, never by id alone (ids restart
in tests that roll back). Nothing is loaded at import time.
"""

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from recommend.core.registry import active_version_id
from recommend.models import ModelVersion

Loaded = TypeVar("Loaded")
CacheKey = tuple[int, str]

_caches: list["ModelCache[object]"] = []


class ModelCache(Generic[Loaded]):
    """Loaded models of one kind: the active one, plus any version asked for by `get` until the next switch."""

    def __init__(self, kind: str, load: Callable[[ModelVersion], Loaded], keep: int = 2) -> None:
        self.kind = kind
        self.load = load
        self.keep = keep  # at most this many versions in memory (the active one and one being compared)
        self._lock = threading.Lock()
        self._loaded: dict[CacheKey, Loaded] = {}
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
        model = self.get(version)
        with self._lock:
            # Only the active model stays in memory; a retired one is not needed any more.
            for stale in [key for key in self._loaded if key != self._key(version)]:
                del self._loaded[stale]
        return version_id, model

    def clear(self) -> None:
        with self._lock:
            self._loaded.clear()


def clear_model_caches() -> None:
    """Forget every loaded model of every kind (tests; a process that must reload from storage)."""
    for cache in _caches:
        cache.clear()
