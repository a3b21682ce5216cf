"""manage.py build_taxonomy: queue a taxonomy proposal build (or, with --wait, run it here with a progress bar)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommend.core.jobs import job_run
from recommend.core.progress import progress_bar
from recommend.hierarchy.services import MAX_DEPTH, proposal_build_start
from recommend.models import Job
from taxonomy.models import Category


class Command(BaseCommand):
    help = "Build a taxonomy proposal for the whole catalog or one subtree; staff review and apply it in the admin."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scope", type=int, help="Id of the category whose subtree is rebuilt (default: all).")
        parser.add_argument("--depth", type=int, default=3, help=f"Levels of the tree, 1 to {MAX_DEPTH} (default 3).")
        parser.add_argument("--wait", action="store_true", help="Run the job in this process and wait for it.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["depth"] <= MAX_DEPTH:
            raise CommandError(f"--depth must be between 1 and {MAX_DEPTH}.")
        scope = None
        if options["scope"] is not None:
            scope = Category.objects.filter(pk=options["scope"]).first()
            if scope is None:
                raise CommandError(f"No category with id {options['scope']}.")
        # --wait runs the job here; otherwise a training worker (or the embedded runner) picks it up.
        proposal = proposal_build_start(scope=scope, depth=options["depth"], enqueue=not options["wait"])
        job = Job.objects.get(pk=proposal.job_id)
        if not options["wait"]:
            self.stdout.write(f"Queued {job} for {proposal}; review it in the admin under Taxonomy proposals.")
            return
        with progress_bar("taxonomy") as progress:
            job = job_run(job_id=job.pk, on_progress=progress)
        job.refresh_from_db()
        if job.status != Job.Status.DONE:
            raise CommandError(f"{job}: {job.error or job.message}")
        proposal.refresh_from_db()
        for key, value in sorted(job.result.items()):
            self.stdout.write(f"  {key:24} {value}")
        self.stdout.write(self.style.SUCCESS(f"{proposal} is ready for review."))
