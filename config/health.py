"""Probes for a load balancer or orchestrator.

- `/healthz`: the process answers (liveness). No I/O at all, so a slow database never gets a healthy
  worker restarted.
- `/readyz`: this instance can serve (readiness): database, cache, broker, active models, static manifest.
  Each check has a short timeout and reports `ok` and `ms`; any failure answers 503, so traffic goes
  elsewhere until it recovers. Anyone gets the status; the checks (database vendor, error messages naming hosts
  and ports) only staff, signed in or with a staff API token (`Authorization: Token ...`).
"""

import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.views.decorators.cache import never_cache
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import APIException

from recommend.core.health import active_models_check

BROKER_TIMEOUT_SECONDS = 2.0


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "vendor": connection.vendor}


def check_cache() -> dict[str, Any]:
    """A write and a read back: the Redis cache ignores its errors (reads fall back), so only a round trip tells."""
    key, token = "readyz:probe", uuid.uuid4().hex
    cache.set(key, token, 10)
    ok = cache.get(key) == token
    return {"ok": ok, **({} if ok else {"error": "the cache did not keep a value (Redis unreachable?)"})}


def check_broker() -> dict[str, Any]:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "mode": "in process (no broker configured)"}
    from celery import current_app

    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS)
    return {"ok": True, "mode": "celery"}


def check_static() -> dict[str, Any]:
    if settings.DEBUG:
        return {"ok": True, "mode": "served from the source folders (DEBUG)"}
    read_manifest = getattr(staticfiles_storage, "read_manifest", None)
    if read_manifest is None:
        return {"ok": True, "mode": "no manifest storage"}
    ok = bool(read_manifest())
    return {"ok": ok, **({} if ok else {"error": "no staticfiles manifest: run `manage.py collectstatic`"})}


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "models": active_models_check,
    "static": check_static,
}


def run_check(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.monotonic()
    try:
        result = check()
    except Exception as error:  # a probe reports every failure, whatever raised it
        result = {"ok": False, "error": f"{type(error).__name__}: {error}"[:300]}
    return {**result, "ms": round((time.monotonic() - started) * 1000, 1)}


def may_see_checks(request: HttpRequest) -> bool:
    """Staff by session or by API token. With the database down neither can be looked up: status only."""
    try:
        user = request.user if request.user.is_authenticated else None
        if user is None and request.META.get("HTTP_AUTHORIZATION"):
            authenticated = TokenAuthentication().authenticate(request)  # type: ignore[arg-type]
            user = authenticated[0] if authenticated else None
    except (APIException, DatabaseError):
        return False
    return bool(user is not None and user.is_active and user.is_staff)


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {name: run_check(check) for name, check in CHECKS.items()}
    ready = all(result["ok"] for result in checks.values())
    body: dict[str, Any] = {"status": "ok" if ready else "unavailable"}
    if may_see_checks(request):
        body["checks"] = checks
    return JsonResponse(body, status=200 if ready else 503)


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on every site whatever the page says: the shop's icon, not a 404 (the
    static URL is resolved per request, so a missing collectstatic manifest never breaks URL loading)."""
    return HttpResponsePermanentRedirect(staticfiles_storage.url("img/favicon.svg"))
