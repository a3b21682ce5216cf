"""Reads of duplicates: the calibrated pair scorer and scoring of (left, right) product records."""

import functools
from typing import Any

from django.conf import settings

from recommend.core import vectors as core_vectors
from recommend.core.documents import ProductDocument


@functools.cache
def duplicate_scorer():  # type: ignore[no-untyped-def]
    """The calibrated scorer: DUPLICATE_SCORER_PATH (JSON from the benchmark) or the shipped default."""
    from recommend.ml.duplicates import DuplicateScorer  # numpy/faiss: loaded on first use

    path = settings.DUPLICATE_SCORER_PATH
    return DuplicateScorer.load(path) if path else DuplicateScorer.default()


def scorer_record(document: ProductDocument) -> dict[str, Any]:
    return {"title": document.title, "brand": document.brand, "category": list(document.category_path)}


def score_pair_records(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[dict[str, Any]]:
    """Score (left, right) records with the same scorer and threshold as the admin list."""
    if not pairs:
        return []
    scorer = duplicate_scorer()
    titles = core_vectors.encode_texts([p.get("title") or "" for pair in pairs for p in pair])
    cosines = [float(titles[2 * i] @ titles[2 * i + 1]) for i in range(len(pairs))]
    cosines = [c if a.get("title") and b.get("title") else 0.0 for c, (a, b) in zip(cosines, pairs, strict=True)]
    scores = scorer.score_pairs(pairs, cosines)
    return [{"score": round(float(s), 4), "duplicate": bool(s >= scorer.threshold)} for s in scores]
