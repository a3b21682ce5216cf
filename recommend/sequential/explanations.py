"""Reasons that are true (issue 23 item 2): a reason names a history product only when taking it out of the
history lowers the recommended item's score or rank materially (`IntentRanker.occlusion`); otherwise it says
what did carry the item: its department ("Picked for your interest in Beauty"), its popularity there, or that
shoppers with a similar history viewed it. The list, the "Why?" page and the API all read reasons from here.
"""

from collections.abc import Sequence
from typing import Any

from catalog.models import Product
from recommend.sequential import reasons
from recommend.sequential.ranking import IntentRanker, Occlusion

MAX_NAMED = 3


def _item(ranker: IntentRanker, occlusion: Occlusion, total: float) -> dict[str, Any]:
    event = ranker.newest_event(occlusion.removed)
    return {
        "product_id": occlusion.removed,
        "event": event.event if event else "view",
        "drop": round(occlusion.drop, 3),
        "weight": round(max(occlusion.drop, 0.0) / total, 3) if total > 0 else 0.0,
    }


def _honest(ranker: IntentRanker, target: int, source: str) -> dict[str, Any]:
    """The reason when no single history product made the item: what did."""
    facts = ranker.facts[target]
    department = facts.department_name
    touched = facts.department_id is not None and facts.department_id in ranker.affinity.departments
    if source == "popular" and department:
        return {"kind": "popular_in_category", "text": f"Popular in {department}{ranker.popular_suffix}"}
    if source == "content" and touched and department:
        return {"kind": "intent", "text": f"Similar to what you viewed in {department}"}
    if touched and department:
        return {"kind": "intent", "text": f"Picked for your interest in {department}"}
    return {"kind": "model", "text": "Often viewed by shoppers with a history like yours"}


def item_reasons(ranker: IntentRanker, targets: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """target -> its first reason (history, similar, or the honest one), checked by occlusion."""
    removable = ranker.removable()
    checked = ranker.occlusion(targets, removable)
    titles = dict(Product.objects.filter(pk__in=removable).values_list("pk", "title"))
    out: dict[int, list[dict[str, Any]]] = {}
    for target in targets:
        scored = ranker.scores[target]
        material = sorted((o for o in checked.get(target, {}).values() if o.material), key=lambda o: -o.drop)
        if scored.source == "content":
            anchor = next((o for o in material if o.removed == scored.anchor), None)
            if anchor is not None:
                text = f"Similar to {titles.get(anchor.removed, 'an item you viewed')}"
                out[target] = [{"kind": "similar", "text": text, "items": [_item(ranker, anchor, anchor.drop)]}]
                continue
        elif scored.source == "model" and material:
            named = material[:MAX_NAMED]
            total = sum(max(o.drop, 0.0) for o in named)
            parts = [
                (
                    reasons.VERBS.get(getattr(ranker.newest_event(o.removed), "event", "view"), "viewed"),
                    titles.get(o.removed, "an item"),
                )
                for o in named
            ]
            text = "Because you " + reasons.phrase(parts)
            out[target] = [{"kind": "history", "text": text, "items": [_item(ranker, o, total) for o in named]}]
            continue
        out[target] = [_honest(ranker, target, scored.source)]
    return out


def history_rows(ranker: IntentRanker, target: int, cited: set[int]) -> list[dict[str, Any]]:
    """The recent history as the "Why?" heat strip shows it: each event with its occlusion weight for `target`
    (its score drop when removed, as a share of all drops) and whether the reason names it."""
    removable = ranker.removable()
    drops = {pk: max(o.drop, 0.0) for pk, o in ranker.occlusion([target], removable)[target].items()}
    total = sum(drops.values())
    top = max(drops.values(), default=0.0)
    titles = dict(Product.objects.filter(pk__in=removable).values_list("pk", "title"))
    rows = []
    for event in ranker.events[-ranker.config.window :]:
        if event.product_id not in drops:
            continue
        drop = drops[event.product_id]
        rows.append(
            {
                "product_id": event.product_id,
                "title": titles.get(event.product_id, ""),
                "event": event.event,
                "verb": reasons.VERBS.get(event.event, "viewed"),
                "timestamp": event.timestamp.isoformat() if event.timestamp else None,
                "weight": round(drop / total, 3) if total > 0 else 0.0,
                "intensity": round(drop / top, 3) if top > 0 else 0.0,
                "drop": round(drop, 3),
                "cited": event.product_id in cited,
            }
        )
    return rows
