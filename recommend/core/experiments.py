"""Model experiments (reads): which version a visitor is served, and the evidence per arm.

The arm is a stable hash of (experiment, visitor id), so a shopper keeps their arm across pages
and days without any stored assignment. The storefront tags impressions and clicks of the
experiment's block with the arm's variant ("x<id>a" / "x<id>b", in catalog BlockStat and in the
`?ref=` of the links); add-to-carts and purchases come from the visitors' own interactions.
"""

import hashlib
import math
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Sum
from django.utils import timezone

from catalog.models import BlockStat, Interaction
from recommend.core.models import Experiment

CACHE_KEY = "experiment:running:{kind}"
CACHE_SECONDS = 30
Z_95 = 1.959964


def arm_of(*, experiment_id: int, visitor_id: str, treatment_percent: int) -> str:
    """ "a" (control) or "b" (treatment), the same every time for this visitor and experiment."""
    digest = hashlib.blake2b(f"{experiment_id}:{visitor_id}".encode(), digest_size=8).digest()
    return "b" if int.from_bytes(digest, "big") % 100 < treatment_percent else "a"


def variant_name(experiment_id: int, arm: str) -> str:
    return f"x{experiment_id}{arm}"


def running_experiment(kind: str) -> dict[str, Any] | None:
    """The running experiment on a capability as plain values, cached briefly (read on every product page)."""
    key = CACHE_KEY.format(kind=kind)
    value = cache.get(key)
    if value is None:
        row = (
            Experiment.objects.filter(kind=kind, is_running=True)
            .values("pk", "control_id", "treatment_id", "treatment_percent")
            .first()
        )
        value = row or {}
        cache.set(key, value, CACHE_SECONDS)
    return value or None


def forget_running_experiments() -> None:
    for kind in Experiment.Capability.values:
        cache.delete(CACHE_KEY.format(kind=kind))


def version_for_visitor(*, kind: str, visitor_id: str | None) -> tuple[int | None, str]:
    """(model version id to serve, variant label) for a visitor; (None, "") outside any experiment."""
    experiment = running_experiment(kind)
    if experiment is None or not visitor_id:
        return None, ""
    arm = arm_of(
        experiment_id=experiment["pk"], visitor_id=visitor_id, treatment_percent=experiment["treatment_percent"]
    )
    version_id = experiment["treatment_id"] if arm == "b" else experiment["control_id"]
    return version_id, variant_name(experiment["pk"], arm)


def difference_interval(clicks_a: int, shown_a: int, clicks_b: int, shown_b: int) -> dict[str, float] | None:
    """B's click-through minus A's with a 95 % normal (Wald) interval; None until both arms were shown.

    Impressions of one visitor are not independent, so with few visitors the interval is optimistic.
    """
    if not shown_a or not shown_b:
        return None
    rate_a, rate_b = clicks_a / shown_a, clicks_b / shown_b
    spread = Z_95 * math.sqrt(rate_a * (1 - rate_a) / shown_a + rate_b * (1 - rate_b) / shown_b)
    difference = rate_b - rate_a
    return {"difference": difference, "low": difference - spread, "high": difference + spread}


def _visitor_outcomes(experiment: Experiment) -> dict[str, dict[str, int]]:
    """Visitors, add-to-carts and purchases per arm since the start: one grouped query, arms by hash."""
    until = experiment.ended_at or timezone.now()
    rows = (
        Interaction.objects.filter(timestamp__gte=experiment.started_at, timestamp__lte=until)
        .values("visitor_id", "event")
        .annotate(n=Count("id"))
    )
    arms = {arm: {"visitors": 0, "add_to_carts": 0, "purchases": 0} for arm in ("a", "b")}
    seen: set[str] = set()
    for row in rows:
        arm = arm_of(
            experiment_id=experiment.pk, visitor_id=row["visitor_id"], treatment_percent=experiment.treatment_percent
        )
        if row["visitor_id"] not in seen:
            seen.add(row["visitor_id"])
            arms[arm]["visitors"] += 1
        if row["event"] == Interaction.Event.ADD_TO_CART:
            arms[arm]["add_to_carts"] += row["n"]
        elif row["event"] == Interaction.Event.PURCHASE:
            arms[arm]["purchases"] += row["n"]
    return arms


def experiment_results(experiment: Experiment) -> dict[str, Any]:
    """Per arm: version, visitors, impressions, clicks, click-through, add-to-carts, purchases; and B - A."""
    variants = {variant_name(experiment.pk, arm): arm for arm in ("a", "b")}
    counts: dict[str, tuple[int, int]] = {
        variant: (shown or 0, clicks or 0)
        for variant, shown, clicks in BlockStat.objects.filter(variant__in=variants)
        .values("variant")
        .annotate(shown=Sum("impressions"), clicked=Sum("clicks"))
        .values_list("variant", "shown", "clicked")
    }
    outcomes = _visitor_outcomes(experiment)
    arms: list[dict[str, Any]] = []
    for variant, arm in variants.items():
        shown, clicks = counts.get(variant, (0, 0))
        version = experiment.treatment if arm == "b" else experiment.control
        arms.append(
            {
                "arm": arm.upper(),
                "version": version,
                "impressions": shown,
                "clicks": clicks,
                "ctr": clicks / shown if shown else None,
                **outcomes[arm],
            }
        )
    (clicks_a, shown_a), (clicks_b, shown_b) = ((arm["clicks"], arm["impressions"]) for arm in arms)
    interval = difference_interval(clicks_a, shown_a, clicks_b, shown_b)
    return {"arms": arms, "interval": interval}
