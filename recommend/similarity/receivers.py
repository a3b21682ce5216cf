"""Similar items follow the catalog: a few changed products are updated in place, bulk changes and tree
changes queue ONE debounced rebuild (recommend.core.followups), never one per click."""

from typing import Any

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from catalog.models import Product
from catalog.signals import products_changed, products_imported
from recommend.core.followups import followup_note, followup_schedule, products_changed_in_request
from recommend.core.jobs import automatic_jobs_enabled
from recommend.core.registry import active_version_id
from recommend.core.task_send import task_send_on_commit
from recommend.models import Job, ModelVersion
from recommend.similarity.tasks import embed_product, refresh_products
from taxonomy.signals import taxonomy_changed

# Tree changes that alter the category path in product documents (and so their vectors).
TEXT_CHANGING_REASONS = {"move", "rename", "merge", "delete", "edit"}


def similar_items_active() -> bool:
    return automatic_jobs_enabled() and active_version_id(ModelVersion.Kind.SIMILAR) is not None


def rebuild_later() -> None:
    """The broker is down: the change is stored; one debounced full build catches it up later."""
    reason = "task queue unreachable"
    followup_schedule(kind=Job.Kind.BUILD_SIMILAR, params={"reason": reason}, reason=reason)


@receiver(post_save, sender=Product)
def embed_saved_product(sender: Any, instance: Product, raw: bool = False, **kwargs: Any) -> None:
    if raw or not similar_items_active():
        return
    task_send_on_commit(embed_product, args=[instance.pk], queue="inference", fallback=rebuild_later)


@receiver(products_changed)
def update_changed_products(sender: Any, product_ids: list[int], **kwargs: Any) -> None:
    """A single decision costs what it changes; a bulk one (over INCREMENTAL_UPDATE_MAX_PRODUCTS) one rebuild."""
    if not product_ids or not similar_items_active():
        return
    if products_changed_in_request(len(product_ids)) > settings.INCREMENTAL_UPDATE_MAX_PRODUCTS:
        followup_schedule(kind=Job.Kind.BUILD_SIMILAR, params={"reason": "bulk change"}, reason="bulk change")
        return
    ids = sorted(product_ids)
    task_send_on_commit(refresh_products, args=[ids], queue="inference", fallback=rebuild_later)
    followup_note(label=f"Similar items and search of {len(ids)} product{'s' if len(ids) > 1 else ''} updated")


@receiver(products_imported)
def rebuild_after_import(sender: Any, product_ids: list[int], **kwargs: Any) -> None:
    if automatic_jobs_enabled():
        reason = f"{len(product_ids)} products imported"
        followup_schedule(kind=Job.Kind.BUILD_SIMILAR, params={"reason": reason}, reason=reason)


@receiver(taxonomy_changed)
def rebuild_after_tree_change(sender: Any, reason: str = "", **kwargs: Any) -> None:
    """Category paths are part of every product document below the node: re-embed them once, later."""
    if reason in TEXT_CHANGING_REASONS and similar_items_active():
        followup_schedule(
            kind=Job.Kind.BUILD_SIMILAR, params={"reason": f"taxonomy {reason}"}, reason=f"category {reason}"
        )
