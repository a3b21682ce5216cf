"""The fixed held-out set every classifier version is judged on, and the metrics measured there.

Membership is a rule on the product's NORMALISED TITLE (`recommend.ml.common.grouping`: crc32 of the title
lowercased with punctuation and whitespace collapsed, digits kept), not on a training run's sample nor on the
id: a near-copy of a held-out product (the same listing re-imported, another seller's copy) is held out too,
so no title sits on both sides (with a rule on the id, about 40 % of held-out titles appeared word for word in
training and the figure measured memory). A version trained on 12,000 products and one trained on everything
are scored on the very same products. The candidate and the active version are both re-scored on that set
when the candidate is trained, through the live tree; the rule, the size and a fingerprint of the set are
stored with the version. (Versions trained before the rule moved from the id to the title saw some of today's
held-out titles, so their re-scored figure flatters them.)
"""

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from catalog.models import Product
from recommend.classification.selectors import category_label, category_parents, live_path_of_prediction, product_texts
from recommend.ml.common.grouping import is_heldout_title, normalised_title

HELDOUT_PERCENT = 20  # a fifth of the labelled title groups, chosen by a stable hash of the normalised title
HELDOUT_MAX = 10_000  # bounded evaluation time on big catalogs: the products with the lowest hash
LABELLED_SOURCES = (Product.CategorySource.IMPORTED, Product.CategorySource.MANUAL)
RULE = (
    f"labelled products with crc32(normalised title) % 100 < {HELDOUT_PERCENT} (near-copies on one side); "
    f"at most {HELDOUT_MAX:,} scored, lowest crc32 first"
)
LabelledRow = tuple[int, int, str]  # (product id, category id, title)


def title_hash(title: str) -> int:
    return zlib.crc32(normalised_title(title).encode())


def is_heldout(title: str) -> bool:
    """Stable membership in the held-out split: every product with this normalised title, for every version."""
    return is_heldout_title(title, HELDOUT_PERCENT)


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


def labelled_rows() -> list[LabelledRow]:
    """(product id, category id, title) of every product whose category came from an import or from staff."""
    return list(
        Product.objects.filter(category__isnull=False, category_source__in=LABELLED_SOURCES, merged_into__isnull=True)
        .order_by("pk")
        .values_list("pk", "category_id", "title")
    )


def texts_of(ids: Sequence[int]) -> list[str]:
    """Classifier input texts of products, in the order of `ids` (loaded in chunks)."""
    texts: list[str] = []
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        products = Product.objects.filter(pk__in=chunk).select_related("brand").in_bulk()
        texts.extend(product_texts([products[pk] for pk in chunk]))
    return texts


def evaluation_set(rows: Sequence[LabelledRow] | None = None) -> EvaluationSet:
    """The fixed held-out products (by the rule above) with their live-tree labels."""
    rows = labelled_rows() if rows is None else rows
    chosen = sorted((row for row in rows if is_heldout(row[2])), key=lambda row: (title_hash(row[2]), row[0]))
    chosen = sorted(chosen[:HELDOUT_MAX])
    parents = category_parents()
    depth = settings.CLASSIFIER_MAX_DEPTH
    ids = [pk for pk, _, _ in chosen]
    return EvaluationSet(
        ids=ids, texts=texts_of(ids), truth=[category_label(category, parents, depth) for _, category, _ in chosen]
    )


def live_predictions(model: Any, evaluation: EvaluationSet) -> list[tuple[str, ...]]:
    """The model's top path for each held-out product, read through the live tree.

    Reading through the leaf id is how a version is served: an older model is judged on what staff
    would see now, not on paths that were renamed or moved since it was trained.
    """
    depth = settings.CLASSIFIER_MAX_DEPTH
    parents = category_parents()
    return [live_path_of_prediction(path, parents, depth) for path in model.predict_paths(evaluation.texts)]


def path_metrics(
    model: Any, evaluation: EvaluationSet, predicted: Sequence[tuple[str, ...]] | None = None
) -> dict[str, float]:
    """Per-level accuracy / macro-F1 and path accuracy of `predicted` (default: the model's live predictions)."""
    from recommend.ml.classification.metrics import evaluate

    predicted = live_predictions(model, evaluation) if predicted is None else predicted
    return evaluate(predicted, evaluation.truth, settings.CLASSIFIER_MAX_DEPTH)


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


def candidate_metrics(
    model: Any, evaluation: EvaluationSet, predicted: Sequence[tuple[str, ...]] | None = None
) -> dict[str, Any]:
    if not evaluation.ids:
        return {}
    scores = {**path_metrics(model, evaluation, predicted), **threshold_metrics(model, evaluation)}
    return {f"heldout.{key}": round(value, 4) for key, value in scores.items()}


def active_metrics(active_model: Any, active_version: int, evaluation: EvaluationSet) -> dict[str, Any]:
    """The active version re-scored now on the candidate's set: the comparison that decides activation."""
    if not evaluation.ids:
        return {}
    scores = path_metrics(active_model, evaluation)
    return {"compared_with.version": active_version, **{f"compared_with.{k}": round(v, 4) for k, v in scores.items()}}
