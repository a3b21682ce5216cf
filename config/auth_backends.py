"""django-axes in front of the model backend, tolerant of server-side logins.

Axes refuses an `authenticate()` without a request (it locks out by username and address). Every login a
person can reach here (the admin form) passes one; code that has no request (the test client's `login()`,
a management command) is not something to lock out, so it goes straight to the next backend.
"""

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LockoutBackend(AxesStandaloneBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
