"""Shoppers get the site's 404 page even where DEBUG is on (the embedded demo runs with DEBUG).

Django answers an unknown URL with its technical 404 page while DEBUG is on and never calls a
custom handler then; this middleware swaps that page for `templates/404.html` on storefront
paths. Admin, API and static paths keep Django's answer, and `DEBUG_TECHNICAL_404=1` keeps the
technical page everywhere for whoever debugs URL routing.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

NOT_STOREFRONT = ("/admin/", "/api/", "/static/", "/media/", "/__")


class StorefrontNotFoundMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code == 404
            and settings.DEBUG
            and not getattr(settings, "DEBUG_TECHNICAL_404", False)
            and not request.path.startswith(NOT_STOREFRONT)
            and response.get("Content-Type", "").startswith("text/html")
        ):
            return render(request, "404.html", status=404)
        return response
