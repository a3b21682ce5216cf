"""manage.py train_classifier: train a classifier version now (or queue one); print metrics and whether it is live."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommend.classification.training import NotEnoughTrainingData, classifier_train
from recommend.core.jobs import job_create
from recommend.core.progress import progress_bar
from recommend.models import Job


class Command(BaseCommand):
    help = "Train the hierarchical product classifier on the catalog; activate it if it is at least as good."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Activate even if worse than the active version.")
        parser.add_argument("--epochs", type=int, help="Training epochs (default: the model's own).")
        parser.add_argument("--limit", type=int, help="Train on a label-balanced sample of at most N products.")
        parser.add_argument("--demo", action="store_true", help="The small, fast demo configuration.")
        parser.add_argument("--queue", action="store_true", help="Queue a job for a training worker instead.")

    def handle(self, *args: Any, **options: Any) -> None:
        params = {key: options[key] for key in ("force", "epochs", "limit", "demo") if options[key]}
        if options["queue"]:
            job = job_create(kind=Job.Kind.TRAIN_CLASSIFIER, params=params)
            self.stdout.write(f"Queued {job} on the training queue.")
            return
        with progress_bar("train classifier") as progress:
            try:
                result = classifier_train(progress=progress, **params)
            except NotEnoughTrainingData as error:
                raise CommandError(str(error)) from error
        for key, value in sorted(result["metrics"].items()):
            self.stdout.write(f"  {key:42} {value}")
        state = "activated" if result["activated"] else "kept inactive"
        reason = result["metrics"]["activation_reason"]
        self.stdout.write(self.style.SUCCESS(f"Classifier v{result['version']} {state} ({reason})."))
