"""Follow-up work after edits: one debounced job per kind for bulk and tree changes, said in the admin.

A staff edit that changes many things (a category moved or renamed, fifty suggestions accepted) must not
start a retrain or a rebuild per click. `followup_schedule` queues ONE job of a kind that runs after
REBUILD_QUIET_SECONDS without further edits; a later edit re-arms the same queued job (its `run_after`
moves) instead of adding another. What was queued is collected per request, and
`FollowupMessagesMiddleware` turns it into one admin message ("... queued, runs at 10:42 UTC").
"""

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from recommend.core.jobs import job_create, job_enqueue, job_kind_label, job_run_mode
from recommend.models import Job


@dataclass
class Followup:
    """One line of the admin message: what happens next and when."""

    label: str
    job_id: int | None
    due: datetime | None
    rearmed: bool = False
    detail: str = ""


_collected = threading.local()


def followups_collected() -> list[Followup]:
    if not hasattr(_collected, "items"):
        _collected.items = []
    return _collected.items


def followup_note(*, label: str, detail: str = "", job_id: int | None = None, due: datetime | None = None) -> None:
    """Record something done or queued on behalf of the current request (shown to staff after it)."""
    followups_collected().append(Followup(label=label, job_id=job_id, due=due, detail=detail))


def products_changed_in_request(count: int) -> int:
    """Products changed so far by the current admin request, this change included (just `count` outside one).

    Receivers use it to choose: a handful are updated in place, more (a bulk accept split into several
    saves) queue one rebuild instead, so a bulk decision never costs one update per product.
    """
    if getattr(_collected, "changed", None) is None:
        return count
    _collected.changed += count
    return int(_collected.changed)


def quiet_seconds() -> int:
    return int(settings.REBUILD_QUIET_SECONDS)


def followup_schedule(
    *, kind: str, params: Any = None, reason: str = "", quiet: int | None = None, user: Any = None
) -> Job:
    """Queue one `kind` job due after a quiet period; a queued one of that kind is re-armed, not duplicated.

    A job already running keeps running (it may have read the data before this edit), so a new queued
    one catches up after it. Returns the queued job.
    """
    delay = quiet_seconds() if quiet is None else quiet
    due = timezone.now() + timedelta(seconds=delay)
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        params = dataclasses.asdict(params)
    with transaction.atomic():
        waiting = (
            Job.objects.select_for_update()
            # Only debounced ones: a training staff started by hand is never postponed by an edit.
            .filter(kind=kind, status=Job.Status.QUEUED, cancel_requested=False, run_after__isnull=False)
            .order_by("pk")
            .first()
        )
        rearmed = waiting is not None
        if waiting is None:
            waiting = job_create(kind=kind, params=params, user=user, enqueue=False)
        message = f"waiting for {delay} s without edits ({reason or 'changes'})"
        Job.objects.filter(pk=waiting.pk).update(run_after=due, message=message[:500])
        waiting.run_after, waiting.message = due, message
        if not rearmed or job_run_mode() == "celery":
            # Celery holds the message until its ETA; a re-armed job needs a message with the new ETA.
            job_enqueue(job=waiting, defer=True)
    followups_collected().append(
        Followup(label=job_kind_label(kind), job_id=waiting.pk, due=due, rearmed=rearmed, detail=reason)
    )
    return waiting


def followup_text(item: Followup) -> str:
    if item.due is None:
        return f"{item.label}{f': {item.detail}' if item.detail else ''}."
    when = timezone.localtime(item.due).strftime("%H:%M:%S %Z")
    seconds = max(0, round((item.due - timezone.now()).total_seconds()))
    verb = "moved to" if item.rearmed else "queued for"
    return (
        f"{item.label} (job #{item.job_id}) {verb} {when}, in {seconds} s: it runs once after "
        f"{quiet_seconds()} s without further edits{f' ({item.detail})' if item.detail else ''}."
    )


class FollowupMessagesMiddleware:
    """After an admin request, tell staff what their edit updated at once and what it queued, and when."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        _collected.items, _collected.changed = [], 0
        try:
            response = self.get_response(request)
            items = list(followups_collected())
        finally:
            _collected.items, _collected.changed = [], None
        if items and request.path.startswith("/admin/") and hasattr(request, "_messages"):
            seen: set[tuple[str, int | None]] = set()
            for item in items:
                if (item.label, item.job_id) in seen:
                    continue  # one line per job, however many signals re-armed it
                seen.add((item.label, item.job_id))
                messages.info(request, followup_text(item))
        return response
