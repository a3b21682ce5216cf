"""Classification writes: classifying products with the active model, staff review decisions, retrains.

The classifier sets a category (marked automatic) only on products without one or with an
automatic one, and only above CLASSIFIER_CONFIDENCE_THRESHOLD; below it the product waits in the
admin review queue. Training a version lives in `training.py`.
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.models import Product
from catalog.services import products_set_category
from recommend.classification.selectors import (
    CLASSIFIER_OWNED_SOURCES,
    CategoryPrediction,
    active_classifier,
    leaf_id,
    predict_categories,
    product_texts,
)
from recommend.core.followups import followup_schedule
from recommend.core.jobs import job_create
from recommend.core.progress import ProgressCallback
from recommend.models import CategorySuggestion, Job, ModelVersion
from taxonomy.models import Category

CLASSIFY_BATCH = 500


def suggestion_words(model: Any, text: str, predicted: list[CategoryPrediction]) -> list[list[list[Any]]]:
    """The words behind each suggestion (one word left out at a time), for the review queue.

    Attention weighs a product's words once for all classes, so every suggestion would show the same
    words; this asks the model what speaks for each path. Falls back to attention for an unknown path.
    """
    from recommend.ml.classification.evidence import path_evidence

    by_leaf = getattr(model, "_paths_by_leaf", None)
    if by_leaf is None:
        by_leaf = model._paths_by_leaf = {leaf_id(path): path for path in model.labels.paths}
    paths = [by_leaf.get(p.category.pk) for p in predicted]
    known = [path for path in paths if path is not None]
    evidence = dict(zip(known, path_evidence(model, text, known), strict=True))
    return [
        [[word, weight] for word, weight in (evidence[path] if path is not None else p.attention)]
        for path, p in zip(paths, predicted, strict=True)
    ]


def products_classify(*, product_ids: Sequence[int], progress: ProgressCallback | None = None) -> dict[str, int]:
    """Predict the top-k categories of products with the active model; store suggestions and apply the rule.

    Suggestions are stored for every product. The category is set (automatic) only where the classifier
    owns it and the top confidence reaches the threshold; otherwise such a product goes to review.
    Writes go through bulk updates, so no post_save fires and nothing classifies itself again.
    """
    counts = {"classified": 0, "automatic": 0, "review": 0}
    loaded = active_classifier()
    if loaded is None:
        return counts
    version_id, model = loaded
    threshold = settings.CLASSIFIER_CONFIDENCE_THRESHOLD
    ids = sorted(set(product_ids))
    for start in range(0, len(ids), CLASSIFY_BATCH):
        products = list(Product.objects.filter(pk__in=ids[start : start + CLASSIFY_BATCH]).select_related("brand"))
        texts = product_texts(products)
        predictions = predict_categories(texts, model=model)
        suggestions, changed = [], []
        now = timezone.now()
        for product, text, predicted in zip(products, texts, predictions, strict=True):
            unsure = not predicted or predicted[0].confidence < threshold
            words = (
                suggestion_words(model, text, predicted)
                if unsure
                else [[[w, v] for w, v in p.attention] for p in predicted]
            )
            suggestions += [
                CategorySuggestion(
                    product=product,
                    model_version_id=version_id,
                    rank=rank,
                    category=p.category,
                    confidence=p.confidence,
                    attention=words[rank],
                )
                for rank, p in enumerate(predicted)
            ]
            if product.category_source not in CLASSIFIER_OWNED_SOURCES:
                continue
            if predicted and predicted[0].confidence >= threshold:
                product.category = predicted[0].category
                product.category_source = Product.CategorySource.AUTOMATIC
                product.category_confidence = predicted[0].confidence
                product.needs_review = False
                counts["automatic"] += 1
            else:
                product.needs_review = True
                counts["review"] += 1
            product.updated_at = now
            changed.append(product)
        with transaction.atomic():
            CategorySuggestion.objects.filter(product__in=products).delete()
            CategorySuggestion.objects.bulk_create(suggestions)
            Product.objects.bulk_update(
                changed, ["category", "category_source", "category_confidence", "needs_review", "updated_at"]
            )
        counts["classified"] += len(products)
        if progress:
            progress(min(start + CLASSIFY_BATCH, len(ids)) / len(ids), f"classified {counts['classified']} products")
    return counts


# --- staff decisions in the review queue ----------------------------------------------------


@transaction.atomic
def review_set_category(*, product_ids: Sequence[int], category: Category) -> int:
    """Staff choose the category: it becomes manual (never overwritten) and the products leave the queue."""
    updated = products_set_category(product_ids=product_ids, category=category)
    Product.objects.filter(pk__in=product_ids).update(needs_review=False, category_confidence=None)
    return updated


@transaction.atomic
def review_accept_top_suggestions(*, product_ids: Sequence[int]) -> int:
    """Accept each product's best suggestion (from its latest classification). Products without one stay."""
    best: dict[int, int] = {}
    suggestions = CategorySuggestion.objects.filter(product_id__in=product_ids).order_by("product_id", "rank")
    for product_id, category_id in suggestions.values_list("product_id", "category_id"):
        best.setdefault(product_id, category_id)
    by_category: dict[int, list[int]] = defaultdict(list)
    for product_id, category_id in best.items():
        by_category[category_id].append(product_id)
    categories = Category.objects.in_bulk(list(by_category))
    return sum(
        review_set_category(product_ids=ids, category=categories[category_id])
        for category_id, ids in by_category.items()
    )


def review_accept_suggestion(*, suggestion: CategorySuggestion) -> int:
    return review_set_category(product_ids=[suggestion.product_id], category=suggestion.category)


# --- keeping the label space in step with the tree ------------------------------------------


def classifier_retrain_queue(*, reason: str, user: Any = None) -> Job:
    """One debounced retrain for any burst of tree edits: it runs REBUILD_QUIET_SECONDS after the last one.

    The retrain reuses the active version's size settings (demo or not, sample limit).
    """
    active = ModelVersion.objects.filter(kind=ModelVersion.Kind.CLASSIFIER, status=ModelVersion.Status.ACTIVE).first()
    params: dict[str, Any] = {"reason": reason}
    if active is not None:
        params.update({key: active.params[key] for key in ("demo", "limit") if active.params.get(key)})
    return followup_schedule(kind=Job.Kind.TRAIN_CLASSIFIER, params=params, reason=reason, user=user)


def train_classifier_start(*, force: bool = False, user: Any = None, **params: Any) -> Job:
    """Staff start a training job (admin button, API): queued on the training queue."""
    return job_create(kind=Job.Kind.TRAIN_CLASSIFIER, params={"force": force, **params}, user=user)
