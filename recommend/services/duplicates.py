"""Near-duplicate listings: the scorer shared by the admin list and `manage.py score_pairs`, and staff decisions."""

import functools
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.models import Product
from catalog.services import products_merge
from recommend.models import DuplicatePair
from recommend.services.product_text import ProductDocument

PAIR_FIELDS = ("title", "brand", "price", "description", "category")


@functools.cache
def duplicate_scorer():  # type: ignore[no-untyped-def]
    """The calibrated scorer: DUPLICATE_SCORER_PATH (JSON from the benchmark) or the shipped default."""
    from recommend.ml.duplicates import DuplicateScorer

    path = settings.DUPLICATE_SCORER_PATH
    return DuplicateScorer.load(path) if path else DuplicateScorer.default()


def scorer_record(document: ProductDocument) -> dict[str, Any]:
    return {"title": document.title, "brand": document.brand, "category": list(document.category_path)}


def clean_pair_side(value: Any, side: str, line: int) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"line {line}: {side!r} must be a JSON object")
    record = {key: value.get(key) for key in PAIR_FIELDS if value.get(key) not in (None, "")}
    if "price" in record:
        try:
            record["price"] = float(record["price"])
        except (TypeError, ValueError):
            raise ValueError(f"line {line}: {side}.price {record['price']!r} is not a number") from None
    if isinstance(record.get("category"), str):
        record["category"] = [part.strip() for part in record["category"].split(">") if part.strip()]
    return record


def score_pair_records(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[dict[str, Any]]:
    """Score (left, right) records with the same scorer and threshold as the admin list."""
    if not pairs:
        return []
    from recommend.services.similarity import encode_texts

    scorer = duplicate_scorer()
    titles = encode_texts([p.get("title") or "" for pair in pairs for p in pair])
    cosines = [float(titles[2 * i] @ titles[2 * i + 1]) for i in range(len(pairs))]
    cosines = [c if a.get("title") and b.get("title") else 0.0 for c, (a, b) in zip(cosines, pairs, strict=True)]
    scores = scorer.score_pairs(pairs, cosines)
    return [{"score": round(float(s), 4), "duplicate": bool(s >= scorer.threshold)} for s in scores]


def score_pairs_file(*, source: Path, target: Path, batch: int = 256) -> int:
    """Read JSONL pairs, write one {"score", "duplicate"} line per input line. Returns the count."""
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for line_number, line in enumerate(source.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"line {line_number}: invalid JSON ({error.msg})") from None
        if not isinstance(data, dict):
            raise ValueError(f"line {line_number}: expected an object with 'left' and 'right'")
        pairs.append(
            (
                clean_pair_side(data.get("left"), "left", line_number),
                clean_pair_side(data.get("right"), "right", line_number),
            )
        )
    with open(target, "w") as out:
        for start in range(0, len(pairs), batch):
            for result in score_pair_records(pairs[start : start + batch]):
                out.write(json.dumps(result) + "\n")
    return len(pairs)


@transaction.atomic
def duplicate_merge(*, pair: DuplicatePair, keep: Product, user: Any = None) -> Product:
    """Merge the other listing of the pair into `keep` (interactions move, its URL redirects)."""
    if keep.pk not in (pair.left_id, pair.right_id):
        raise ValueError("The product to keep must be one of the pair.")
    if pair.status != DuplicatePair.Status.OPEN:
        raise ValueError(f"This pair is already {pair.get_status_display().lower()}.")
    other = pair.right if keep.pk == pair.left_id else pair.left
    products_merge(source=other, target=keep)
    pair.status, pair.decided_by, pair.decided_at = DuplicatePair.Status.MERGED, user, timezone.now()
    pair.save(update_fields=["status", "decided_by", "decided_at"])
    # Other open pairs that involve the merged listing are moot now.
    DuplicatePair.objects.filter(status=DuplicatePair.Status.OPEN).filter(left=other).delete()
    DuplicatePair.objects.filter(status=DuplicatePair.Status.OPEN).filter(right=other).delete()
    return keep


def duplicate_dismiss(*, pair: DuplicatePair, user: Any = None) -> DuplicatePair:
    """ "Not a duplicate": remembered, so later rebuilds do not list the pair again."""
    pair.status, pair.decided_by, pair.decided_at = DuplicatePair.Status.NOT_DUPLICATE, user, timezone.now()
    pair.save(update_fields=["status", "decided_by", "decided_at"])
    return pair
