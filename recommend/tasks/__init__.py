"""Celery tasks of recommend: Celery autodiscovers this package, so it imports every capability's tasks.py."""

from recommend.classification.tasks import classify_products
from recommend.core.tasks import run_job, sweep_jobs
from recommend.hierarchy.tasks import place_new_product, scheduled_fit_check
from recommend.similarity.tasks import embed_product

__all__ = ["classify_products", "embed_product", "place_new_product", "run_job", "scheduled_fit_check", "sweep_jobs"]
