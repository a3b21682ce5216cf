"""Storefront pages served by recommend: search results (lexical + semantic)."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from config.throttles import PageSearchThrottle
from recommend.search.selectors import product_search_page

SEARCH_PAGE_SIZE = 48
MAX_PAGE = 10_000


def search_page(request: HttpRequest) -> HttpResponse:
    # A NUL byte cannot reach PostgreSQL (the driver refuses it): typed or pasted, it is dropped.
    query = request.GET.get("q", "").replace("\x00", "").strip()[:200]
    raw = request.GET.get("page", "1")
    # ASCII digits only ("²".isdigit() is True but int() refuses it); a page past the last shows the last.
    number = min(int(raw), MAX_PAGE) if raw.isascii() and raw.isdigit() and int(raw) > 0 else 1
    found = {"total": 0, "hits": []}
    if query and not PageSearchThrottle().allow_request(request, None):
        context = {"query": query, "hits": [], "total": 0, "throttled": True}
        return render(request, "storefront/search.html", context, status=429)
    if query:
        offset = (number - 1) * SEARCH_PAGE_SIZE
        found = product_search_page(query=query, limit=SEARCH_PAGE_SIZE, offset=offset)
    # A page object over the total only: the template's pager needs numbers, the hits are already this page's.
    page = Paginator(range(found["total"]), SEARCH_PAGE_SIZE).get_page(number)
    context = {"query": query, "hits": found["hits"], "total": found["total"], "page": page}
    return render(request, "storefront/search.html", context)
