"""manage.py score_pairs --input pairs.jsonl --output scores.jsonl: the duplicate scorer on any pairs."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommend.duplicates.matchers import active_matcher
from recommend.duplicates.services import score_pairs_file


class Command(BaseCommand):
    help = (
        'Score product pairs. Each input line: {"left": {"title", "brand", "price", "description", "category"}, '
        '"right": {...}} (any field may be missing). Each output line: {"score": 0..1, "duplicate": true|false}, '
        "using the active duplicate_scorer version (manage.py train_duplicate_scorer) or the shipped "
        "out-of-the-box scorer, with the same threshold as the admin's duplicate list."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", type=Path, required=True)
        parser.add_argument("--output", type=Path, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["input"].exists():
            raise CommandError(f"Input file not found: {options['input']}")
        try:
            count = score_pairs_file(source=options["input"], target=options["output"])
        except ValueError as error:
            raise CommandError(str(error)) from error
        threshold = active_matcher().threshold
        self.stdout.write(f"Scored {count} pairs (threshold {threshold:.3f}) -> {options['output']}")
