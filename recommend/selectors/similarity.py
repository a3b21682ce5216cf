"""Reads of similar items: precomputed lists of the active version, with cold-start fallbacks."""

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet

from catalog.models import Product
from recommend.models import ModelVersion, SimilarItem
from recommend.services.registry import active_version_id

CATEGORY_SCOPES = ("any", "same", "other")


def neighbour_payload(product: Product, score: float, signal: str) -> dict[str, Any]:
    return {
        "id": product.pk,
        "title": product.title,
        "url": product.get_absolute_url(),
        "brand": product.brand.name if product.brand_id else None,
        "price": str(product.price) if product.price is not None else None,
        "currency": product.currency,
        "image_url": product.image_url,
        "score": round(score, 4),
        "signal": signal,
    }


def _stored(version_id: int, product: Product, strategy: str, limit: int, scope: str) -> QuerySet[SimilarItem]:
    queryset = SimilarItem.objects.filter(
        model_version_id=version_id,
        strategy=strategy,
        product_id=product.pk,
        neighbor__is_active=True,
        neighbor__merged_into__isnull=True,
    ).select_related("neighbor", "neighbor__brand")
    if scope == "same":
        queryset = queryset.filter(neighbor__category_id=product.category_id)
    elif scope == "other":
        queryset = queryset.exclude(neighbor__category_id=product.category_id)
    return queryset.order_by("rank")[:limit]


def similar_products(*, product: Product, strategy: str, limit: int, scope: str = "any") -> dict[str, Any]:
    """{"model_version", "strategy", "fallback", "results": [...]} for the active similar-items version.

    Cold start: a product without behaviour gets its content neighbours (fallback="content");
    a product newer than the version is embedded on the fly and searched in the version's index.
    """
    version_id = active_version_id(ModelVersion.Kind.SIMILAR)
    if version_id is None:
        return {"model_version": None, "strategy": strategy, "fallback": None, "results": []}
    key = f"similar:{version_id}:{product.pk}:{product.category_id}:{strategy}:{limit}:{scope}"
    payload = cache.get(key)
    if payload is not None:
        return payload
    fallback = None
    rows = list(_stored(version_id, product, strategy, limit, scope))
    if not rows and strategy != SimilarItem.Strategy.CONTENT:
        fallback = SimilarItem.Strategy.CONTENT
        rows = list(_stored(version_id, product, SimilarItem.Strategy.CONTENT, limit, scope))
    results = [neighbour_payload(row.neighbor, row.score, row.signal) for row in rows]
    if not results and not SimilarItem.objects.filter(model_version_id=version_id, product_id=product.pk).exists():
        from recommend.services.similarity import live_content_neighbours, version_has_product

        if not version_has_product(version_id=version_id, product_id=product.pk):
            fallback = "live_content"
            results = live_content_neighbours(product=product, version_id=version_id, limit=limit, scope=scope)
    payload = {"model_version": version_id, "strategy": strategy, "fallback": fallback, "results": results}
    cache.set(key, payload, settings.SIMILAR_CACHE_SECONDS)
    return payload
