"""A shopper's own data: export it, erase it ("forget me"), switch personalisation off.

Recommendations are computed from the stored events at request time, so erasing the events and the
"not interested" feedback changes the next recommendation at once; the next training reads the events
table, so they are gone from the next model too. Model artifacts hold product ids and weights only,
never visitor ids (tests/unit/test_h14_privacy.py checks a trained artifact).

The person is every visitor id they have had: the browser's visitor id, and for a signed-in shopper every id
linked to the account and every event stored under it. Erasing also drops this process's buffered events of
those ids, marks the ids erased (another process's buffered events for them are refused when written), clears
the session's shopping data (the cart; a sign-in is kept) and gives the browser a new visitor id. An opt-out
survives the erase: the new id starts with personalisation off.
"""

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from catalog.events import events_discard
from catalog.selectors import of_person, personalisation_enabled, visitor_history
from catalog.services import visitor_history_erase, visitor_personalisation_set
from catalog.visitors import visitor_rotate
from recommend.sequential.models import RecommendationFeedback


def _account(request: HttpRequest) -> Any:
    return request.user if request.user.is_authenticated else None


def _feedback(visitor_ids: list[str], user: Any) -> Any:
    return RecommendationFeedback.objects.filter(of_person(visitor_ids, user))


def visitor_data_export(*, visitor_ids: list[str], user: Any = None) -> dict[str, Any]:
    feedback = _feedback(visitor_ids, user).order_by("-created_at")
    return {
        "visitor_ids": visitor_ids,
        "personalisation": personalisation_enabled(visitor_ids=visitor_ids),
        "events": visitor_history(visitor_ids=visitor_ids, user=user),
        "not_interested": [
            {"product_id": product_id, "created_at": created.isoformat()}
            for product_id, created in feedback.values_list("product_id", "created_at")
        ],
    }


@transaction.atomic
def visitor_forget(*, visitor_ids: list[str], user: Any = None) -> dict[str, int]:
    """Erase the events and the feedback of these ids and of the account in one transaction."""
    events_discard(visitor_ids=visitor_ids)
    events = visitor_history_erase(visitor_ids=visitor_ids, user=user)
    feedback, _ = _feedback(visitor_ids, user).delete()
    return {"events": events, "not_interested": feedback}


def request_data_export(request: HttpRequest, visitor_ids: list[str]) -> dict[str, Any]:
    return visitor_data_export(visitor_ids=visitor_ids, user=_account(request))


def request_forget(request: HttpRequest, visitor_ids: list[str]) -> dict[str, int]:
    """Forget me, for the person behind this request; the browser leaves with a new visitor id."""
    user = _account(request)
    opted_out = bool(visitor_ids) and not personalisation_enabled(visitor_ids=visitor_ids)
    erased = visitor_forget(visitor_ids=visitor_ids, user=user)
    for key in [key for key, _ in request.session.items() if not key.startswith("_")]:  # the cart; not the sign-in
        del request.session[key]
    fresh = visitor_rotate(request)
    if opted_out:
        visitor_personalisation_set(visitor_ids=[fresh], enabled=False, user=user)
    return erased


def visitor_personalisation(*, visitor_ids: list[str], enabled: bool, user: Any = None) -> None:
    visitor_personalisation_set(visitor_ids=visitor_ids, enabled=enabled, user=user)
