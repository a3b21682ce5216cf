"""manage.py run_jobs: run queued jobs from the database in this process, one at a time, oldest first.

The embedded (broker-less) setup's worker: `make demo` starts it beside the web server so the demo's model
jobs train in the background. It also sweeps jobs whose runner died. With a broker, Celery workers do this.
"""

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from recommend.core.jobs import job_worker_loop
from recommend.models import Job


class Command(BaseCommand):
    help = "Run queued jobs in this process (embedded mode's worker); --until-idle exits when none is left."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--until-idle", action="store_true", help="Exit once no job is queued or running.")
        parser.add_argument("--queue", action="append", help="Only jobs of this queue (repeatable).")

    def handle(self, *args: Any, **options: Any) -> None:
        # SIGTERM (make demo's cleanup) ends the loop between two jobs; Ctrl-C interrupts the running job,
        # which goes back to the queue (recommend.core.job_runner.job_run).
        signal.signal(signal.SIGTERM, self.interrupt)
        self.stdout.write("Running queued jobs (Ctrl-C to stop).")
        try:
            job_worker_loop(
                wake=threading.Event(),
                stop=threading.Event(),
                until_idle=options["until_idle"],
                queues=options["queue"],
                on_job=self.report,
            )
        except KeyboardInterrupt:
            self.stdout.write("Stopped; an interrupted job is queued again.")
            return
        self.stdout.write("No job left to run.")

    def interrupt(self, signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    def report(self, job: Job) -> None:
        style = self.style.SUCCESS if job.status == Job.Status.DONE else self.style.WARNING
        took = f" in {job.duration_seconds:.0f}s" if job.duration_seconds is not None else ""
        self.stdout.write(style(f"{job}{took}: {job.message}"), ending="\n")
        self.stdout.flush()
