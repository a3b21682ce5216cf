"""Reads of similar items: precomputed lists of the active version, with cold-start fallbacks."""

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from catalog.models import Product
from recommend.core.registry import active_version_id
from recommend.models import ModelVersion, SimilarItem

CATEGORY_SCOPES = ("any", "same", "other")


PAYLOAD_FIELDS = ("id", "title", "brand", "price", "currency", "image_url", "score", "signal")
STORED_COLUMNS = (
    "neighbor_id",
    "neighbor__title",
    "neighbor__brand__name",
    "neighbor__price",
    "neighbor__currency",
    "neighbor__image_url",
    "score",
    "signal",
)


def _payload(values: tuple[Any, ...], url_prefix: str) -> dict[str, Any]:
    """One neighbour as the API shows it, from values in PAYLOAD_FIELDS order."""
    item = dict(zip(PAYLOAD_FIELDS, values, strict=True))
    item["url"] = f"{url_prefix}{item['id']}/"
    item["price"] = str(item["price"]) if item["price"] is not None else None
    item["score"] = round(item["score"], 4)
    return item


def _product_url_prefix() -> str:
    # One reverse() per response instead of one per neighbour: "/p/0/" -> "/p/".
    return reverse("storefront:product", kwargs={"pk": 0})[:-2]


def neighbour_payload(product: Product, score: float, signal: str) -> dict[str, Any]:
    brand = product.brand.name if product.brand_id else None
    values = (product.pk, product.title, brand, product.price, product.currency, product.image_url, score, signal)
    return _payload(values, _product_url_prefix())


def _stored(version_id: int, product: Product, strategy: str, limit: int, scope: str) -> list[dict[str, Any]]:
    """The stored list as API payloads, read as plain values (this is the hot path of the similar endpoint)."""
    queryset = SimilarItem.objects.filter(
        model_version_id=version_id,
        strategy=strategy,
        product_id=product.pk,
        neighbor__is_active=True,
        neighbor__merged_into__isnull=True,
    )
    if scope == "same":
        queryset = queryset.filter(neighbor__category_id=product.category_id)
    elif scope == "other":
        queryset = queryset.exclude(neighbor__category_id=product.category_id)
    url_prefix = _product_url_prefix()
    return [_payload(row, url_prefix) for row in queryset.order_by("rank").values_list(*STORED_COLUMNS)[:limit]]


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
    results = _stored(version_id, product, strategy, limit, scope)
    if not results and strategy != SimilarItem.Strategy.CONTENT:
        fallback = SimilarItem.Strategy.CONTENT
        results = _stored(version_id, product, SimilarItem.Strategy.CONTENT, limit, scope)
    if not results and not SimilarItem.objects.filter(model_version_id=version_id, product_id=product.pk).exists():
        from recommend.services.similarity import live_content_neighbours, version_has_product

        if not version_has_product(version_id=version_id, product_id=product.pk):
            fallback = "live_content"
            results = live_content_neighbours(product=product, version_id=version_id, limit=limit, scope=scope)
    payload = {"model_version": version_id, "strategy": strategy, "fallback": fallback, "results": results}
    cache.set(key, payload, settings.SIMILAR_CACHE_SECONDS)
    return payload
