"""Nearest-neighbour search over L2-normalised vectors (cosine = inner product).

One interface, two back-ends, picked by catalog size unless forced:

* ``exact``: FAISS ``IndexFlatIP``, a brute-force BLAS scan. Below ~50k vectors a
  query costs well under a few milliseconds and recall is 1.0 by definition, so
  an approximate structure would only add build time and error.
* ``hnsw``: FAISS ``IndexHNSWFlat`` with the inner-product metric. Defaults
  (M=32, efConstruction=80, efSearch=128) were chosen on 1M clustered 384-d
  vectors (see ``benchmarks/similarity.py``): recall@10 >= 0.95 against exact
  search at ~1 ms/query on 2 cores. M=32 costs ~M*2*4 bytes of graph per vector
  (~0.25 GB per million) on top of the 1.5 GB of raw float32 vectors.

Ids are arbitrary (ints or strings); FAISS only sees row positions, which we map back.
Missing results (k larger than the index) come back as id ``None``/-1 with score -inf.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np

Method = Literal["auto", "exact", "hnsw"]

EXACT_MAX_SIZE = 50_000


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Row-wise L2 normalisation to contiguous float32 (zero rows stay zero)."""
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


class VectorIndex:
    """Cosine-similarity k-NN index with ``build``/``search``/``save``/``load``."""

    def __init__(
        self,
        method: Method = "auto",
        *,
        exact_max_size: int = EXACT_MAX_SIZE,
        hnsw_m: int = 32,
        ef_construction: int = 80,
        ef_search: int = 128,
        normalize_input: bool = True,
    ) -> None:
        self.method: Method = method
        self.exact_max_size = exact_max_size
        self.hnsw_m = hnsw_m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.normalize_input = normalize_input
        self._index: faiss.Index | None = None
        self._ids: np.ndarray = np.empty(0, dtype=np.int64)
        self.kind: str | None = None  # resolved back-end, "exact" or "hnsw"

    def __len__(self) -> int:
        return 0 if self._index is None else int(self._index.ntotal)

    @property
    def dimension(self) -> int | None:
        return None if self._index is None else int(self._index.d)

    @property
    def ids(self) -> np.ndarray:
        return self._ids

    def _prepare(self, vectors: np.ndarray) -> np.ndarray:
        v = np.atleast_2d(vectors)
        return normalize(v) if self.normalize_input else np.ascontiguousarray(v, dtype=np.float32)

    def build(self, vectors: np.ndarray, ids: Any | None = None) -> VectorIndex:
        """Index ``vectors`` (n, d); ``ids`` defaults to ``range(n)``."""
        v = self._prepare(vectors)
        n, d = v.shape
        ids_arr = np.arange(n, dtype=np.int64) if ids is None else np.asarray(ids)
        if len(ids_arr) != n:
            raise ValueError(f"{len(ids_arr)} ids for {n} vectors")
        if ids_arr.dtype.kind in "iu":
            ids_arr = ids_arr.astype(np.int64)
        else:  # strings/UUIDs: keep as Python objects so they round-trip unchanged
            ids_arr = np.array([str(x) for x in ids_arr], dtype=object)
        kind = self.method
        if kind == "auto":
            kind = "exact" if n <= self.exact_max_size else "hnsw"
        if kind == "exact":
            index: faiss.Index = faiss.IndexFlatIP(d)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(d, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = self.ef_construction
            index.hnsw.efSearch = self.ef_search
        else:
            raise ValueError(f"unknown method {kind!r}")
        if n:
            index.add(v)
        self._index, self._ids, self.kind = index, ids_arr, kind
        return self

    def search(self, queries: np.ndarray, k: int, ef_search: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` neighbours per query: ``(ids, scores)``, each shaped (n_queries, k).

        Scores are cosine similarities (inner products of unit vectors), best first.
        """
        if self._index is None:
            raise RuntimeError("index is empty: call build() or load() first")
        q = self._prepare(queries)
        if self.kind == "hnsw":
            # efSearch must be >= k or HNSW silently returns fewer good results.
            self._index.hnsw.efSearch = max(ef_search or self.ef_search, k)  # type: ignore[attr-defined]
        scores, pos = self._index.search(q, k)
        missing = pos < 0
        if self._ids.dtype == object:
            out_ids = np.empty(pos.shape, dtype=object)
            out_ids[~missing] = self._ids[pos[~missing]]
            out_ids[missing] = None
        else:
            out_ids = np.where(missing, -1, self._ids[np.maximum(pos, 0)])
        scores = np.where(missing, -np.inf, scores).astype(np.float32)
        return out_ids, scores

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the index into directory ``path`` (index.faiss, ids, meta.json)."""
        if self._index is None:
            raise RuntimeError("nothing to save")
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self._index, str(p / "index.faiss"))
        string_ids = self._ids.dtype == object
        if string_ids:
            (p / "ids.json").write_text(json.dumps(list(self._ids)))
        else:
            np.save(p / "ids.npy", self._ids)
        meta = {
            "kind": self.kind,
            "method": self.method,
            "ef_search": self.ef_search,
            "hnsw_m": self.hnsw_m,
            "ef_construction": self.ef_construction,
            "normalize_input": self.normalize_input,
            "string_ids": string_ids,
        }
        (p / "meta.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> VectorIndex:
        p = Path(path)
        meta = json.loads((p / "meta.json").read_text())
        self = cls(
            meta["method"],
            hnsw_m=meta["hnsw_m"],
            ef_construction=meta["ef_construction"],
            ef_search=meta["ef_search"],
            normalize_input=meta["normalize_input"],
        )
        self._index = faiss.read_index(str(p / "index.faiss"))
        self.kind = meta["kind"]
        if meta["string_ids"]:
            self._ids = np.array(json.loads((p / "ids.json").read_text()), dtype=object)
        else:
            self._ids = np.load(p / "ids.npy")
        return self
