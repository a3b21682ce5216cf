"""Template block for product pages: `{% bought_together_block product %}` (add to cart + bought together)."""

from typing import Any

from django import template

from catalog.events import block_impression
from catalog.models import Product
from recommend.bought_together.selectors import bought_together_for_product
from recommend.bought_together.services import CART_SESSION_KEY

register = template.Library()


@register.inclusion_tag("recommend/bought_together/_block.html", takes_context=True)
def bought_together_block(context: template.Context, product: Product, limit: int = 4) -> dict[str, Any]:
    request = context.get("request")
    suggestions = bought_together_for_product(product=product, limit=limit).suggestions  # none: the block hides
    if suggestions:
        block_impression("bought_together")
    cart = request.session.get(CART_SESSION_KEY, []) if request is not None else []
    return {
        "product": product,
        "suggestions": suggestions,
        "next": request.path if request is not None else "",
        "in_cart": product.pk in cart,
        "csrf_token": context.get("csrf_token"),
    }
