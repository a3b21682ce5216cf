"""Training a classifier version on the live catalog and deciding whether it goes live.

Labels are the live tree's paths of category ids cut to CLASSIFIER_MAX_DEPTH, taken from products
whose category came from an import or from staff. A new version is compared with the active one
on a stable held-out split, both read through the live tree.
"""

import hashlib
import random
import tempfile
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

from catalog.models import Product
from recommend.classification.selectors import (
    category_label,
    category_parents,
    live_path_of_prediction,
    load_classifier,
    product_texts,
)
from recommend.core.progress import ProgressCallback
from recommend.core.registry import (
    model_version_activate,
    model_version_create,
    model_version_mark,
    model_version_save_artifact,
)
from recommend.models import ModelVersion

if TYPE_CHECKING:
    from recommend.ml.classification import ClassifierConfig

HELDOUT_PERCENT = 20  # products held out (by a stable hash of their id) to compare versions
LABELLED_SOURCES = (Product.CategorySource.IMPORTED, Product.CategorySource.MANUAL)
# Demo mode: a small, fast model on a label-balanced sample, so `make demo` trains in about a minute.
DEMO_LIMIT = 12000
DEMO_CONFIG = {"embedding_dim": 64, "hidden_dim": 64, "attention_dim": 32, "bag_dim": 64, "buckets": 2**16,
               "epochs": 4, "patience": 2, "batch_size": 128, "max_len": 24}  # fmt: skip


class NotEnoughTrainingData(ValueError):
    pass


def is_heldout(product_id: int) -> bool:
    """Stable membership in the held-out split: the same product is held out for every version."""
    return zlib.crc32(str(product_id).encode()) % 100 < HELDOUT_PERCENT


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


def training_examples(*, limit: int | None = None) -> tuple[list[int], list[str], list[tuple[str, ...]]]:
    """(product ids, texts, id-path labels) of every product whose category came from an import or staff."""
    parents = category_parents()
    depth = settings.CLASSIFIER_MAX_DEPTH
    rows = list(
        Product.objects.filter(category__isnull=False, category_source__in=LABELLED_SOURCES, merged_into__isnull=True)
        .order_by("pk")
        .values_list("pk", "category_id")
    )
    labels = [category_label(category_id, parents, depth) for _, category_id in rows]
    if limit:
        chosen = balanced_sample(labels, limit)
        rows, labels = [rows[i] for i in chosen], [labels[i] for i in chosen]
    ids = [pk for pk, _ in rows]
    texts: list[str] = []
    for start in range(0, len(ids), 5000):
        chunk = list(Product.objects.filter(pk__in=ids[start : start + 5000]).select_related("brand").order_by("pk"))
        texts.extend(product_texts(chunk))
    return ids, texts, labels


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


def heldout_metrics(model: Any, texts: list[str], truth: list[tuple[str, ...]], *, live: bool) -> dict[str, float]:
    """Per-level accuracy / macro-F1 and path accuracy on the held-out products.

    With `live`, predictions are re-read from the live tree through their leaf id, which is how the
    version is served: an older model is judged on what staff would actually see, not on stale paths.
    """
    from recommend.ml.classification.metrics import evaluate

    depth = settings.CLASSIFIER_MAX_DEPTH
    predicted = model.predict_paths(texts)
    if live:
        parents = category_parents()
        predicted = [live_path_of_prediction(path, parents, depth) for path in predicted]
    return evaluate(predicted, truth, depth)


def threshold_metrics(model: Any, texts: list[str], truth: list[tuple[str, ...]]) -> dict[str, float]:
    """What the confidence threshold does on held-out products: how many would be set automatically, how well."""
    threshold = settings.CLASSIFIER_CONFIDENCE_THRESHOLD
    top = [predictions[0] for predictions in model.predict(texts, top_k=1)]
    confident = [(p, t) for p, t in zip(top, truth, strict=True) if p.confidence >= threshold]
    return {
        "threshold": threshold,
        "automatic_share": len(confident) / len(top) if top else 0.0,
        "automatic_path_accuracy": sum(p.path == t for p, t in confident) / len(confident) if confident else 0.0,
        "review_share": 1 - len(confident) / len(top) if top else 0.0,
    }


def classifier_train(
    *,
    force: bool = False,
    epochs: int | None = None,
    limit: int | None = None,
    demo: bool = False,
    config_overrides: dict[str, Any] | None = None,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Train a classifier version on the live catalog; activate it if it is at least as good as the active one.

    "As good" is full-path accuracy on the held-out products, with both versions read through the live
    tree. `force` activates it regardless. Returns the version id, its metrics and whether it went live.
    """
    from recommend.ml.classification import train_classifier

    report = progress or (lambda fraction, message: None)
    report(0.0, "loading training products")
    if demo and not limit:
        limit = DEMO_LIMIT
    ids, texts, labels = training_examples(limit=limit)
    if len(ids) < 10 or len(set(labels)) < 2:
        raise NotEnoughTrainingData(
            f"Need at least 10 products in at least 2 categories set by an import or by staff; found {len(ids)} "
            f"in {len(set(labels))}."
        )
    heldout = [i for i, pk in enumerate(ids) if is_heldout(pk)]
    heldout_set = set(heldout)
    train = [i for i in range(len(ids)) if i not in heldout_set]
    config = classifier_config(demo=demo, epochs=epochs, overrides=config_overrides)
    params = {
        "config": {**asdict(config), "logit_adjust_grid": list(config.logit_adjust_grid)},
        "train_size": len(train),
        "heldout_size": len(heldout),
        "labels": len(set(labels)),
        "max_depth": settings.CLASSIFIER_MAX_DEPTH,
        "limit": limit,
        "demo": demo,
        "forced": force,
    }
    version = model_version_create(
        kind=ModelVersion.Kind.CLASSIFIER, params=params, dataset_fingerprint=dataset_fingerprint(ids, labels, texts)
    )
    try:
        report(0.05, f"training v{version.version} on {len(train)} products, {len(set(labels))} categories")
        model = train_classifier(
            [texts[i] for i in train],
            [labels[i] for i in train],
            config,
            progress=lambda fraction, message: report(0.05 + 0.8 * fraction, message),
        )
        report(0.86, f"evaluating on {len(heldout)} held-out products")
        heldout_texts, heldout_truth = [texts[i] for i in heldout], [labels[i] for i in heldout]
        metrics: dict[str, Any] = {}
        if heldout:
            metrics.update(
                {
                    f"heldout.{k}": round(v, 4)
                    for k, v in heldout_metrics(model, heldout_texts, heldout_truth, live=False).items()
                }
            )
            metrics.update(
                {f"heldout.{k}": round(v, 4) for k, v in threshold_metrics(model, heldout_texts, heldout_truth).items()}
            )
        active = ModelVersion.objects.filter(
            kind=ModelVersion.Kind.CLASSIFIER, status=ModelVersion.Status.ACTIVE
        ).first()
        if active is not None and heldout:
            active_metrics = heldout_metrics(load_classifier(active), heldout_texts, heldout_truth, live=True)
            metrics["compared_with.version"] = active.version
            metrics.update({f"compared_with.{k}": round(v, 4) for k, v in active_metrics.items()})
        report(0.95, "saving the artifact")
        with tempfile.TemporaryDirectory() as folder:
            local = Path(folder) / "classifier.pt"
            model.save(local)
            model_version_save_artifact(version=version, local_path=local)
    except Exception:
        model_version_mark(version=version, status=ModelVersion.Status.FAILED)
        raise
    better = active is None or metrics.get("heldout.path_accuracy", 0.0) >= metrics.get(
        "compared_with.path_accuracy", 0.0
    )
    activate = force or better
    metrics["activated"] = activate
    metrics["activation_reason"] = (
        "forced by staff" if force and not better
        else "no active version" if active is None
        else "at least as good as the active version" if better
        else "worse than the active version on the held-out products"
    )  # fmt: skip
    model_version_mark(version=version, status=ModelVersion.Status.READY, metrics=metrics)
    if activate:
        model_version_activate(version=version)
    report(1.0, f"v{version.version} {'activated' if activate else 'kept inactive'}")
    return {"version_id": version.pk, "version": version.version, "activated": activate, "metrics": metrics}
