"""The fixed held-out set every classifier version is judged on, and the metrics measured there.

Membership is a rule on the product id (crc32 of the id), not on a training run's sample, so a version
trained on 12,000 products and one trained on everything are scored on the very same products. The
candidate and the active version are both re-scored on that set when the candidate is trained, through
the live tree; the rule, the size and a fingerprint of the set are stored with the version.
"""

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from catalog.models import Product
from recommend.classification.selectors import category_label, category_parents, live_path_of_prediction, product_texts

HELDOUT_PERCENT = 20  # a fifth of the labelled products, chosen by a stable hash of their id
HELDOUT_MAX = 10_000  # bounded evaluation time on big catalogs: the products with the lowest hash
LABELLED_SOURCES = (Product.CategorySource.IMPORTED, Product.CategorySource.MANUAL)
RULE = f"labelled products with crc32(id) % 100 < {HELDOUT_PERCENT}; at most {HELDOUT_MAX:,}, lowest crc32(id) first"


def id_hash(product_id: int) -> int:
    return zlib.crc32(str(product_id).encode())


def is_heldout(product_id: int) -> bool:
    """Stable membership in the held-out split: the same product is held out for every version."""
    return id_hash(product_id) % 100 < HELDOUT_PERCENT


@dataclass(frozen=True)
class EvaluationSet:
    ids: list[int]
    texts: list[str]
    truth: list[tuple[str, ...]]

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for pk, label in zip(self.ids, self.truth, strict=True):
            digest.update(f"{pk}\t{'/'.join(label)}\n".encode())
        return digest.hexdigest()

    def describe(self) -> dict[str, Any]:
        """What is stored with the version (params["evaluation"]) so staff can see both were judged alike."""
        return {"rule": RULE, "size": len(self.ids), "fingerprint": self.fingerprint}


def labelled_rows() -> list[tuple[int, int]]:
    """(product id, category id) of every product whose category came from an import or from staff."""
    return list(
        Product.objects.filter(category__isnull=False, category_source__in=LABELLED_SOURCES, merged_into__isnull=True)
        .order_by("pk")
        .values_list("pk", "category_id")
    )


def texts_of(ids: Sequence[int]) -> list[str]:
    """Classifier input texts of products, in the order of `ids` (loaded in chunks)."""
    texts: list[str] = []
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        products = Product.objects.filter(pk__in=chunk).select_related("brand").in_bulk()
        texts.extend(product_texts([products[pk] for pk in chunk]))
    return texts


def evaluation_set(rows: Sequence[tuple[int, int]] | None = None) -> EvaluationSet:
    """The fixed held-out products (by the rule above) with their live-tree labels."""
    rows = labelled_rows() if rows is None else rows
    chosen = sorted((row for row in rows if is_heldout(row[0])), key=lambda row: (id_hash(row[0]), row[0]))
    chosen = sorted(chosen[:HELDOUT_MAX])
    parents = category_parents()
    depth = settings.CLASSIFIER_MAX_DEPTH
    ids = [pk for pk, _ in chosen]
    return EvaluationSet(
        ids=ids, texts=texts_of(ids), truth=[category_label(category, parents, depth) for _, category in chosen]
    )


def path_metrics(model: Any, evaluation: EvaluationSet) -> dict[str, float]:
    """Per-level accuracy / macro-F1 and path accuracy, predictions read through the live tree.

    Reading through the leaf id is how a version is served: an older model is judged on what staff
    would see now, not on paths that were renamed or moved since it was trained.
    """
    from recommend.ml.classification.metrics import evaluate

    depth = settings.CLASSIFIER_MAX_DEPTH
    parents = category_parents()
    predicted = [live_path_of_prediction(path, parents, depth) for path in model.predict_paths(evaluation.texts)]
    return evaluate(predicted, evaluation.truth, depth)


def threshold_metrics(model: Any, evaluation: EvaluationSet) -> dict[str, float]:
    """What the confidence threshold does on held-out products: how many would be set automatically, how well."""
    threshold = settings.CLASSIFIER_CONFIDENCE_THRESHOLD
    top = [predictions[0] for predictions in model.predict(evaluation.texts, top_k=1)]
    confident = [(p, t) for p, t in zip(top, evaluation.truth, strict=True) if p.confidence >= threshold]
    return {
        "threshold": threshold,
        "automatic_share": len(confident) / len(top) if top else 0.0,
        "automatic_path_accuracy": sum(p.path == t for p, t in confident) / len(confident) if confident else 0.0,
        "review_share": 1 - len(confident) / len(top) if top else 0.0,
    }


def candidate_metrics(model: Any, evaluation: EvaluationSet) -> dict[str, Any]:
    if not evaluation.ids:
        return {}
    scores = {**path_metrics(model, evaluation), **threshold_metrics(model, evaluation)}
    return {f"heldout.{key}": round(value, 4) for key, value in scores.items()}


def active_metrics(active_model: Any, active_version: int, evaluation: EvaluationSet) -> dict[str, Any]:
    """The active version re-scored now on the candidate's set: the comparison that decides activation."""
    if not evaluation.ids:
        return {}
    scores = path_metrics(active_model, evaluation)
    return {"compared_with.version": active_version, **{f"compared_with.{k}": round(v, 4) for k, v in scores.items()}}
