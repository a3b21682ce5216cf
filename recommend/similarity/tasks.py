"""Celery tasks for similar items: thin wrappers around recommend.similarity.services."""

from celery import shared_task
from django.db import OperationalError

from recommend.similarity.services import product_embed_and_link, products_refresh_similar


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_kwargs={"max_retries": 5})
def embed_product(product_id: int) -> int:
    return product_embed_and_link(product_id=product_id)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_kwargs={"max_retries": 5})
def refresh_products(product_ids: list[int]) -> dict[str, int]:
    return products_refresh_similar(product_ids=product_ids)
