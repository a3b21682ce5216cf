"""Shopper events the storefront records (view, recommendation click, add to cart, search), off the request path.

A page only appends to an in-process buffer (a lock and a list: microseconds). A daemon thread
writes the buffer every SHOPPER_EVENTS["flush_seconds"], or sooner once "batch" events wait,
through the same `interactions_ingest` service as the API, and adds the block impression and
click counters to BlockStat. `atexit` flushes what is left, so a normal shutdown (gunicorn's
graceful worker exit, Ctrl-C on runserver) loses nothing; a killed process loses at most one
interval. Each event carries a generated event_id, so a batch written twice is stored once.
A shopper is their visitor id (catalog/visitors.py: a random id in its own cookie, never the session key), and
a signed-in shopper's events are linked to their account. Robots and bursts from one address are not recorded.
`events_discard` drops the buffered events of erased ids, so nothing is written after a "forget me".
With SHOPPER_EVENTS["inline"] (tests) each call writes at once.
"""

import atexit
import logging
import re
import threading
import uuid
from collections import Counter
from datetime import date
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from catalog.models import BlockStat, Interaction, Product
from catalog.services import interactions_ingest
from catalog.visitors import current_visitor_id, is_robot, over_event_budget
from config.middleware import is_database_unavailable

logger = logging.getLogger(__name__)

BLOCKS = ("similar", "bought_together", "complete_basket", "recommended", "also_viewed", "popular")
REF = re.compile(r"^(?P<block>[a-z_]{1,32}):(?P<slot>\d{1,3})(?::(?P<variant>[a-z0-9]{1,32}))?$")

_lock = threading.Lock()
_wake = threading.Event()
_events: list[dict[str, Any]] = []
_counters: Counter[tuple[date, str, str, str]] = Counter()  # (day, block, variant, "impressions"|"clicks")
_flusher: threading.Thread | None = None


def _config() -> dict[str, Any]:
    return {"inline": False, "flush_seconds": 2.0, "batch": 200, **getattr(settings, "SHOPPER_EVENTS", {})}


def parse_ref(raw: str) -> tuple[str, int, str] | None:
    """`similar:3` -> ("similar", 3, ""), `similar:3:x2b` -> ("similar", 3, "x2b") (an experiment arm)
    for a known block; anything else is not a recommendation click."""
    match = REF.match(raw or "")
    if match is None or match["block"] not in BLOCKS:
        return None
    return match["block"], int(match["slot"]), match["variant"] or ""


def event_record(request: HttpRequest, event: str, *, product_id: int | None = None, query: str = "") -> None:
    """Queue one shopper event for the batched write (never blocks on the database); robots and bursts are skipped."""
    if is_robot(request) or over_event_budget(request):
        return
    user = getattr(request, "user", None)
    item = {
        "visitor_id": current_visitor_id(request),
        "user_id": user.pk if user is not None and user.is_authenticated else None,
        "event": event,
        "product_id": product_id,
        "query": query[:500],
        "timestamp": timezone.now(),
        "event_id": f"web:{uuid.uuid4().hex}",
    }
    _queue(events=[item])


def block_impression(block: str, *, variant: str = "") -> None:
    """A recommendation block was shown (once per page, whatever its number of items)."""
    _queue(counters={(timezone.localdate(), block, variant, "impressions"): 1})


def block_click(request: HttpRequest, *, block: str, slot: int, product_id: int, variant: str = "") -> None:
    """A shopper followed a recommendation: a click event (its `query` says block:slot) and the block's counter."""
    ref = f"{block}:{slot}:{variant}" if variant else f"{block}:{slot}"
    event_record(request, Interaction.Event.CLICK, product_id=product_id, query=ref)
    _queue(counters={(timezone.localdate(), block, variant, "clicks"): 1})


def _queue(*, events: list[dict[str, Any]] | None = None, counters: dict[Any, int] | None = None) -> None:
    config = _config()
    with _lock:
        _events.extend(events or [])
        _counters.update(counters or {})
        waiting = len(_events)
    if config["inline"]:
        events_flush()
        return
    _ensure_flusher()
    if waiting >= config["batch"]:
        _wake.set()


def events_flush() -> dict[str, int]:
    """Write everything buffered; on a database error the batch goes back to the buffer for the next try."""
    with _lock:
        events, counters = list(_events), Counter(_counters)
        _events.clear()
        _counters.clear()
    if not events and not counters:
        return {"events": 0, "counters": 0}
    try:
        created = _write_events(events)
        _write_counters(counters)
    except Exception as error:
        if is_database_unavailable(error):  # an outage, not a bug: one line per try, no traceback
            logger.warning("Database unavailable; %d shopper events kept for the next flush", len(events))
        else:
            logger.exception("Could not write %d shopper events; keeping them for the next flush", len(events))
        with _lock:
            _events[:0] = events
            _counters.update(counters)
        raise
    return {"events": created, "counters": len(counters)}


def events_discard(*, visitor_ids: list[str]) -> int:
    """Drop this process's buffered events of these ids (erased: they must never be written)."""
    wanted = set(visitor_ids)
    with _lock:
        kept = [event for event in _events if event["visitor_id"] not in wanted]
        dropped = len(_events) - len(kept)
        _events[:] = kept
    return dropped


def _write_events(events: list[dict[str, Any]]) -> int:
    ids = {e["product_id"] for e in events if e["product_id"]}
    products = Product.objects.in_bulk(ids) if ids else {}
    rows = []
    for event in events:
        product = products.get(event["product_id"]) if event["product_id"] else None
        if event["product_id"] and product is None:
            continue  # deleted since: nothing to attach the event to
        rows.append({**{k: v for k, v in event.items() if k != "product_id"}, "product": product})
    return interactions_ingest(events=rows)["created"] if rows else 0


def _write_counters(counters: Counter[tuple[date, str, str, str]]) -> None:
    totals: dict[tuple[date, str, str], dict[str, int]] = {}
    for (day, block, variant, field), n in counters.items():
        totals.setdefault((day, block, variant), {}).setdefault(field, 0)
        totals[(day, block, variant)][field] += n
    for (day, block, variant), fields in totals.items():
        increments = {name: F(name) + n for name, n in fields.items()}
        with transaction.atomic():
            if BlockStat.objects.filter(day=day, block=block, variant=variant).update(**increments):
                continue
            try:
                with transaction.atomic():
                    BlockStat.objects.create(day=day, block=block, variant=variant, **fields)
            except IntegrityError:  # another process created the row in between
                BlockStat.objects.filter(day=day, block=block, variant=variant).update(**increments)


def _flush_loop() -> None:
    while True:
        _wake.wait(_config()["flush_seconds"])
        _wake.clear()
        try:
            events_flush()
        except Exception:  # already logged; the events wait in the buffer
            pass
        finally:
            connection.close()  # this thread's own connection: never left open between flushes


def _ensure_flusher() -> None:
    global _flusher
    if _flusher is not None and _flusher.is_alive():
        return
    with _lock:
        if _flusher is None or not _flusher.is_alive():
            _flusher = threading.Thread(target=_flush_loop, name="shopper-events", daemon=True)
            _flusher.start()


def _flush_at_exit() -> None:
    try:
        events_flush()
    except Exception:  # the database is gone already: nothing more can be done
        logger.warning("Shopper events left unwritten at shutdown")


atexit.register(_flush_at_exit)


def events_pending() -> int:
    with _lock:
        return len(_events)
