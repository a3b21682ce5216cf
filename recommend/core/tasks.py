"""Celery tasks of the job runner: thin wrappers that load ids and call recommend.core.jobs."""

from celery import Task, shared_task
from celery.signals import worker_ready

from recommend.core.job_registry import RUN_JOB_TASK, SWEEP_JOBS_TASK
from recommend.core.jobs import job_run, job_sweep
from recommend.core.watchdog import watchdog_start

# Every worker imports this module (config.celery.task_packages): each starts its stall watchdog when ready.
worker_ready.connect(watchdog_start, weak=False, dispatch_uid="recommend.worker_watchdog")


# No autoretry: a database error inside a job fails that job with its message; the claim makes a
# redelivered message (acks_late, worker lost) a no-op while the original run is alive.
# bind: the job records which worker ran it (the node name, e.g. `training@host`).
@shared_task(name=RUN_JOB_TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
def run_job(self: Task, job_id: int) -> str:
    return job_run(job_id=job_id, worker=self.request.hostname or "").status


@shared_task(name=SWEEP_JOBS_TASK, ignore_result=True)
def sweep_jobs() -> dict[str, int]:
    return job_sweep()
