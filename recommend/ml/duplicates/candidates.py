"""Candidate mining in a catalog: nearest embeddings first, then the feature scorer on those pairs only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .features import Product
from .scorer import DuplicateScorer


def mine_duplicate_candidates(
    products: Sequence[Product],
    vectors: np.ndarray,
    scorer: DuplicateScorer | None = None,
    *,
    ids: Sequence[Any] | None = None,
    k: int = 10,
    min_cosine: float = 0.75,
    threshold: float | None = None,
) -> list[tuple[Any, Any, float]]:
    """Likely duplicate pairs ``(id_a, id_b, score)`` in a catalog, best first.

    Only the ``k`` nearest title embeddings of each product are scored (ANN index, so
    O(n k) pairs instead of O(n^2)); pairs below ``min_cosine`` are skipped before the
    slower string features. ``vectors`` are the title embeddings, row-aligned with
    ``products``.
    """
    from recommend.ml.ann_index import VectorIndex

    scorer = scorer or DuplicateScorer.default()
    threshold = scorer.threshold if threshold is None else threshold
    ids = list(range(len(products))) if ids is None else list(ids)
    index = VectorIndex().build(vectors)
    nbrs, sims = index.search(vectors, min(k + 1, len(products)))
    cand: dict[tuple[int, int], float] = {}
    for i in range(len(products)):
        for j, s in zip(nbrs[i], sims[i], strict=True):
            if j < 0 or j == i or s < min_cosine:
                continue
            cand[(min(i, int(j)), max(i, int(j)))] = float(s)
    keys = list(cand)
    if not keys:
        return []
    scores = scorer.score_pairs([(products[i], products[j]) for i, j in keys], [cand[key] for key in keys])
    found = [(ids[i], ids[j], float(s)) for (i, j), s in zip(keys, scores, strict=True) if s >= threshold]
    return sorted(found, key=lambda t: -t[2])
