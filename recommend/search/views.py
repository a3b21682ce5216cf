"""Storefront pages served by recommend: search results (lexical + semantic) with the category facets."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from catalog.events import event_record
from catalog.facets import facet_filter, facet_selection, facets_for
from catalog.models import Interaction, Product
from config.throttles import PageSearchThrottle
from recommend.search.selectors import search_hits, search_ranking

SEARCH_PAGE_SIZE = 48
MAX_PAGE = 10_000


def search_page(request: HttpRequest) -> HttpResponse:
    # A NUL byte cannot reach PostgreSQL (the driver refuses it): typed or pasted, it is dropped.
    query = request.GET.get("q", "").replace("\x00", "").strip()[:200]
    raw = request.GET.get("page", "1")
    # ASCII digits only ("²".isdigit() is True but int() refuses it); a page past the last shows the last.
    number = min(int(raw), MAX_PAGE) if raw.isascii() and raw.isdigit() and int(raw) > 0 else 1
    context = {"query": query, "hits": [], "total": 0, "facets": {}}
    ids: list[int] = []
    if query and not PageSearchThrottle().allow_request(request, None):
        context = {"query": query, "hits": [], "total": 0, "throttled": True}
        return render(request, "storefront/search.html", context, status=429)
    if query:
        ranking = search_ranking(query=query)
        if number == 1:
            event_record(request, Interaction.Event.SEARCH, query=query)
        selection = facet_selection(request.GET)
        matches = Product.objects.filter(pk__in=ranking["ids"])
        ids = ranking["ids"]
        if not selection.is_empty:
            kept = set(facet_filter(matches, selection).values_list("pk", flat=True))
            ids = [pk for pk in ids if pk in kept]
        offset = (number - 1) * SEARCH_PAGE_SIZE
        context["hits"] = search_hits(ranking, ids[offset : offset + SEARCH_PAGE_SIZE])
        context["facets"] = facets_for(matches, selection, request.GET) if ranking["ids"] else {}
        context["closest_only"] = ranking.get("match") == "closest"
    # A page object over the total only: the template's pager needs numbers, the hits are already this page's.
    page = Paginator(range(len(ids)), SEARCH_PAGE_SIZE).get_page(number)
    params = request.GET.copy()
    params.pop("page", None)
    context.update(total=len(ids), page=page, page_query=params.urlencode())
    return render(request, "storefront/search.html", context)
