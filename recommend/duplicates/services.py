"""Near-duplicate listings (writes): mining candidate pairs, scoring a pairs file, staff decisions, group merges."""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.models import Interaction, Product
from catalog.services import products_merge
from catalog.signals import products_changed
from recommend.core.documents import ProductDocument
from recommend.duplicates.selectors import duplicate_scorer, score_pair_records, scorer_record
from recommend.models import DuplicatePair, ModelVersion

PAIR_FIELDS = ("title", "brand", "price", "description", "category")


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


def duplicates_find(*, documents: Sequence[ProductDocument], vectors: np.ndarray, version: ModelVersion) -> int:
    """Store likely duplicate pairs; pairs staff already decided on keep their decision."""
    from recommend.ml.duplicates import mine_duplicate_candidates  # faiss: loaded on first use

    records = [scorer_record(d) for d in documents]
    prices = dict(Product.objects.filter(pk__in=[d.product_id for d in documents]).values_list("pk", "price"))
    for record, document in zip(records, documents, strict=True):
        record["price"] = float(prices[document.product_id]) if prices.get(document.product_id) is not None else None
    found = mine_duplicate_candidates(
        records, vectors, duplicate_scorer(), ids=[d.product_id for d in documents], k=settings.DUPLICATE_NEIGHBOURS
    )
    decided = set(DuplicatePair.objects.exclude(status=DuplicatePair.Status.OPEN).values_list("left_id", "right_id"))
    pairs = [
        DuplicatePair(left_id=min(a, b), right_id=max(a, b), score=score, model_version=version)
        for a, b, score in found
        if (min(a, b), max(a, b)) not in decided
    ]
    with transaction.atomic():
        DuplicatePair.objects.filter(status=DuplicatePair.Status.OPEN).delete()
        DuplicatePair.objects.bulk_create(pairs, ignore_conflicts=True, batch_size=2000)
    return len(pairs)


@transaction.atomic
def duplicate_group_merge(*, products: Sequence[Product], keep: Product, user: Any = None) -> dict[str, Any]:
    """Merge every other listing of a group into `keep`; returns the record `duplicate_group_merge_undo` needs."""
    if keep.pk not in {p.pk for p in products}:
        raise ValueError("The product to keep must be one of the group.")
    others = [p for p in products if p.pk != keep.pk]
    ids = [p.pk for p in products]
    pairs = DuplicatePair.objects.filter(left_id__in=ids, right_id__in=ids)
    record: dict[str, Any] = {
        "keep": keep.pk,
        "merged": [
            {
                "product": other.pk,
                "interactions": list(Interaction.objects.filter(product=other).values_list("pk", flat=True)),
                "redirected": list(Product.objects.filter(merged_into=other).values_list("pk", flat=True)),
            }
            for other in others
        ],
        "pairs": [[pair.pk, pair.left_id, pair.right_id, pair.score, pair.status] for pair in pairs],
    }
    for other in others:
        products_merge(source=other, target=keep)
    now = timezone.now()
    pairs.filter(status=DuplicatePair.Status.OPEN).update(
        status=DuplicatePair.Status.MERGED, decided_by=user if user and user.pk else None, decided_at=now
    )
    return record


@transaction.atomic
def duplicate_group_merge_undo(*, record: dict[str, Any]) -> list[int]:
    """Put a merged group back as it was: listings shown again, their interactions back, the pairs open."""
    restored = []
    for merged in record["merged"]:
        product = Product.objects.filter(pk=merged["product"]).first()
        if product is None:
            continue
        Interaction.objects.filter(pk__in=merged["interactions"]).update(product=product)
        Product.objects.filter(pk__in=merged["redirected"]).update(merged_into=product)
        Product.objects.filter(pk=product.pk).update(merged_into=None, is_active=True)
        restored.append(product.pk)
    for _pk, left, right, score, status in record["pairs"]:
        defaults: dict[str, Any] = {"score": score, "status": status}
        if status == DuplicatePair.Status.OPEN:
            defaults |= {"decided_by": None, "decided_at": None}
        DuplicatePair.objects.update_or_create(left_id=left, right_id=right, defaults=defaults)
    ids = [*restored, record["keep"]]
    transaction.on_commit(lambda: products_changed.send(sender=Product, product_ids=ids))
    return restored
