"""Every model version proves itself on the shop's own data: its held-out evaluation against the capability's
simplest baseline, stored on the version, shown in the admin, printed by `manage.py evaluate`, and used as
the activation gate.

A capability's training scores its model and its baselines per held-out case on the same split (the latest
events or baskets by time, products grouped by normalised title, ...), calls
`recommend.ml.common.comparison.compare` and stores the result with `evaluation_store`. It then activates
through `activate_if_beats_baseline`: a version that does not beat its baseline is kept "ready", not activated
by itself, and says why ("the active version / the baseline keeps serving"); staff may still activate it by
hand from its admin page, which then shows the same sentence.
"""

from collections.abc import Callable
from typing import Any

from django.db import transaction

from recommend.core.registry import model_version_activate
from recommend.ml.common.comparison import Comparison, sentence
from recommend.models import ModelVersion

EVALUATION_KEY = "evaluation"
NOT_ACTIVATED_KEY = "not_activated_because"
DEFAULT_FALLBACK = "no version is active: the shop's fallback serves"


def evaluation_store(*, version: ModelVersion, comparison: Comparison, cases_label: str = "") -> dict[str, Any]:
    """Keep `comparison` on the version (metrics["evaluation"]); `cases_label` words the held-out set for people
    ("your last 643 baskets")."""
    evaluation = {**comparison.as_dict(), "cases_label": cases_label}
    version.metrics = {**version.metrics, EVALUATION_KEY: evaluation}
    version.save(update_fields=["metrics"])
    return evaluation


def evaluation_of(version: ModelVersion) -> dict[str, Any] | None:
    evaluation = (version.metrics or {}).get(EVALUATION_KEY)
    return evaluation if isinstance(evaluation, dict) and "difference" in evaluation else None


def evaluation_sentence(version: ModelVersion) -> str:
    """The version's evaluation in words, or why there is none."""
    evaluation = evaluation_of(version)
    if evaluation is None:
        return "Not evaluated against a baseline (trained before evaluation was recorded, or too little data)"
    return sentence(evaluation)


def evaluation_chart(version: ModelVersion) -> list[dict[str, Any]]:
    """Bars for the admin: the model and each baseline, value in percent and width relative to the best."""
    evaluation = evaluation_of(version)
    if evaluation is None:
        return []
    values = {evaluation["model"]: float(evaluation["model_value"]), **evaluation.get("baselines", {})}
    top = max(values.values()) or 1.0
    return [
        {
            "name": name,
            "percent": round(100 * value, 1),
            "width": round(100 * value / top, 1),
            "is_model": name == evaluation["model"],
        }
        for name, value in sorted(values.items(), key=lambda item: -item[1])
    ]


def beats_baseline(version: ModelVersion) -> bool | None:
    """True / False from the stored evaluation; None when the version carries none (no gate applies)."""
    evaluation = evaluation_of(version)
    return None if evaluation is None else bool(evaluation.get("beats", evaluation["difference"] > 0))


@transaction.atomic
def activate_if_beats_baseline(*, version: ModelVersion, force: bool = False, fallback: str = DEFAULT_FALLBACK) -> bool:
    """Activate `version` unless its evaluation says it does not beat its baseline (`force` activates anyway).

    Returns whether it was activated; when not, metrics["not_activated_because"] says why and who serves:
    the active version, or when there is none the capability's `fallback` ("popularity serves instead")."""
    version.refresh_from_db()
    if force or beats_baseline(version) is not False:
        model_version_activate(version=version)
        return True
    active = (
        ModelVersion.objects.filter(kind=version.kind, status=ModelVersion.Status.ACTIVE).exclude(pk=version.pk).first()
    )
    serving = f"v{active.version} keeps serving" if active is not None else fallback
    version.metrics = {**version.metrics, NOT_ACTIVATED_KEY: f"{evaluation_sentence(version)}: {serving}."}
    version.save(update_fields=["metrics"])
    return False


@transaction.atomic
def activate_if_beats_baseline_and_active(
    *,
    version: ModelVersion,
    score: Callable[[ModelVersion], float | None],
    describe: Callable[[float, float, ModelVersion], str],
    force: bool = False,
    fallback: str = DEFAULT_FALLBACK,
) -> bool:
    """The gate with a second condition: besides beating its baseline, the version's `score` must not be below
    the active version's (when both are known); `describe(new, old, active)` words a refusal. `force` overrides."""
    active = (
        ModelVersion.objects.select_for_update()
        .filter(kind=version.kind, status=ModelVersion.Status.ACTIVE)
        .exclude(pk=version.pk)
        .first()
    )
    if not force and active is not None and beats_baseline(version) is not False:
        new, old = score(version), score(active)
        if new is not None and old is not None and new < old:
            because = f"{describe(new, old, active)}: v{active.version} keeps serving."
            version.metrics = {**version.metrics, NOT_ACTIVATED_KEY: because}
            version.save(update_fields=["metrics"])
            return False
    return activate_if_beats_baseline(version=version, force=force, fallback=fallback)
