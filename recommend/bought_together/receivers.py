"""Bought together follows the orders: new purchases queue one debounced rebuild."""

from typing import Any

from django.dispatch import receiver

from catalog.signals import interactions_imported
from recommend.core.followups import followup_schedule
from recommend.core.jobs import automatic_jobs_enabled
from recommend.models import Job


@receiver(interactions_imported)
def rebuild_after_purchases(sender: Any, purchases: int = 0, **kwargs: Any) -> None:
    """Many imports or ingest batches in a row end in one build, after a quiet period."""
    if purchases and automatic_jobs_enabled():
        followup_schedule(kind=Job.Kind.BUILD_BOUGHT_TOGETHER, reason=f"{purchases} new purchases")
