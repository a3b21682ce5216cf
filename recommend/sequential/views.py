"""Storefront pages of recommendations: the "Why?" explanation and the "Not interested" form post."""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from catalog.models import Product
from catalog.selectors import db_id
from recommend.sequential.selectors import explanation_for, visitor_ids_for_request
from recommend.sequential.services import feedback_not_interested


def why_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The shopper's own history as a heat strip: how much this product's score falls without each item."""
    product = get_object_or_404(Product.objects.filter(is_active=True), pk=pk)
    visitor_ids = visitor_ids_for_request(request)
    explanation = explanation_for(visitor_ids=visitor_ids, product=product)
    # The reasons come from the same occlusion check as the list's, so the page and the list agree.
    context = {"product": product, "history": explanation["history"], "reasons": explanation["reasons"]}
    return render(request, "recommend/sequential/why.html", context)


@require_POST
def not_interested(request: HttpRequest) -> HttpResponse:
    product = get_object_or_404(Product, pk=db_id(request.POST.get("product")) or 0)  # "²" or 10**20: a 404
    visitor_ids = visitor_ids_for_request(request, create=True)  # the dislike sticks to a new visitor's cookie
    feedback_not_interested(visitor_ids=visitor_ids, product=product, user=request.user)
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return HttpResponseRedirect(target)
