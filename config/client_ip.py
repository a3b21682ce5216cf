"""The client's address for the admin lockout: the one DRF's throttles count by (one rule for both).

REMOTE_ADDR, unless TRUSTED_PROXIES (REST_FRAMEWORK["NUM_PROXIES"]) proxies in front append to X-Forwarded-For:
then the entry the nearest of them appended (counting from the right). Entries further left are the client's own
words and never count.
"""

from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle


def client_ip(request: HttpRequest) -> str:
    return BaseThrottle().get_ident(request)
