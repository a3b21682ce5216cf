"""Who a shopper is, without a credential: a random visitor id in a cookie of its own.

The visitor id names a shopper's events, "not interested" choices and privacy preference. It is never the
session key (that one signs a person in, so it must not appear in the admin or in an export): it is a random
`v-<32 hex>` made on the first event, sent back as the `VISITOR_COOKIE` cookie (HttpOnly, SameSite=Lax) and
rotated when the shopper erases their data. Ids stored before this rule were session keys; the migration
`recommend 0015` replaced them by `legacy_visitor_id(key)`, a one-way hash, and a browser that still carries
such a session (and no visitor cookie yet) is given that hashed id, so its history follows it.

Reading the id never writes a session: a cookie-less page view costs one Set-Cookie header, no database row.
Events from robots (by User-Agent) and bursts above `VISITOR_EVENTS_PER_MINUTE` from one client address are
not recorded, so nobody can push a product up "Popular right now" by reloading it.
"""

import hashlib
import re
import secrets

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

VISITOR_ID = re.compile(r"^[vm]-[0-9a-f]{32}$")
ROBOT = re.compile(r"bot\b|bot/|crawl|spider|slurp|curl/|wget/|python-requests|go-http-client|scrapy", re.I)


def legacy_visitor_id(session_key: str) -> str:
    """The one-way id that replaced a visitor id which was a session key (same function as the migration's)."""
    return "m-" + hashlib.sha256(f"visitor:{session_key}".encode()).hexdigest()[:32]


def new_visitor_id() -> str:
    return "v-" + secrets.token_hex(16)


def _cookie_name() -> str:
    return getattr(settings, "VISITOR_COOKIE_NAME", "visitor")


def current_visitor_id(request: HttpRequest, *, create: bool = True) -> str | None:
    """This browser's visitor id: its cookie, else (once) the hashed id of a pre-upgrade session, else a new
    one when `create` (the middleware sends it back as a cookie). None when there is none and `create` is off."""
    request = getattr(request, "_request", request)  # a DRF Request: the middleware sees the Django one
    known = getattr(request, "_visitor_id", None)
    if known:
        return known
    cookie = request.COOKIES.get(_cookie_name(), "")
    if VISITOR_ID.match(cookie):
        request._visitor_id = cookie  # type: ignore[attr-defined]
        request._visitor_returning = True  # type: ignore[attr-defined]
        return cookie
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    if session_key and request.session.exists(session_key):
        visitor = legacy_visitor_id(session_key)
    elif create:
        visitor = new_visitor_id()
    else:
        return None
    request._visitor_id = visitor  # type: ignore[attr-defined]
    request._visitor_set = True  # type: ignore[attr-defined]
    return visitor


def visitor_rotate(request: HttpRequest) -> str:
    """Give this browser a fresh visitor id (after "forget me"): nothing stored later joins the erased past."""
    request = getattr(request, "_request", request)
    request._visitor_id = new_visitor_id()  # type: ignore[attr-defined]
    request._visitor_set = True  # type: ignore[attr-defined]
    request._visitor_returning = False  # type: ignore[attr-defined]
    return request._visitor_id  # type: ignore[attr-defined]


def is_robot(request: HttpRequest) -> bool:
    return bool(ROBOT.search(request.META.get("HTTP_USER_AGENT", "")))


def over_event_budget(request: HttpRequest) -> bool:
    """True once this client address sent more than VISITOR_EVENTS_PER_MINUTE events in the current minute."""
    from rest_framework.throttling import BaseThrottle

    limit = getattr(settings, "VISITOR_EVENTS_PER_MINUTE", 60)
    if limit <= 0:
        return False
    ident = BaseThrottle().get_ident(request)  # DRF's client address: honours TRUSTED_PROXIES only
    key = f"visitor-events:{ident}"
    try:
        if cache.add(key, 1, 60):
            return False
        return cache.incr(key) > limit
    except Exception:  # the cache is down: record the event rather than fail the page
        return False


class VisitorCookieMiddleware:
    """Sends the visitor id back when this request made or rotated one (no session, no database write)."""

    def __init__(self, get_response):  # type: ignore[no-untyped-def]
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, "_visitor_set", False):
            response.set_cookie(
                _cookie_name(),
                request._visitor_id,  # type: ignore[attr-defined]
                max_age=getattr(settings, "VISITOR_COOKIE_AGE", 365 * 24 * 3600),
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response
