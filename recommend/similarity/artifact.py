"""The similar-items artifact of one version: product ids, vectors and the ANN index over them.

Written by the build, read by serving through the core model cache (the active version stays
loaded). The ANN index module imports faiss, so it is imported on first use.
"""

import shutil
import tarfile
import tempfile
from pathlib import Path

import numpy as np
from django.conf import settings

from recommend.core.model_cache import ModelCache
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
        self.index = VectorIndex.load(folder / "index")
        self.row_of: dict[int, int] = {int(pk): row for row, pk in enumerate(self.product_ids)}

    @classmethod
    def write(cls, folder: Path, product_ids: np.ndarray, vectors: np.ndarray) -> "SimilarityArtifact":
        from recommend.ml.ann_index import VectorIndex

        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "product_ids.npy", product_ids)
        np.save(folder / "vectors.npy", vectors)
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


def _unpack(version: ModelVersion) -> SimilarityArtifact:
    """The version's artifact, unpacked next to its verified local copy (once per machine)."""
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
    return SimilarityArtifact(folder)


similarity_artifacts: ModelCache[SimilarityArtifact] = ModelCache(ModelVersion.Kind.SIMILAR, _unpack)


def load_artifact(version: ModelVersion) -> SimilarityArtifact:
    """The version's artifact, loaded once per process."""
    return similarity_artifacts.get(version)


def active_artifact() -> tuple[int, SimilarityArtifact] | None:
    """(version id, artifact) of the active similar-items version, or None."""
    return similarity_artifacts.active()
