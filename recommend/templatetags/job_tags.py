"""Template tags of the job runner: `{% demo_training_status as status %}` for the storefront's banner, and
`{% job_progress job %}` (a progress bar with the phase) for admin pages that wait on a job."""

from typing import Any

from django import template

from recommend.core.demo import demo_training_status as demo_status
from recommend.models import Job

register = template.Library()


@register.simple_tag
def demo_training_status() -> dict[str, Any] | None:
    """While the demo's models train: {done, total, percent, current}; None once they are all done."""
    return demo_status()


@register.inclusion_tag("admin/recommend/job/_progress.html")
def job_progress(job: Job | None) -> dict[str, Any]:
    """A job's status, percent and phase; pages that show one refresh themselves while it runs."""
    if job is None:
        return {"job": None}
    return {
        "job": job,
        "percent": round(job.progress * 100),
        "live": job.status in (Job.Status.QUEUED, Job.Status.RUNNING),
    }
