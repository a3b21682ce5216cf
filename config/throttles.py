"""DRF throttles that read their rates when a request comes (DRF's own bind the rates at import, so a
settings change in tests or `API_THROTTLE=0` for a load test would not reach them).

Scopes: `anon` (per IP), `user` (per account), and per view `classify` and `search` (both run a model on
every request). `classify_items` counts items, not requests: a batch of 1,000 costs 1,000 (ItemCountThrottle).
Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (config/settings.py, env overrides); a rate of None
switches that scope off. A throttled request gets 429 with a JSON `detail` and Retry-After.
"""

from typing import Any

from rest_framework.exceptions import Throttled
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


class ItemCountThrottle(LiveRateMixin, SimpleRateThrottle):
    """A budget of items per account (per address when anonymous) and window, for views whose cost grows with the
    batch: the view names the scope (`throttle_item_scope = "classify_items"`) and counts a request's items
    (`throttle_item_count(request)`). A request over the rest of the budget gets 429 and the seconds until enough
    of it is free again; one larger than the whole budget passes only when nothing else was spent in the window.
    """

    scope: str | None = None
    cache_format = "throttle_items_%(scope)s_%(ident)s"

    def allow_request(self, request: Any, view: Any) -> bool:
        self.scope = getattr(view, "throttle_item_scope", None)
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        ident = request.user.pk if request.user.is_authenticated else self.get_ident(request)
        self.key = self.cache_format % {"scope": self.scope, "ident": ident}
        self.now = self.timer()
        spent = [(at, items) for at, items in self.cache.get(self.key, []) if at > self.now - self.duration]
        self.items = max(int(view.throttle_item_count(request)), 1)
        self.spent = spent
        if spent and sum(items for _, items in spent) + self.items > self.num_requests:
            # Raised here (not `return False`) so the 429 says what ran out: items, not requests.
            raise Throttled(
                wait=self.wait(),
                detail=f"Request was throttled: at most {self.rate} items per account ({self.items} asked).",
            )
        self.cache.set(self.key, [(self.now, self.items), *spent], self.duration)
        return True

    def wait(self) -> float | None:
        """Seconds until the oldest spends leave the window and this request's items fit."""
        over = sum(items for _, items in self.spent) + self.items - self.num_requests
        for at, items in reversed(self.spent):  # oldest first
            over -= items
            if over <= 0:
                return max(at + self.duration - self.now, 0.0)
        return float(self.duration)
