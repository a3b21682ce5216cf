"""manage.py train_recommender: train a sequential recommender version now (or queue one) and print its metrics."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommend.core.jobs import job_create
from recommend.core.progress import progress_bar
from recommend.models import Job, ModelVersion
from recommend.sequential.services import TrainingOptions, recommender_train


class Command(BaseCommand):
    help = "Train the SASRec recommender on shoppers' event sequences; activate it if it is not worse."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Activate even if not better than its baseline or the active one."
        )
        parser.add_argument("--epochs", type=int, help="At most this many epochs (early stopping may end sooner).")
        parser.add_argument("--demo", action="store_true", help="The short demo configuration (about a minute).")
        parser.add_argument("--queue", action="store_true", help="Queue a job for a training worker instead.")

    def handle(self, *args: Any, **options: Any) -> None:
        params = {key: options[key] for key in ("force", "epochs", "demo") if options[key]}
        if options["queue"]:
            job = job_create(kind=Job.Kind.TRAIN_RECOMMENDER, params=params)
            self.stdout.write(f"Queued {job} on the training queue.")
            return
        with progress_bar("train recommender") as progress:
            try:
                version = recommender_train(options=TrainingOptions(**params), progress=progress)
            except ValueError as error:
                raise CommandError(str(error)) from error
        version.refresh_from_db()
        for key, value in sorted(version.metrics.items()):
            self.stdout.write(f"  {key:36} {value}")
        state = "activated" if version.status == ModelVersion.Status.ACTIVE else "kept ready (not better)"
        self.stdout.write(self.style.SUCCESS(f"Recommender v{version.version} {state}."))
