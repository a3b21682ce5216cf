"""The client's address for rate limits and the admin lockout, the way DRF's throttles read it.

REMOTE_ADDR, unless settings.TRUSTED_PROXIES proxies in front append to X-Forwarded-For: then the entry the
nearest of them appended (counting from the right). Entries further left are the client's own words.
"""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    proxies = settings.TRUSTED_PROXIES
    addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
    if not proxies or not addresses:
        return remote
    return addresses[-min(proxies, len(addresses))]
