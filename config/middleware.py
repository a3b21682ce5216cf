"""The database unreachable (down, restarting, refusing connections): 503 with `Retry-After`, not a 500.

A view that hits an `InterfaceError` or a connection-level `OperationalError` (connection refused, the server
terminated the connection, "the database system is starting up"; `is_database_unavailable`) answers 503
with `Retry-After: 5`: JSON `{"detail": ...}` under /api/ (DRF's exception handler leaves these exceptions
to Django, so they arrive here) and the self-contained `templates/503.html` elsewhere. The page is rendered without the
request, so no context processor runs and nothing on it needs the database.

`server_error` (the project's handler500) gives the same answer when such an error escapes a
middleware instead of a view (a session saved on the way out, for one) and Django's page otherwise.
Each refusal is logged at ERROR in one line; Django's `django.request` logger adds its usual
"Service Unavailable" line for the 503.
"""

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults

logger = logging.getLogger(__name__)

# PostgreSQL SQLSTATEs that mean "not now" rather than "this request or the schema is wrong": connection
# exceptions (08...), shutdown and start-up (57P01-57P03), too many connections, lock and statement timeouts.
TRANSIENT_SQLSTATE_PREFIXES = ("08", "57P0", "53300", "55P03", "57014")
RETRY_AFTER_SECONDS = 5
API_DETAIL = "the database is unavailable; retry shortly"


def is_database_unavailable(error: BaseException | None) -> bool:
    """A connection-level or transient database error; a missing table or a bad query stays a 500."""
    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    if hasattr(cause, "sqlstate"):  # psycopg: no SQLSTATE means the connection itself failed
        state = cause.sqlstate
        return state is None or state.startswith(TRANSIENT_SQLSTATE_PREFIXES)
    return "locked" in str(error) or "unable to open" in str(error)  # SQLite: busy, or the file is gone


def database_unavailable_response(request: HttpRequest, error: BaseException) -> HttpResponse:
    logger.error(
        "Database unavailable, answered 503 to %s %s: %s: %s",
        request.method,
        request.path,
        type(error).__name__,
        " ".join(str(error).split()) or "(no message)",  # psycopg's messages span lines
    )
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": API_DETAIL}, status=503)
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_unavailable(exception):
            return database_unavailable_response(request, exception)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: Django calls it while handling the exception, so `sys.exc_info()` names it."""
    error = sys.exc_info()[1]
    if is_database_unavailable(error):
        return database_unavailable_response(request, error)
    return defaults.server_error(request)
