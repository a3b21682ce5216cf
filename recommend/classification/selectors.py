"""Classification reads: the one input text, the active model (per-process cache), live-tree predictions.

Labels are paths of category ids. A prediction is resolved through its leaf id against the live
tree, so a node that staff moved or renamed stays a valid answer (with its new path) until the
retrain; a prediction whose category was deleted is dropped. Torch is imported only when a model
is first loaded, never at import time.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings

from catalog.models import Product, ProductAttributeValue
from recommend.core.model_cache import ModelCache
from recommend.core.registry import artifact_local_path
from recommend.models import ModelVersion
from taxonomy.models import Category

if TYPE_CHECKING:
    from recommend.ml.classification import TrainedClassifier

DESCRIPTION_WORDS = 50
# The classifier may set or replace the category only on these; staff and imports always win.
CLASSIFIER_OWNED_SOURCES = (Product.CategorySource.NONE, Product.CategorySource.AUTOMATIC)


class NoActiveClassifier(RuntimeError):
    """Raised when a prediction is asked for but no classifier version is active."""


def classifier_input_text(
    *,
    title: str,
    brand: str = "",
    description: str = "",
    attributes: Mapping[str, Any] | Iterable[str] | None = None,
) -> str:
    """The text the classifier reads, the same at training and prediction time.

    Title first (the model truncates long inputs, and the title carries the most signal), then
    brand and attribute values, then the opening words of the description.
    """
    values = attributes.values() if isinstance(attributes, Mapping) else attributes or []
    parts = [title, brand, *(str(value) for value in values), " ".join(description.split()[:DESCRIPTION_WORDS])]
    return " ".join(" ".join(part.split()) for part in parts if part and part.strip())


def category_label(category_id: int, parents: Mapping[int, int | None], max_depth: int) -> tuple[str, ...]:
    """The label of a category: its path of ids from the root, cut to `max_depth` levels."""
    path: list[int] = []
    node: int | None = category_id
    while node is not None:
        path.append(node)
        node = parents.get(node)
    path.reverse()
    return tuple(str(pk) for pk in path[:max_depth])


def category_parents() -> dict[int, int | None]:
    return dict(Category.objects.values_list("pk", "parent_id"))


@dataclass
class CategoryPrediction:
    category: Category
    path: list[str]  # names from the live tree, root first
    confidence: float
    attention: list[tuple[str, float]] = field(default_factory=list)


def _load_classifier_artifact(version: ModelVersion) -> "TrainedClassifier":
    from recommend.ml.classification import TrainedClassifier  # torch: loaded with the first model

    # TORCH_DEVICE: the web and worker processes put it where they run torch ("auto" on a CPU box: the CPU).
    return TrainedClassifier.load(artifact_local_path(version=version), device=settings.TORCH_DEVICE)


classifiers: ModelCache["TrainedClassifier"] = ModelCache(ModelVersion.Kind.CLASSIFIER, _load_classifier_artifact)


def load_classifier(version: ModelVersion) -> "TrainedClassifier":
    """The version's model, loaded once per process (verified local copy of the artifact)."""
    return classifiers.get(version)


def forget_loaded_classifiers() -> None:
    """Drop every loaded model (tests, where ids restart with each rolled-back transaction)."""
    classifiers.clear()


def active_classifier() -> tuple[int, "TrainedClassifier"] | None:
    """(version id, model) of the active classifier, or None. Notices a newly activated version."""
    return classifiers.active()


def live_categories(category_ids: Iterable[int]) -> dict[int, tuple[Category, list[str]]]:
    """{id: (category, path of names)} for the ids that still exist, in two queries."""
    categories = Category.objects.in_bulk(set(category_ids))
    if not categories:
        return {}
    ancestors = Category.objects.get_queryset_ancestors(
        Category.objects.filter(pk__in=categories), include_self=True
    ).values_list("pk", "parent_id", "name")
    parent_and_name = {pk: (parent_id, name) for pk, parent_id, name in ancestors}
    result = {}
    for pk, category in categories.items():
        names: list[str] = []
        node: int | None = pk
        while node is not None and node in parent_and_name:
            parent_id, name = parent_and_name[node]
            names.append(name)
            node = parent_id
        result[pk] = (category, names[::-1])
    return result


def leaf_id(path: tuple[str, ...]) -> int | None:
    try:
        return int(path[-1])
    except (IndexError, ValueError):
        return None


def predict_categories(
    texts: list[str], *, top_k: int | None = None, model: "TrainedClassifier | None" = None
) -> list[list[CategoryPrediction]]:
    """Top-k live categories per text, best first. Raises NoActiveClassifier without a model."""
    if model is None:
        loaded = active_classifier()
        if loaded is None:
            raise NoActiveClassifier(
                "No classifier is active yet: train one (admin > Model versions, or manage.py train_classifier)."
            )
        model = loaded[1]
    top_k = top_k or settings.CLASSIFIER_TOP_K
    if not texts:
        return []
    # Ask for a few more than needed, so a deleted category can be dropped without leaving a gap.
    raw = model.predict(texts, top_k=top_k + 2)
    live = live_categories(pk for predictions in raw for p in predictions if (pk := leaf_id(p.path)) is not None)
    result = []
    for predictions in raw:
        kept = []
        for prediction in predictions:
            found = live.get(leaf_id(prediction.path) or 0)
            if found is None:
                continue
            category, names = found
            kept.append(CategoryPrediction(category, names, prediction.confidence, list(prediction.attention)))
            if len(kept) == top_k:
                break
        result.append(kept)
    return result


def live_path_of_prediction(
    path: tuple[str, ...], parents: Mapping[int, int | None], max_depth: int
) -> tuple[str, ...]:
    """A predicted id path re-read from the live tree through its leaf (for comparing old models fairly)."""
    pk = leaf_id(path)
    if pk is None or pk not in parents:
        return ()
    return category_label(pk, parents, max_depth)


def product_texts(products: Sequence[Product]) -> list[str]:
    """Classifier input of each product (brand loaded with select_related; attribute values in one query)."""
    values: dict[int, list[str]] = defaultdict(list)
    for product_id, value in ProductAttributeValue.objects.filter(product__in=[p.pk for p in products]).values_list(
        "product_id", "value"
    ):
        values[product_id].append(value)
    return [
        classifier_input_text(
            title=p.title,
            brand=p.brand.name if p.brand_id and p.brand else "",
            description=p.description,
            attributes=values.get(p.pk, []),
        )
        for p in products
    ]


def products_to_classify(*, scope: str) -> list[int]:
    """Ids for a classify job: "uncategorized" (no category), "owned" (no category or automatic) or "all"."""
    queryset = Product.objects.filter(is_active=True, merged_into__isnull=True)
    if scope == "uncategorized":
        queryset = queryset.filter(category__isnull=True)
    elif scope == "owned":
        queryset = queryset.filter(category_source__in=CLASSIFIER_OWNED_SOURCES)
    elif scope != "all":
        raise ValueError(f"Unknown scope {scope!r}: use uncategorized, owned or all.")
    return list(queryset.values_list("pk", flat=True))
