"""Reads of duplicates: the active matcher's scorer and scoring of (left, right) product records."""

from typing import Any

from recommend.core import vectors as core_vectors
from recommend.core.documents import ProductDocument
from recommend.duplicates.matchers import active_matcher


def duplicate_scorer():  # type: ignore[no-untyped-def]
    """The fast first-stage scorer (catalog mining): the active version's, else the shipped default."""
    return active_matcher().first


def scorer_record(document: ProductDocument) -> dict[str, Any]:
    return {"title": document.title, "brand": document.brand, "category": list(document.category_path)}


def score_pair_records(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[dict[str, Any]]:
    """Score (left, right) records with the active matcher and its threshold (the admin list's)."""
    if not pairs:
        return []
    matcher = active_matcher()
    # The matcher embeds what it was trained on (the whole record) with the process's encoder.
    scores = matcher.score_pairs(pairs, encoder=core_vectors.encode_texts)
    return [{"score": round(float(s), 4), "duplicate": bool(s >= matcher.threshold)} for s in scores]
