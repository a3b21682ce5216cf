"""Writes of bought together: the build (a model version with its rules and artifact), overrides, the cart."""

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
from recommend.bought_together.training import basket_data, config, fit_blend
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


def bought_together_build(*, progress: ProgressCallback | None = None) -> ModelVersion:
    """Mine rules and train the graph on every order; store both as a new active `bought_together` version."""
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
        stored = rules_store(version=version, fitted_rules=fitted.rules, product_ids=data.product_ids)
        with tempfile.TemporaryDirectory() as scratch:
            path = artifact_write(
                folder=Path(scratch),
                fitted=fitted,
                data=data,
                evidence_min_count=int(config()["evidence_min_count"]),
            )
            model_version_save_artifact(version=version, local_path=path)
        metrics = {**fitted.metrics, "rules_stored": stored, "build_seconds": round(time.monotonic() - started, 2)}
        model_version_mark(version=version, status=ModelVersion.Status.READY, metrics=metrics)
        model_version_activate(version=version)
    except Exception:
        model_version_mark(version=version, status=ModelVersion.Status.FAILED)
        raise
    progress(1.0, f"{stored} rules from {len(data.baskets)} orders")
    return version


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
