"""Similar items follow the catalog: edited products are re-embedded, imports trigger a rebuild."""

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from catalog.models import Product
from catalog.signals import products_changed, products_imported
from recommend.core.jobs import automatic_jobs_enabled, job_create, job_is_pending
from recommend.core.registry import active_version_id
from recommend.models import Job, ModelVersion
from recommend.similarity.tasks import embed_product


@receiver(post_save, sender=Product)
def embed_saved_product(sender: Any, instance: Product, raw: bool = False, **kwargs: Any) -> None:
    if raw or not automatic_jobs_enabled() or active_version_id(ModelVersion.Kind.SIMILAR) is None:
        return
    product_id = instance.pk
    transaction.on_commit(lambda: embed_product.apply_async(args=[product_id], queue="inference"))


@receiver(products_imported)
@receiver(products_changed)
def rebuild_after_bulk_change(sender: Any, product_ids: list[int], **kwargs: Any) -> None:
    """One rebuild catches up with any number of changes (embeddings of unchanged products are reused)."""
    if automatic_jobs_enabled() and not job_is_pending(Job.Kind.BUILD_SIMILAR):
        job_create(kind=Job.Kind.BUILD_SIMILAR, params={"reason": "catalog changed", "products": len(product_ids)})
