"""A new product without a category is placed into the applied tree at once (nearest centroid per level).

Only while a taxonomy proposal is applied (an active hierarchy version) and no classifier is active: the
classifier places products better, and a product it was unsure about waits for staff in the review queue.
"""

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from catalog.models import Product
from recommend.core.jobs import automatic_jobs_enabled, job_create
from recommend.core.registry import active_version_id
from recommend.core.task_send import task_send_on_commit
from recommend.hierarchy.tasks import place_new_product
from recommend.models import Job, ModelVersion


def placement_active() -> bool:
    return (
        automatic_jobs_enabled()
        and active_version_id(ModelVersion.Kind.HIERARCHY) is not None
        and active_version_id(ModelVersion.Kind.CLASSIFIER) is None
    )


@receiver(post_save, sender=Product)
def place_created_product(sender: Any, instance: Product, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw or not created or instance.category_id is not None or not placement_active():
        return
    send_placement(instance.pk)


def send_placement(product_id: int) -> None:
    """Send the placement task on commit; with the broker down keep it as a deferred job the sweep sends later."""

    def deferred() -> None:
        job_create(kind=Job.Kind.PLACE_PRODUCTS, params={"product_ids": [product_id]}, defer=True)

    task_send_on_commit(place_new_product, args=[product_id], queue="inference", fallback=deferred)
