"""Storefront pages served by recommend: search results (lexical + semantic)."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from recommend.search.selectors import product_search_page

SEARCH_PAGE_SIZE = 48


def search_page(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    number = request.GET.get("page", "1")
    number = int(number) if number.isdigit() and int(number) > 0 else 1
    found = {"total": 0, "hits": []}
    if query:
        offset = (number - 1) * SEARCH_PAGE_SIZE
        found = product_search_page(query=query, limit=SEARCH_PAGE_SIZE, offset=offset)
    # A page object over the total only: the template's pager needs numbers, the hits are already this page's.
    page = Paginator(range(found["total"]), SEARCH_PAGE_SIZE).get_page(number)
    context = {"query": query, "hits": found["hits"], "total": found["total"], "page": page}
    return render(request, "storefront/search.html", context)
