"""Celery tasks for classification: thin wrappers around recommend.classification.services."""

from celery import shared_task
from django.db import OperationalError

from recommend.classification.services import products_classify


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_kwargs={"max_retries": 5})
def classify_products(product_ids: list[int]) -> dict[str, int]:
    return products_classify(product_ids=product_ids)
