"""The similar-items artifact of one version: product ids, vectors, text hashes and the ANN index.

Written by the build, read by serving; one version stays loaded per process. The ANN index module
imports faiss/numpy only, but is imported on first use so `manage.py check` stays light.
"""

import shutil
import tarfile
import tempfile
from pathlib import Path

import numpy as np
from django.conf import settings

from recommend.core.registry import artifact_local_path
from recommend.models import ModelVersion

ARTIFACT_NAME = "similar.tar"


class SimilarityArtifact:
    """The arrays of one version, loaded once per process (vectors memory-mapped)."""

    def __init__(self, folder: Path) -> None:
        from recommend.ml.ann_index import VectorIndex

        self.folder = folder
        self.product_ids: np.ndarray = np.load(folder / "product_ids.npy")
        self.vectors: np.ndarray = np.load(folder / "vectors.npy", mmap_mode="r")
        self.text_hashes: np.ndarray = np.load(folder / "text_hashes.npy")
        self.index = VectorIndex.load(folder / "index")
        self.row_of: dict[int, int] = {int(pk): row for row, pk in enumerate(self.product_ids)}

    @classmethod
    def write(
        cls, folder: Path, product_ids: np.ndarray, vectors: np.ndarray, hashes: np.ndarray
    ) -> "SimilarityArtifact":
        from recommend.ml.ann_index import VectorIndex

        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "product_ids.npy", product_ids)
        np.save(folder / "vectors.npy", vectors)
        np.save(folder / "text_hashes.npy", hashes)
        VectorIndex(exact_max_size=settings.SIMILAR_EXACT_MAX_SIZE).build(vectors, product_ids).save(folder / "index")
        return cls(folder)

    def pack(self, archive: Path) -> Path:
        """The folder as one tar file (the registry stores one file per version)."""
        with tarfile.open(archive, "w") as tar:
            for path in self.folder.rglob("*"):
                if path.is_file():
                    tar.add(path, arcname=str(path.relative_to(self.folder)))
        return archive

    def neighbours(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.index.search(np.asarray(vectors, dtype=np.float32), k)


_loaded: dict[int, SimilarityArtifact] = {}


def load_artifact(version: ModelVersion) -> SimilarityArtifact:
    """The version's artifact, unpacked next to its verified local copy; cached per process."""
    if version.pk not in _loaded:
        archive = artifact_local_path(version=version)
        folder = archive.parent / "unpacked"
        if not (folder / "product_ids.npy").exists():
            staging = Path(tempfile.mkdtemp(dir=archive.parent))
            with tarfile.open(archive) as tar:
                tar.extractall(staging, filter="data")
            try:
                staging.rename(folder)
            except OSError:  # another worker process unpacked it first
                shutil.rmtree(staging, ignore_errors=True)
                if not (folder / "product_ids.npy").exists():
                    raise
        _loaded.clear()  # keep one version per process: a newer one replaces it
        _loaded[version.pk] = SimilarityArtifact(folder)
    return _loaded[version.pk]
