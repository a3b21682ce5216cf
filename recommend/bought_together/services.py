"""Writes of bought together: the build (a model version with its rules and artifact), overrides, the cart.

The build's version carries the blend's evaluation against pair co-occurrence and popularity on the latest
orders (`training.fit_blend`) and is activated only when it beats them and is not worse there than the active
version was on its own latest orders (`bought_together_activate`). When no version is active the shop would
fall back to the same category in catalog order (selectors), worse than either baseline; so a blend that does
not beat its baseline, with none active, is followed by a version that serves the strongest baseline itself.
"""

import logging
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction

from catalog.models import Product
from recommend.bought_together.artifact import artifact_write
from recommend.bought_together.models import AssociationRule, PairOverride
from recommend.bought_together.training import BasketData, FittedBlend, baseline_blend, basket_data, config, fit_blend
from recommend.core.evaluation import (
    DEFAULT_FALLBACK,
    NOT_ACTIVATED_KEY,
    activate_if_beats_baseline_and_active,
    evaluation_of,
    evaluation_store,
)
from recommend.core.progress import ProgressCallback, scaled_progress
from recommend.core.registry import (
    model_version_activate,
    model_version_create,
    model_version_mark,
    model_version_save_artifact,
)
from recommend.models import ModelVersion

logger = logging.getLogger(__name__)
RULE_BATCH = 5000
CART_SESSION_KEY = "cart"
CART_MAX_ITEMS = 100


class NoBasketsError(ValueError):
    """There are no orders to learn from yet."""


def _quiet(fraction: float, message: str = "") -> None:
    return None


def bought_together_build(*, progress: ProgressCallback | None = None, force: bool = False) -> ModelVersion:
    """Mine rules and train the graph on every order; store both as a new `bought_together` version, activated
    when it beats its baseline on the latest orders (`bought_together_activate`; `force`: activated anyway)."""
    progress = progress or _quiet
    started = time.monotonic()
    progress(0.0, "reading orders")
    data = basket_data()
    if not data.baskets:
        raise NoBasketsError("No orders yet: import purchase interactions that share an order_id first.")
    version = model_version_create(
        kind=ModelVersion.Kind.BOUGHT_TOGETHER, params=config(), dataset_fingerprint=data.fingerprint()
    )
    try:
        fitted = fit_blend(data, progress=scaled_progress(progress, 0.05, 0.85))
        progress(0.86, "storing rules")
        stored = _store(version=version, fitted=fitted, data=data, started=started)
    except Exception:
        model_version_mark(version=version, status=ModelVersion.Status.FAILED)
        raise
    if fitted.comparison is not None:
        evaluation_store(
            version=version,
            comparison=fitted.comparison,
            cases_label=f"your last {fitted.comparison.cases} orders of two or more products",
        )
    activated = bought_together_activate(version=version, force=force)
    if not activated and not ModelVersion.objects.filter(kind=version.kind, status=ModelVersion.Status.ACTIVE).exists():
        _serve_baseline(version=version, fitted=fitted, data=data)
    progress(1.0, f"{stored} rules from {len(data.baskets)} orders, {'active' if activated else 'kept ready'}")
    return version


def _store(*, version: ModelVersion, fitted: FittedBlend, data: BasketData, started: float) -> int:
    """The version's rules and artifact; marked ready with its metrics."""
    stored = rules_store(version=version, fitted_rules=fitted.rules, product_ids=data.product_ids)
    with tempfile.TemporaryDirectory() as scratch:
        path = artifact_write(
            folder=Path(scratch), fitted=fitted, data=data, evidence_min_count=int(config()["evidence_min_count"])
        )
        model_version_save_artifact(version=version, local_path=path)
    metrics = {**fitted.metrics, "rules_stored": stored, "build_seconds": round(time.monotonic() - started, 2)}
    model_version_mark(version=version, status=ModelVersion.Status.READY, metrics=metrics)
    return stored


@transaction.atomic
def bought_together_activate(*, version: ModelVersion, force: bool = False) -> bool:
    """Activate `version` when it beats its strongest baseline on its latest orders and its hit@10 there is not
    below the active version's on that one's latest orders (`force` overrides both); else it stays ready and
    metrics["not_activated_because"] says why and what serves."""
    return activate_if_beats_baseline_and_active(
        version=version,
        force=force,
        score=lambda candidate: float(e["model_value"]) if (e := evaluation_of(candidate)) else None,
        describe=lambda new, old, active: (
            f"hit@10 {100 * new:.1f} on its latest orders is below v{active.version}'s {100 * old:.1f} on its own"
        ),
    )


def _serve_baseline(*, version: ModelVersion, fitted: FittedBlend, data: BasketData) -> ModelVersion:
    """A version serving the strongest baseline alone, activated: nothing active would leave the same category
    in catalog order, worse than the baseline the blend was measured against."""
    baseline = str((evaluation_of(version) or {}).get("baseline", "pair co-occurrence"))
    serving = model_version_create(
        kind=ModelVersion.Kind.BOUGHT_TOGETHER,
        params={**config(), "serves_baseline": baseline, "instead_of": version.version},
        dataset_fingerprint=data.fingerprint(),
    )
    try:
        _store(version=serving, fitted=baseline_blend(data, fitted, baseline), data=data, started=time.monotonic())
        model_version_activate(version=serving)
    except Exception:
        model_version_mark(version=serving, status=ModelVersion.Status.FAILED)
        raise
    because = str(version.metrics.get(NOT_ACTIVATED_KEY, ""))
    version.metrics = {
        **version.metrics,
        NOT_ACTIVATED_KEY: because.replace(
            DEFAULT_FALLBACK, f"the baseline serves instead: {baseline} alone, as v{serving.version}"
        ),
    }
    version.save(update_fields=["metrics"])
    return serving


def rules_store(*, version: ModelVersion, fitted_rules: Any, product_ids: Any) -> int:
    """The version's rules as rows (the strongest `max_rules_per_product` per antecedent, by confidence)."""
    table = fitted_rules.table()
    limit = int(config()["max_rules_per_product"])
    rows: dict[int, list[AssociationRule]] = {}
    for position in range(len(table)):
        antecedent = int(product_ids[table.antecedent[position]])
        rows.setdefault(antecedent, []).append(
            AssociationRule(
                model_version=version,
                antecedent_id=antecedent,
                consequent_id=int(product_ids[table.consequent[position]]),
                baskets=int(table.count[position]),
                support=float(table.support[position]),
                confidence=float(table.confidence[position]),
                lift=float(table.lift[position]),
            )
        )
    kept = [rule for group in rows.values() for rule in sorted(group, key=lambda r: -r.confidence)[:limit]]
    with transaction.atomic():
        for start in range(0, len(kept), RULE_BATCH):
            AssociationRule.objects.bulk_create(kept[start : start + RULE_BATCH])
    return len(kept)


def pair_override_set(
    *, product: Product, other: Product, action: str, user: Any = None, note: str = ""
) -> PairOverride:
    """Pin or block `other` with `product` (replacing an earlier override of the pair); applies at once."""
    if product.pk == other.pk:
        raise ValueError("other: a product cannot be paired with itself.")
    override, _ = PairOverride.objects.update_or_create(
        product=product,
        other=other,
        defaults={"action": action, "note": note, "created_by": user if user and user.pk else None},
    )
    return override


def pair_overrides_from_rules(*, rules: Iterable[AssociationRule], action: str, user: Any = None) -> int:
    """Staff pick rules in the admin and pin or block those pairs."""
    count = 0
    for rule in rules:
        pair_override_set(product=rule.antecedent, other=rule.consequent, action=action, user=user)
        count += 1
    return count


def cart_add(*, session: SessionBase, product_id: int) -> list[int]:
    cart = [pk for pk in session.get(CART_SESSION_KEY, []) if pk != product_id]
    cart.append(product_id)
    session[CART_SESSION_KEY] = cart[-CART_MAX_ITEMS:]
    return session[CART_SESSION_KEY]


def cart_remove(*, session: SessionBase, product_id: int) -> list[int]:
    session[CART_SESSION_KEY] = [pk for pk in session.get(CART_SESSION_KEY, []) if pk != product_id]
    return session[CART_SESSION_KEY]
