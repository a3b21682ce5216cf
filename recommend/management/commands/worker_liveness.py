"""manage.py worker_liveness: exit 0 while this machine's Celery worker is alive and progressing, 1 otherwise.

For a container liveness probe or a systemd watchdog script. The worker's watchdog thread (recommend.core.watchdog)
touches WORKER_LIVENESS_FILE each time it finds the worker healthy and exits the worker itself when it holds work
but makes no progress; this command catches what the thread cannot: a worker process frozen as a whole, or one
whose watchdog stopped.
"""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommend.core.watchdog import liveness_age


class Command(BaseCommand):
    help = "Exit 0 when the Celery worker's watchdog found it healthy recently (WORKER_LIVENESS_FILE), else 1."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", default=settings.WORKER_LIVENESS_FILE, help="The worker's liveness file.")
        parser.add_argument(
            "--max-age",
            type=float,
            default=max(3 * settings.WORKER_WATCHDOG_INTERVAL, 60.0),
            help="Seconds since the last healthy look after which the worker counts as dead (default: 60).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        age = liveness_age(path)
        if age is None:
            raise CommandError(f"not alive: {path} does not exist (no watchdog has run)", returncode=1)
        if age > options["max_age"]:
            raise CommandError(f"not alive: last healthy look {age:.0f} s ago (over {options['max_age']:.0f} s)")
        self.stdout.write(f"alive: last healthy look {age:.0f} s ago")
