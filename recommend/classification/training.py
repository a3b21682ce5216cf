"""Training a classifier version on the live catalog and deciding whether it goes live.

Labels are the live tree's paths of category ids cut to CLASSIFIER_MAX_DEPTH, taken from products
whose category came from an import or from staff. A new version is compared with the active one
on the fixed held-out set of `evaluation.py`, both scored there when the new one is trained.
"""

import hashlib
import random
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

from recommend.classification.evaluation import (
    EvaluationSet,
    LabelledRow,
    active_metrics,
    evaluation_set,
    is_heldout,
    labelled_rows,
    texts_of,
)
from recommend.classification.selectors import category_label, category_parents, load_classifier
from recommend.classification.training_plan import EtaProgress, timing_metrics, training_estimate
from recommend.classification.versus_baseline import candidate_against_baseline, store_and_activate
from recommend.core.progress import ProgressCallback, no_progress
from recommend.core.registry import (
    model_version_create,
    model_version_mark,
    model_version_save_artifact,
)
from recommend.ml.common.comparison import Comparison
from recommend.models import ModelVersion

if TYPE_CHECKING:
    from recommend.ml.classification import ClassifierConfig

# Demo mode: a small, fast model on a label-balanced sample, so `make demo` trains in about a minute.
DEMO_LIMIT = 12000
DEMO_CONFIG = {"embedding_dim": 64, "hidden_dim": 64, "attention_dim": 32, "bag_dim": 64, "buckets": 2**16,
               "epochs": 4, "patience": 2, "batch_size": 128, "max_len": 24}  # fmt: skip


class NotEnoughTrainingData(ValueError):
    pass


def balanced_sample(labels: Sequence[tuple[str, ...]], limit: int, seed: int = 13) -> list[int]:
    """Indexes of at most `limit` examples, capping each label so one huge category cannot crowd out the rest."""
    if len(labels) <= limit:
        return list(range(len(labels)))
    counts = Counter(labels)
    low, high = 1, max(counts.values())
    while low < high:  # largest per-label cap that keeps the sample within the limit
        cap = (low + high + 1) // 2
        if sum(min(count, cap) for count in counts.values()) <= limit:
            low = cap
        else:
            high = cap - 1
    order = list(range(len(labels)))
    random.Random(seed).shuffle(order)
    taken: Counter[tuple[str, ...]] = Counter()
    chosen = []
    for index in order:
        if taken[labels[index]] < low:
            taken[labels[index]] += 1
            chosen.append(index)
    return sorted(chosen)


def training_examples(
    *, limit: int | None = None, rows: Sequence[LabelledRow] | None = None
) -> tuple[list[int], list[str], list[tuple[str, ...]]]:
    """(product ids, texts, id-path labels) to train on: labelled products outside the fixed held-out set.

    With `limit`, a label-balanced sample of at most that many; the held-out set never shrinks with it.
    """
    parents = category_parents()
    depth = settings.CLASSIFIER_MAX_DEPTH
    rows = [row for row in (labelled_rows() if rows is None else rows) if not is_heldout(row[2])]
    labels = [category_label(category_id, parents, depth) for _, category_id, _ in rows]
    if limit:
        chosen = balanced_sample(labels, limit)
        rows, labels = [rows[i] for i in chosen], [labels[i] for i in chosen]
    ids = [pk for pk, _, _ in rows]
    return ids, texts_of(ids), labels


def dataset_fingerprint(ids: Sequence[int], labels: Sequence[tuple[str, ...]], texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for pk, label, text in zip(ids, labels, texts, strict=True):
        digest.update(f"{pk}\t{'/'.join(label)}\t{text}\n".encode())
    return digest.hexdigest()


def classifier_config(
    *, demo: bool = False, epochs: int | None = None, overrides: dict[str, Any] | None = None
) -> "ClassifierConfig":
    """The model configuration: the library's defaults, the demo's small model, then explicit overrides."""
    from recommend.ml.classification import ClassifierConfig

    known = {f.name for f in fields(ClassifierConfig)}
    unknown = set(overrides or {}) - known
    if unknown:
        raise ValueError(f"Unknown classifier settings: {', '.join(sorted(unknown))}.")
    config = ClassifierConfig(**{**(DEMO_CONFIG if demo else {}), **(overrides or {})})
    if epochs:
        config.epochs = epochs
    return config


@dataclass(frozen=True)
class TrainingSet:
    """The products a version trains on, and the fixed held-out set every version is judged on."""

    ids: list[int]
    texts: list[str]
    labels: list[tuple[str, ...]]
    evaluation: EvaluationSet


def training_set(*, limit: int | None) -> TrainingSet:
    rows = labelled_rows()
    ids, texts, labels = training_examples(limit=limit, rows=rows)
    if len(ids) < 10 or len(set(labels)) < 2:
        raise NotEnoughTrainingData(
            f"Need at least 10 products in at least 2 categories set by an import or by staff; found {len(ids)} "
            f"in {len(set(labels))}."
        )
    return TrainingSet(ids, texts, labels, evaluation_set(rows))


def version_metrics(
    model: Any, data: TrainingSet, active: ModelVersion | None, progress: ProgressCallback
) -> tuple[dict[str, Any], Comparison | None]:
    """The new model, the TF-IDF baseline and the active version, all scored now on the same fixed held-out set
    (live tree); with the new model's comparison against the baseline."""
    evaluation = data.evaluation
    progress(0.0, f"evaluating the new version on {len(evaluation.ids):,} held-out products")
    metrics, comparison = candidate_against_baseline(model, data.texts, data.labels, evaluation, progress)
    if active is not None:
        progress(0.7, f"re-scoring the active v{active.version} on the same {len(evaluation.ids):,} products")
        metrics.update(active_metrics(load_classifier(active), active.version, evaluation))
    return metrics, comparison


def activation_decision(*, metrics: dict[str, Any], active: ModelVersion | None, force: bool) -> tuple[bool, str]:
    """(activate?, why): at least as good as the active version on held-out path accuracy, or forced."""
    better = active is None or metrics.get("heldout.path_accuracy", 0.0) >= metrics.get(
        "compared_with.path_accuracy", 0.0
    )
    reason = (
        "forced by staff" if force and not better
        else "no active version" if active is None
        else "at least as good as the active version" if better
        else "worse than the active version on the held-out products"
    )  # fmt: skip
    return force or better, reason


def classifier_train(
    *,
    force: bool = False,
    epochs: int | None = None,
    limit: int | None = None,
    demo: bool = False,
    config_overrides: dict[str, Any] | None = None,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Train a classifier version on the live catalog; activate it if it is at least as good as the active one
    and beats the TF-IDF + linear baseline.

    "As good" is full-path accuracy on the fixed held-out products (grouped by normalised title), both versions
    scored there now through the live tree; the baseline is trained on the same products and scored per held-out
    product beside the model (`versus_baseline`). `force` activates it regardless. Every progress message carries
    an ETA. Returns the version id, its metrics and whether it went live.
    """
    from recommend.ml.classification import train_classifier  # torch: loaded on first use

    started = time.monotonic()
    report = progress or no_progress
    report(0.0, "loading training products")
    limit = limit or (DEMO_LIMIT if demo else None)
    data = training_set(limit=limit)
    estimate = training_estimate(available=len(data.ids), limit=None, demo=demo, epochs=epochs)
    eta = EtaProgress(report, estimate.seconds)
    config = classifier_config(demo=demo, epochs=epochs, overrides=config_overrides)
    version = model_version_create(
        kind=ModelVersion.Kind.CLASSIFIER,
        params=version_params(config=config, data=data, limit=limit, demo=demo, force=force),
        dataset_fingerprint=dataset_fingerprint(data.ids, data.labels, data.texts),
    )
    try:
        eta(0.05, f"training v{version.version} on {len(data.ids):,} products, {len(set(data.labels))} categories")
        model = train_classifier(
            data.texts, data.labels, config, progress=eta.phase(0.05, 0.85), device=settings.TORCH_DEVICE
        )
        active = ModelVersion.objects.filter(
            kind=ModelVersion.Kind.CLASSIFIER, status=ModelVersion.Status.ACTIVE
        ).first()
        metrics, comparison = version_metrics(model, data, active, eta.phase(0.86, 0.95))
        eta(0.95, "saving the artifact")
        with tempfile.TemporaryDirectory() as folder:
            local = Path(folder) / "classifier.pt"
            model.save(local)
            model_version_save_artifact(version=version, local_path=local)
    except Exception:  # failed or cancelled (JobCancelled at a progress call): never left "training"
        model_version_mark(version=version, status=ModelVersion.Status.FAILED)
        raise
    wanted, metrics["activation_reason"] = activation_decision(metrics=metrics, active=active, force=force)
    metrics.update(timing_metrics(started=started, train_products=len(data.ids), demo=demo))
    metrics["timing.device"] = str(model.device)  # where it trained (TORCH_DEVICE)
    model_version_mark(version=version, status=ModelVersion.Status.READY, metrics=metrics)
    activate, refused = store_and_activate(version=version, comparison=comparison, wanted=wanted, force=force)
    version.refresh_from_db()
    metrics = {**version.metrics, "activated": activate, **({"activation_reason": refused} if refused else {})}
    model_version_mark(version=version, status=version.status, metrics=metrics)
    report(1.0, f"v{version.version} {'activated' if activate else 'kept inactive'}")
    return {"version_id": version.pk, "version": version.version, "activated": activate, "metrics": metrics}


def version_params(
    *, config: "ClassifierConfig", data: TrainingSet, limit: int | None, demo: bool, force: bool
) -> dict[str, Any]:
    """What the version records about how it was trained, and on which fixed set it was judged."""
    return {
        "config": {**asdict(config), "logit_adjust_grid": list(config.logit_adjust_grid)},
        "train_size": len(data.ids),
        "heldout_size": len(data.evaluation.ids),
        "evaluation": data.evaluation.describe(),
        "labels": len(set(data.labels)),
        "max_depth": settings.CLASSIFIER_MAX_DEPTH,
        "limit": limit,
        "demo": demo,
        "forced": force,
    }
