"""manage.py train_duplicate_scorer --input labelled.jsonl: a new duplicate-matcher version from labelled pairs."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommend.core.jobs import job_enqueue_failed
from recommend.duplicates.training import duplicate_training_start, labelled_pairs_from_file


class Command(BaseCommand):
    help = (
        'Train a duplicate matcher. Each input line: {"left": {"title", "brand", "price", "description", '
        '"category"}, "right": {...}, "label": 0|1}. A bad row stops everything before any change '
        "(file: row N, column 'x': reason). Without --input, the admin's merge / not-a-duplicate decisions "
        "are the labels. The job fits on a train part, picks the threshold on a validation part and "
        "activates the new version only if it beats the active one on the test part."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", type=Path, help="labelled JSONL file (default: the admin's decisions)")
        parser.add_argument("--method", choices=["features", "cross_encoder"], default="cross_encoder")
        parser.add_argument("--epochs", type=int, default=2)
        parser.add_argument(
            "--force", action="store_true", help="Activate even if it beats neither the active matcher nor cosine."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from recommend.ml.duplicates.labelled_file import LabelledFileError

        path: Path | None = options["input"]
        pairs = None
        if path is not None:
            if not path.exists():
                raise CommandError(f"Input file not found: {path}")
            try:
                pairs = labelled_pairs_from_file(path=path)
            except LabelledFileError as error:
                raise CommandError(f"Nothing was changed.\n{error}") from error
        try:
            job = duplicate_training_start(
                source="file" if path else "decisions",
                pairs=pairs,
                method=options["method"],
                epochs=options["epochs"],
                force=options["force"],
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        job.refresh_from_db()
        if job_enqueue_failed(job):
            raise CommandError(f"Job {job.pk} could not be queued: {job.error}")
        if job.status == job.Status.DONE:
            result = job.result or {}
            verdict = "activated" if result.get("activated") else "not activated (the active matcher is as good)"
            self.stdout.write(
                f"Version {result.get('version')}: test F1 {result.get('test_f1', 0):.3f} "
                f"(active {result.get('active_test_f1', 0):.3f}), {verdict}."
            )
        elif job.status == job.Status.FAILED:
            raise CommandError(f"Training failed: {job.error}")
        else:
            self.stdout.write(f"Training job {job.pk} queued on the training queue ({job.status}).")
