"""A shopper's own data: export it, erase it ("forget me"), switch personalisation off.

Recommendations are computed from the stored events at request time, so erasing the events and the
"not interested" feedback changes the next recommendation at once; the next training reads the events
table, so they are gone from the next model too. Model artifacts hold product ids and weights only,
never visitor ids (tests/unit/test_h14_privacy.py checks a trained artifact).
"""

from typing import Any

from django.db import transaction

from catalog.selectors import personalisation_enabled, visitor_history
from catalog.services import visitor_history_erase, visitor_personalisation_set
from recommend.sequential.models import RecommendationFeedback


def visitor_data_export(*, visitor_ids: list[str]) -> dict[str, Any]:
    feedback = RecommendationFeedback.objects.filter(visitor_id__in=visitor_ids).order_by("-created_at")
    return {
        "visitor_ids": visitor_ids,
        "personalisation": personalisation_enabled(visitor_ids=visitor_ids),
        "events": visitor_history(visitor_ids=visitor_ids),
        "not_interested": [
            {"product_id": product_id, "created_at": created.isoformat()}
            for product_id, created in feedback.values_list("product_id", "created_at")
        ],
    }


@transaction.atomic
def visitor_forget(*, visitor_ids: list[str]) -> dict[str, int]:
    """Erase the events and the feedback of these ids in one transaction; the preference itself is kept."""
    events = visitor_history_erase(visitor_ids=visitor_ids)
    feedback, _ = RecommendationFeedback.objects.filter(visitor_id__in=visitor_ids).delete()
    return {"events": events, "not_interested": feedback}


def visitor_personalisation(*, visitor_ids: list[str], enabled: bool) -> None:
    visitor_personalisation_set(visitor_ids=visitor_ids, enabled=enabled)
