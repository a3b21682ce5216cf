"""Classification follows the catalog and the tree.

New or re-worded products are classified on commit (inference queue), imports in chunks. A staff
change to the tree (move, merge, delete) queues one debounced retrain so the label space follows;
until it runs, predictions resolve through their leaf id and stay valid. The classifier's own
writes are bulk updates, so they never come back here.
"""

from typing import Any

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from catalog.models import Product
from catalog.signals import products_imported
from recommend.classification.services import classifier_retrain_queue
from recommend.classification.tasks import classify_products
from recommend.core.jobs import automatic_jobs_enabled, job_create
from recommend.core.registry import active_version_id
from recommend.core.task_send import task_send_on_commit
from recommend.models import Job, ModelVersion
from taxonomy.models import Category
from taxonomy.signals import taxonomy_changed

CLASSIFY_CHUNK = 500
# Tree changes that alter existing labels (paths of category ids). A rename changes no id, so no retrain;
# new empty categories ("create") have nothing to learn from. "edit" (the change form) may move a node.
RETRAIN_REASONS = {"move", "merge", "delete", "edit"}
TEXT_FIELDS = ("title", "description", "brand_id")


def classifier_active() -> bool:
    return automatic_jobs_enabled() and active_version_id(ModelVersion.Kind.CLASSIFIER) is not None


def send_classification(chunk: list[int]) -> None:
    """The task on the inference queue on commit; with the broker down, a deferred classify job the sweep sends."""

    def deferred() -> None:
        job_create(kind=Job.Kind.CLASSIFY, params={"product_ids": chunk}, defer=True)

    task_send_on_commit(classify_products, args=[chunk], queue="inference", fallback=deferred)


def enqueue_classification(product_ids: list[int]) -> None:
    """Recorded with the change (an outbox row, recommend.core.outbox) and sent when it commits."""
    for start in range(0, len(product_ids), CLASSIFY_CHUNK):
        send_classification(product_ids[start : start + CLASSIFY_CHUNK])


@receiver(pre_save, sender=Product)
def remember_whether_text_changed(sender: Any, instance: Product, raw: bool = False, **kwargs: Any) -> None:
    if raw or instance.pk is None or not classifier_active():
        return
    before = Product.objects.filter(pk=instance.pk).values(*TEXT_FIELDS).first()
    instance._classifier_text_changed = before is None or any(  # type: ignore[attr-defined]
        before[name] != getattr(instance, name) for name in TEXT_FIELDS
    )


@receiver(post_save, sender=Product)
def classify_saved_product(sender: Any, instance: Product, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    if instance.category_source == Product.CategorySource.MANUAL:
        # Staff decided: the product has no business in the review queue.
        if instance.needs_review:
            Product.objects.filter(pk=instance.pk).update(needs_review=False)
        return
    if (created or getattr(instance, "_classifier_text_changed", False)) and classifier_active():
        enqueue_classification([instance.pk])


@receiver(products_imported)
def classify_imported_products(sender: Any, product_ids: list[int], **kwargs: Any) -> None:
    if product_ids and classifier_active():
        enqueue_classification(sorted(product_ids))


@receiver(taxonomy_changed)
def retrain_after_tree_change(sender: Any, reason: str = "", **kwargs: Any) -> None:
    if reason in RETRAIN_REASONS and classifier_active():
        classifier_retrain_queue(reason=f"taxonomy {reason}")


@receiver(post_delete, sender=Category)
def retrain_after_category_delete(sender: Any, **kwargs: Any) -> None:
    if classifier_active():
        classifier_retrain_queue(reason="taxonomy delete")
