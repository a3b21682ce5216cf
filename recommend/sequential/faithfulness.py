"""How many of the reasons shown are true: the faithfulness measure of issue 23 item 2.

A shown reason that names history products passes when, for each product it names, rebuilding the whole
ranking from scratch with that product's events removed from the history (model scores, content neighbours of
the remaining recent items, departments, popular products: nothing reused from the request that made the
reason) lowers the recommended item's score by RECOMMEND_REASON_MIN_DROP or its rank by
RECOMMEND_REASON_MIN_RANK_DROP places. `faithful_share` is the share of such reasons that pass; reasons that
name no history product ("Popular in Beauty", "Picked for your interest in Beauty") are counted apart.
"""

from collections.abc import Sequence
from typing import Any

from django.conf import settings

from recommend.core.selectors import VisitorEvent
from recommend.sequential.artifact import active_artifact
from recommend.sequential.selectors import intent_ranker, recommendations_for, request_state


def _position(order: Sequence[Any], target: int) -> int:
    return next((rank for rank, item in enumerate(order) if item.product_id == target), len(order))


def named_item_passes(
    *, events: Sequence[VisitorEvent], exclude: set[int], artifact: Any, target: int, removed: int
) -> bool:
    """Whether removing `removed` from the history lowers `target`'s score or rank materially (full re-rank)."""
    full = intent_ranker(events=events, exclude=exclude, artifact=artifact, extra=[target])
    without = [event for event in events if event.product_id != removed]
    if not without:
        return True  # nothing left to recommend it from
    variant = intent_ranker(events=without, exclude=exclude, artifact=artifact, extra=[target])
    if target not in full.scores or target not in variant.scores:
        return target in full.scores
    drop = full.scores[target].score - variant.scores[target].score
    rank_drop = _position(variant.order, target) - _position(full.order, target)
    return drop >= settings.RECOMMEND_REASON_MIN_DROP or rank_drop >= settings.RECOMMEND_REASON_MIN_RANK_DROP


def reasons_checked(*, visitor_ids: Sequence[str], results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per shown reason: {product_id, kind, named (history ids), passed (None when it names none)}."""
    _, artifact = active_artifact()
    events, _, exclude = request_state(visitor_ids)
    rows = []
    for result in results:
        for reason in result["reasons"]:
            named = [entry["product_id"] for entry in reason.get("items", [])]
            passed = (
                all(
                    named_item_passes(
                        events=events, exclude=exclude, artifact=artifact, target=result["id"], removed=pk
                    )
                    for pk in named
                )
                if named
                else None
            )
            rows.append({"product_id": result["id"], "kind": reason["kind"], "named": named, "passed": passed})
    return rows


def faithful_share(*, visitor_ids: Sequence[str], limit: int = 8) -> dict[str, Any]:
    """{"reasons", "naming_history", "passed", "share"} over the reasons shown to these visitor ids now.

    `share` is passed / naming_history (1.0 when no reason names a history product: nothing false was said).
    """
    results = recommendations_for(visitor_ids=visitor_ids, limit=limit)["results"]
    rows = reasons_checked(visitor_ids=visitor_ids, results=results)
    naming = [row for row in rows if row["passed"] is not None]
    passed = sum(1 for row in naming if row["passed"])
    return {
        "reasons": len(rows),
        "naming_history": len(naming),
        "passed": passed,
        "share": passed / len(naming) if naming else 1.0,
    }
