"""Template blocks that storefront pages include: `{% similar_items product %}`.

Under a running similar-items experiment the visitor's arm picks the version, and the block's
impressions and links carry the arm's variant so the admin can compare the arms.
"""

from typing import Any

from django import template

from catalog.events import block_impression
from catalog.models import Product
from catalog.visitors import current_visitor_id
from recommend.core.experiments import version_for_visitor
from recommend.similarity.selectors import similar_products

register = template.Library()


@register.inclusion_tag("recommend/similar_items.html", takes_context=True)
def similar_items(context: template.Context, product: Product, limit: int = 8) -> dict[str, Any]:
    request = context.get("request")
    visitor = current_visitor_id(request) if request is not None else None
    version_id, variant = version_for_visitor(kind="similar", visitor_id=visitor)
    payload = similar_products(product=product, strategy="hybrid", limit=limit, version_id=version_id)
    if payload["results"]:
        block_impression("similar", variant=variant)
    return {"items": payload["results"], "product": product, "variant": variant, "version": payload["model_version"]}
