"""Celery tasks of recommend, one module per capability (Celery autodiscovers this package)."""

from recommend.core.tasks import run_job, sweep_jobs
from recommend.tasks.classification import classify_products
from recommend.tasks.similarity import embed_product

__all__ = ["classify_products", "embed_product", "run_job", "sweep_jobs"]
