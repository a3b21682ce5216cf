"""manage.py evaluate <capability>: how the capability's model does against its simplest baseline on this
shop's own held-out data (the evaluation stored with each version when it was trained)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommend.core.evaluation import NOT_ACTIVATED_KEY, evaluation_of, evaluation_sentence
from recommend.models import ModelVersion

KINDS = [kind for kind in ModelVersion.Kind.values if kind != ModelVersion.Kind.TEXT_ENCODER]


class Command(BaseCommand):
    help = "Print each capability's model against its baseline on the shop's held-out data (active and newest)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("capability", nargs="?", choices=[*KINDS, "all"], default="all", help="Default: all.")
        parser.add_argument("--versions", type=int, default=2, help="How many of the newest versions to show (2).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["versions"] < 1:
            raise CommandError("--versions must be 1 or more.")
        kinds = KINDS if options["capability"] == "all" else [options["capability"]]
        for kind in kinds:
            versions = list(ModelVersion.objects.filter(kind=kind).order_by("-version")[: options["versions"]])
            active = ModelVersion.objects.filter(kind=kind, status=ModelVersion.Status.ACTIVE).first()
            if active is not None and active not in versions:
                versions.insert(0, active)
            self.stdout.write(self.style.MIGRATE_HEADING(f"{ModelVersion.Kind(kind).label} ({kind})"))
            if not versions:
                self.stdout.write("  no version trained yet")
            for version in versions:
                evaluated = evaluation_of(version) is not None
                line = f"  v{version.version} [{version.status}] {evaluation_sentence(version)}"
                self.stdout.write(line if evaluated else self.style.WARNING(line))
                if version.metrics.get(NOT_ACTIVATED_KEY):
                    self.stdout.write(f"      not activated: {version.metrics[NOT_ACTIVATED_KEY]}")
