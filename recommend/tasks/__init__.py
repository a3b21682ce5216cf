"""Celery tasks of recommend: Celery autodiscovers this package, so it imports every capability's tasks.py."""

from recommend.classification.tasks import classify_products
from recommend.similarity.tasks import embed_product
from recommend.tasks.jobs import run_job

__all__ = ["classify_products", "embed_product", "run_job"]
