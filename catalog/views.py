"""Storefront pages: home, category, product and search results."""

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from catalog.events import block_click, block_impression, event_record, parse_ref
from catalog.facets import facet_filter, facet_selection, facets_for
from catalog.models import Interaction
from catalog.selectors import popular_products, product_detail_queryset, product_list
from taxonomy.models import Category
from taxonomy.selectors import category_breadcrumb

PAGE_SIZE = 24


def paginate(request: HttpRequest, queryset):  # type: ignore[no-untyped-def]
    return Paginator(queryset.order_by("id"), PAGE_SIZE).get_page(request.GET.get("page"))


def _without_page(request: HttpRequest) -> str:
    """The current query string minus `page`, for the pager's links (they keep the facets)."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def home(request: HttpRequest) -> HttpResponse:
    categories = Category.objects.root_nodes().filter(is_active=True)[:24]
    latest = list(product_list().order_by("-id")[:12])  # newest first by the primary key: no sort of the table
    popular = popular_products(limit=12) if latest else []
    if popular:
        block_impression("popular")
    context = {"categories": categories, "products": latest, "popular": popular}
    return render(request, "storefront/home.html", context)


def category_page(request: HttpRequest, pk: int, slug: str) -> HttpResponse:
    category = get_object_or_404(Category, pk=pk, is_active=True)
    if slug != category.slug:  # an old link after a rename: the facets in its query string still apply
        query = request.GET.urlencode()
        return HttpResponsePermanentRedirect(category.get_absolute_url() + (f"?{query}" if query else ""))
    products = product_list(category=category)
    selection = facet_selection(request.GET)
    context = {
        "category": category,
        "breadcrumb": category_breadcrumb(category=category),
        "children": category.get_children().filter(is_active=True),
        "page": paginate(request, facet_filter(products, selection)),
        "facets": facets_for(products, selection, request.GET),
        "page_query": _without_page(request),
    }
    return render(request, "storefront/category.html", context)


def product_page(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(product_detail_queryset(), pk=pk)
    if product.merged_into_id:
        return HttpResponsePermanentRedirect(reverse("storefront:product", kwargs={"pk": product.merged_into_id}))
    if not product.is_active:
        raise Http404("This product is not available.")
    breadcrumb = category_breadcrumb(category=product.category) if product.category else []
    event_record(request, Interaction.Event.VIEW, product_id=product.pk)
    ref = parse_ref(request.GET.get("ref", ""))
    if ref is not None:
        block_click(request, block=ref[0], slot=ref[1], variant=ref[2], product_id=product.pk)
    return render(request, "storefront/product.html", {"product": product, "breadcrumb": breadcrumb})
