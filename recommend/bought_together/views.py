"""The session cart page: add, remove, and "Complete your basket" from the bought-together blend."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from catalog.events import block_impression, event_record
from catalog.models import Interaction, Product
from catalog.selectors import db_id
from recommend.bought_together.selectors import basket_completion, cart_products
from recommend.bought_together.services import CART_SESSION_KEY, cart_add, cart_remove

COMPLETE_LIMIT = 4


def cart_page(request: HttpRequest) -> HttpResponse:
    products = cart_products(product_ids=request.session.get(CART_SESSION_KEY, []))
    suggestions = []  # no evidence: the "Complete your basket" block is hidden
    if products:
        suggestions = basket_completion(product_ids=[p.pk for p in products], limit=COMPLETE_LIMIT).suggestions
    if suggestions:
        block_impression("complete_basket")
    return render(request, "recommend/bought_together/cart.html", {"products": products, "suggestions": suggestions})


def _back(request: HttpRequest) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("storefront:cart")
    return HttpResponseRedirect(target or reverse("storefront:cart"))


@require_POST
def cart_add_view(request: HttpRequest) -> HttpResponse:
    product = get_object_or_404(Product, pk=db_id(request.POST.get("product_id", "")) or 0, is_active=True)
    cart_add(session=request.session, product_id=product.pk)
    event_record(request, Interaction.Event.ADD_TO_CART, product_id=product.pk)
    messages.success(request, f"Added {product.title} to your cart.")
    return _back(request)


@require_POST
def cart_remove_view(request: HttpRequest) -> HttpResponse:
    product_id = db_id(request.POST.get("product_id", ""))
    if product_id is not None:
        cart_remove(session=request.session, product_id=product_id)
    return _back(request)
