"""Celery tasks of taxonomy proposals: beat's fit check (queued as a job, so staff see it in the job list) and
placing one new product by the applied tree."""

from celery import shared_task
from django.conf import settings

from catalog.models import Product
from recommend.core.jobs import job_create, job_is_pending
from recommend.hierarchy.maintenance import place_product
from recommend.models import Job


@shared_task(name="recommend.hierarchy.scheduled_fit_check")
def scheduled_fit_check() -> int | None:
    if settings.TAXONOMY_FIT_CHECK_HOURS <= 0 or job_is_pending(Job.Kind.CHECK_TAXONOMY_FIT):
        return None
    return job_create(kind=Job.Kind.CHECK_TAXONOMY_FIT, params={}).pk


@shared_task(name="recommend.hierarchy.place_new_product", ignore_result=True)
def place_new_product(product_id: int) -> int | None:
    """Place one new product by the applied tree (recommend.hierarchy.receivers); returns its category id."""
    product = Product.objects.filter(pk=product_id, category__isnull=True).first()
    if product is None:
        return None
    category, _ = place_product(product)
    return category.pk if category else None
