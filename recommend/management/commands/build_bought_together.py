"""manage.py build_bought_together: mine rules and train the co-purchase graph now (or queue the job)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommend.bought_together.services import NoBasketsError, bought_together_build
from recommend.core.jobs import job_create
from recommend.core.progress import progress_bar
from recommend.models import Job


class Command(BaseCommand):
    help = (
        "Build frequently-bought-together (association rules + graph model) from every order; activate it when it "
        "beats its baselines on the latest orders (--force: anyway)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queue", action="store_true", help="Queue a job for a training worker instead.")
        parser.add_argument("--force", action="store_true", help="Activate even if it does not beat its baseline.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["queue"]:
            params = {"reason": "manage.py", "force": options["force"]}
            job = job_create(kind=Job.Kind.BUILD_BOUGHT_TOGETHER, params=params)
            self.stdout.write(f"Queued {job} on the training queue.")
            return
        with progress_bar("bought together") as progress:
            try:
                version = bought_together_build(progress=progress, force=options["force"])
            except NoBasketsError as error:
                raise CommandError(str(error)) from error
        for key, value in sorted(version.metrics.items()):
            self.stdout.write(f"  {key:36} {value}")
        version.refresh_from_db()
        if version.status == version.Status.ACTIVE:
            self.stdout.write(self.style.SUCCESS(f"Bought together v{version.version} active."))
        else:
            because = version.metrics.get("not_activated_because", "")
            line = f"Bought together v{version.version} kept {version.status}: {because}"
            self.stdout.write(self.style.WARNING(line))
