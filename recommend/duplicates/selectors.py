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


def duplicate_groups(*, min_score: float, limit: int = 50) -> list[dict[str, Any]]:
    """Open pairs at or above `min_score` joined into groups of listings that match each other.

    A triple A~B, B~C, A~C is one group of three (not three pairs), best-scoring group first:
    [{"products": [Product, ...], "pairs": [DuplicatePair, ...], "score": best pair score}].
    """
    from catalog.models import Product
    from recommend.models import DuplicatePair

    pairs = list(
        DuplicatePair.objects.filter(status=DuplicatePair.Status.OPEN, score__gte=min_score).order_by("-score")
    )
    parent: dict[int, int] = {}

    def find(node: int) -> int:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for pair in pairs:
        parent[find(pair.left_id)] = find(pair.right_id)
    grouped: dict[int, list[Any]] = {}
    for pair in pairs:
        grouped.setdefault(find(pair.left_id), []).append(pair)
    ordered = sorted(grouped.values(), key=lambda group: -group[0].score)[:limit]
    ids = {pk for group in ordered for pair in group for pk in (pair.left_id, pair.right_id)}
    products = Product.objects.select_related("brand", "category").prefetch_related("attribute_values__attribute")
    by_id = products.in_bulk(ids)
    return [
        {
            "products": [by_id[pk] for pk in sorted({p for pair in group for p in (pair.left_id, pair.right_id)})],
            "pairs": group,
            "score": group[0].score,
        }
        for group in ordered
    ]


def product_comparison(products: list[Any]) -> list[dict[str, Any]]:
    """Rows of a side-by-side comparison: field name, one value per product, and whether they differ."""
    fields: list[tuple[str, Any]] = [
        ("Title", lambda p: p.title),
        ("Brand", lambda p: p.brand.name if p.brand_id else ""),
        ("Price", lambda p: f"{p.currency} {p.price}" if p.price is not None else "price unavailable"),
        ("Category", lambda p: p.category.name if p.category_id else p.source_category_path),
        ("SKU", lambda p: p.sku),
    ]
    names = sorted({v.attribute.name for p in products for v in p.attribute_values.all()})
    for name in names:
        fields.append((name, lambda p, name=name: _attribute(p, name)))
    rows = []
    for label, read in fields:
        values = [str(read(p) or "") for p in products]
        rows.append({"field": label, "values": values, "differs": len({v.casefold() for v in values}) > 1})
    return rows


def _attribute(product: Any, name: str) -> str:
    return ", ".join(v.value for v in product.attribute_values.all() if v.attribute.name == name)
