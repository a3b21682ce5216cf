"""Search results' "did you mean this category" line: `{% category_suggestion query hits %}`.

The active classifier reads the query as if it were a product title (one short text: a few ms,
and cached per classifier version and normalised query). Without a classifier, or when it is
unsure, the category most of the top hits share stands in.
"""

from collections import Counter
from typing import Any

from django import template
from django.core.cache import cache

from recommend.classification.selectors import active_classifier, predict_categories
from recommend.core.vectors import text_hash
from taxonomy.models import Category

register = template.Library()

MIN_CONFIDENCE = 0.5
TOP_HITS = 10
CACHE_SECONDS = 600


def _from_classifier(query: str) -> int | None:
    loaded = active_classifier()
    if loaded is None:
        return None
    key = f"search:category:{loaded[0]}:{text_hash(query).hex()}"
    cached = cache.get(key)
    if cached is None:
        predictions = predict_categories([query], top_k=1, model=loaded[1])[0]
        best = predictions[0] if predictions else None
        cached = best.category.pk if best is not None and best.confidence >= MIN_CONFIDENCE else 0
        cache.set(key, cached, CACHE_SECONDS)
    return cached or None


def _from_hits(hits: list[dict[str, Any]]) -> int | None:
    counts = Counter(hit["product"].category_id for hit in hits[:TOP_HITS] if hit["product"].category_id)
    if not counts:
        return None
    category_id, n = counts.most_common(1)[0]
    return category_id if n * 2 >= min(len(hits), TOP_HITS) else None


@register.inclusion_tag("storefront/_category_suggestion.html")
def category_suggestion(query: str, hits: list[dict[str, Any]]) -> dict[str, Any]:
    normalised = " ".join(query.casefold().split())
    category_id = (_from_classifier(normalised) if normalised else None) or _from_hits(hits)
    category = (
        Category.objects.select_related("parent").filter(pk=category_id, is_active=True).first()
        if category_id
        else None
    )
    return {"category": category}
