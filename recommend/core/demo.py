"""The demo's model jobs (queued by `manage.py setup_demo`, run in the background) and their progress banner.

Capabilities append their own model job to DEMO_MODEL_JOBS; params must accept `demo: True` (a small,
fast configuration), which is also how the storefront banner recognises the demo's jobs.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.cache import cache

from recommend.core.job_registry import job_kind_known
from recommend.core.jobs import job_create, job_is_pending, job_kind_label
from recommend.models import Job


@dataclass(frozen=True)
class DemoJob:
    kind: str
    params: dict[str, Any] = field(default_factory=lambda: {"demo": True})


# In order: the embedded runner runs queued jobs oldest first, one at a time. Classification first (then the
# products without a category), so the similar-items build embeds the final category paths.
DEMO_MODEL_JOBS: list[DemoJob] = [
    DemoJob(Job.Kind.TRAIN_CLASSIFIER),
    DemoJob(Job.Kind.CLASSIFY),
    DemoJob(Job.Kind.BUILD_SIMILAR),
    DemoJob(Job.Kind.BUILD_BOUGHT_TOGETHER),
    DemoJob(Job.Kind.TRAIN_RECOMMENDER),
    DemoJob(Job.Kind.BUILD_HIERARCHY),  # last: a taxonomy proposal for staff to review (Admin > Taxonomy proposals)
]
# Demo jobs queued this close together belong to one setup_demo run.
BATCH_WINDOW = timedelta(minutes=5)
BANNER_CACHE_SECONDS = 3
FINISHED = (Job.Status.DONE, Job.Status.FAILED, Job.Status.CANCELLED)


def demo_jobs_queue() -> list[Job]:
    """Queue the demo's model jobs in the database, not sent anywhere: `manage.py run_jobs` runs them.

    A kind whose demo job is still pending is not queued twice; kinds nobody registered are skipped.
    """
    queued = []
    for demo_job in DEMO_MODEL_JOBS:
        if not job_kind_known(demo_job.kind):
            continue
        if job_is_pending(demo_job.kind):
            pending = Job.objects.filter(kind=demo_job.kind, status__in=[Job.Status.QUEUED, Job.Status.RUNNING])
            queued.append(pending.earliest("created_at"))
            continue
        queued.append(job_create(kind=demo_job.kind, params=demo_job.params, enqueue=False))
    return queued


def demo_training_status() -> dict[str, Any] | None:
    """While the latest demo batch is not finished: {done, total, percent, current}; else None (cached briefly)."""
    status = cache.get("demo:training-status", "miss")
    if status == "miss":
        status = demo_training_status_uncached()
        cache.set("demo:training-status", status, BANNER_CACHE_SECONDS)
    return status


def demo_training_status_uncached() -> dict[str, Any] | None:
    demo_jobs = Job.objects.filter(params__demo=True, kind__in=[demo_job.kind for demo_job in DEMO_MODEL_JOBS])
    latest = demo_jobs.order_by("-created_at").only("created_at").first()
    if latest is None:
        return None
    batch = list(demo_jobs.filter(created_at__gte=latest.created_at - BATCH_WINDOW).only("kind", "status", "progress"))
    done = sum(job.status in FINISHED for job in batch)
    if done == len(batch):
        return None
    running = [job for job in batch if job.status == Job.Status.RUNNING]
    return {
        "done": done,
        "total": len(batch),
        "percent": round(100 * sum(1.0 if job.status in FINISHED else job.progress for job in batch) / len(batch)),
        "current": job_kind_label(running[0].kind) if running else "",
    }
