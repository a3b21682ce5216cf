"""manage.py build_bought_together: mine rules and train the co-purchase graph now (or queue the job)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommend.bought_together.services import NoBasketsError, bought_together_build
from recommend.core.jobs import job_create
from recommend.core.progress import progress_bar
from recommend.models import Job


class Command(BaseCommand):
    help = "Build frequently-bought-together (association rules + graph model) from every order; activate it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queue", action="store_true", help="Queue a job for a training worker instead.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["queue"]:
            job = job_create(kind=Job.Kind.BUILD_BOUGHT_TOGETHER, params={"reason": "manage.py"})
            self.stdout.write(f"Queued {job} on the training queue.")
            return
        with progress_bar("bought together") as progress:
            try:
                version = bought_together_build(progress=progress)
            except NoBasketsError as error:
                raise CommandError(str(error)) from error
        for key, value in sorted(version.metrics.items()):
            self.stdout.write(f"  {key:36} {value}")
        self.stdout.write(self.style.SUCCESS(f"Bought together v{version.version} active."))
