"""Template blocks that storefront pages include: `{% similar_items product %}`."""

from typing import Any

from django import template

from catalog.events import block_impression
from catalog.models import Product
from recommend.similarity.selectors import similar_products

register = template.Library()


@register.inclusion_tag("recommend/similar_items.html")
def similar_items(product: Product, limit: int = 8) -> dict[str, Any]:
    payload = similar_products(product=product, strategy="hybrid", limit=limit)
    if payload["results"]:
        block_impression("similar")
    return {"items": payload["results"], "product": product}
