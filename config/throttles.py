"""DRF throttles that read their rates when a request comes (DRF's own bind the rates at import, so a
settings change in tests or `API_THROTTLE=0` for a load test would not reach them).

Scopes: `anon` (per IP), `user` (per account), and per view `classify` and `search` (both run a model on
every request). Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (config/settings.py, env overrides);
a rate of None switches that scope off. A throttled request gets 429 with a JSON `detail` and Retry-After.
"""

from typing import Any

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, SimpleRateThrottle, UserRateThrottle


class LiveRateMixin:
    scope: str | None

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope) if self.scope else None


class AnonThrottle(LiveRateMixin, AnonRateThrottle):
    pass


class UserThrottle(LiveRateMixin, UserRateThrottle):
    pass


class ScopeThrottle(LiveRateMixin, ScopedRateThrottle):
    """Views with `throttle_scope = "classify"` (or "search") get that scope's rate on top of anon/user."""


class PageSearchThrottle(LiveRateMixin, SimpleRateThrottle):
    """The storefront search page runs the encoder too: it shares the API's `search` bucket per client."""

    scope = "search"

    def get_cache_key(self, request: Any, view: Any) -> str:
        ident = request.user.pk if request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
