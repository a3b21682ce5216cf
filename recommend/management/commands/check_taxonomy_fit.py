"""manage.py check_taxonomy_fit: the periodic check, now: do recent products fit the categories?"""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from recommend.hierarchy.maintenance import taxonomy_fit_check


class Command(BaseCommand):
    help = (
        "Count recently added products that fit no category well; above TAXONOMY_FIT_MIN_SHARE a taxonomy "
        "proposal build of their subtree starts (origin automatic). Nothing is ever applied without staff."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=float, help="Products added within this many days (TAXONOMY_FIT_DAYS).")
        parser.add_argument("--dry-run", action="store_true", help="Only report; start no build.")

    def handle(self, *args: Any, **options: Any) -> None:
        report = taxonomy_fit_check(days=options["days"], create=not options["dry_run"])
        self.stdout.write(report.reason)
        if report.proposal is not None:
            self.stdout.write(self.style.SUCCESS(f"{report.proposal} proposes a rebuild."))
