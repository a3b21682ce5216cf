"""Storefront pages served by recommend: search results (lexical + semantic)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from recommend.search.selectors import product_search

SEARCH_PAGE_SIZE = 48


def search_page(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    hits = product_search(query=query, limit=SEARCH_PAGE_SIZE) if query else []
    return render(request, "storefront/search.html", {"query": query, "hits": hits})
