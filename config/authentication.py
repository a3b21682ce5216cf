"""Session authentication that also protects anonymous writes identified by a cookie.

DRF's SessionAuthentication checks the CSRF token only for a signed-in user. An anonymous shopper is identified
by their cookies too (the session key is their visitor id): "not interested", "forget my data" and the
personalisation switch act on that identity, so another site could make the shopper's browser send them. Here
any write that carries cookies and no API token must pass Django's CSRF check, signed in or not; a caller
without cookies (a script) has no identity to abuse and needs no token.
"""

from typing import Any

from drf_spectacular.authentication import SessionScheme
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request


class CookieCsrfSessionAuthentication(SessionAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        result = super().authenticate(request)  # a signed-in user: DRF has checked CSRF already
        if result is None and request.method not in SAFE_METHODS and request._request.COOKIES:
            self.enforce_csrf(request)
        return result


class CookieCsrfSessionScheme(SessionScheme):
    """The OpenAPI schema describes it as DRF's session cookie authentication."""

    target_class = "config.authentication.CookieCsrfSessionAuthentication"
