"""Template blocks of recommendations: `{% recommended_for_you %}` (home) and `{% also_viewed product %}`."""

from typing import Any

from django import template

from catalog.events import block_impression
from catalog.models import Product
from recommend.sequential.selectors import also_viewed as also_viewed_items
from recommend.sequential.selectors import recommendations_for, visitor_ids_for_request

register = template.Library()


@register.inclusion_tag("recommend/sequential/recommended_for_you.html", takes_context=True)
def recommended_for_you(context: dict[str, Any], limit: int = 8) -> dict[str, Any]:
    request = context["request"]
    payload = recommendations_for(visitor_ids=visitor_ids_for_request(request), limit=limit)
    if payload["results"]:
        block_impression("recommended")
    return {
        "items": payload["results"],
        "fallback": payload["fallback"],
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("recommend/sequential/also_viewed.html")
def also_viewed(product: Product, limit: int = 8) -> dict[str, Any]:
    items = also_viewed_items(product=product, limit=limit)
    if items:
        block_impression("also_viewed")
    return {"items": items}
