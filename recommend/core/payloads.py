"""A product as every recommend API lists it (similar items, search hits, later recommendations)."""

from typing import Any

from django.urls import reverse

from catalog.models import Product

PAYLOAD_FIELDS = ("id", "title", "brand", "price", "currency", "image_url", "score", "signal")


def product_url_prefix() -> str:
    # One reverse() per response instead of one per product: "/p/0/" -> "/p/".
    return reverse("storefront:product", kwargs={"pk": 0})[:-2]


def payload_from_values(values: tuple[Any, ...], url_prefix: str) -> dict[str, Any]:
    """One product as the API shows it, from values in PAYLOAD_FIELDS order."""
    item = dict(zip(PAYLOAD_FIELDS, values, strict=True))
    item["url"] = f"{url_prefix}{item['id']}/"
    item["price"] = str(item["price"]) if item["price"] is not None else None
    item["score"] = round(item["score"], 4)
    return item


def product_payload(product: Product, score: float, signal: str) -> dict[str, Any]:
    brand = product.brand.name if product.brand_id and product.brand else None
    values = (product.pk, product.title, brand, product.price, product.currency, product.image_url, score, signal)
    return payload_from_values(values, product_url_prefix())
