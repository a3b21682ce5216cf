"""manage.py setup_demo: demo data and trained models, then a staff login. Safe to run again."""

import secrets
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandParser

from catalog.sample_data import write_sample_dataset
from catalog.services import import_preset
from recommend.core.jobs import automatic_jobs_suspended, job_create, job_run
from recommend.models import Job
from recommend.services.demo import DEMO_MODEL_JOBS

# Rows per preset for the quick demo (None = all). --full imports everything.
QUICK_LIMITS = {"flipkart": None, "beauty": None, "groceries": None, "fashion": 5000}


class Command(BaseCommand):
    help = "Import the demo datasets (a slice, or --full), train the demo models and create a staff user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="Import every row of every dataset.")
        parser.add_argument("--data-dir", type=Path, default=settings.SHOP_DATA_DIR)
        parser.add_argument("--sample", action="store_true", help="Use the small built-in sample even if data exists.")
        parser.add_argument("--skip-models", action="store_true", help="Import data only.")
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        data_dir: Path = options["data_dir"]
        if options["sample"] or not data_dir.exists():
            data_dir = write_sample_dataset(Path(settings.VAR_DIR) / "sample_data")
            self.stdout.write(f"Using the small built-in sample in {data_dir} (no dataset folder, or --sample).")
        # The model jobs below run once over everything, instead of once per imported file.
        with automatic_jobs_suspended():
            for name, limit in QUICK_LIMITS.items():
                for report in import_preset(
                    name=name, data_dir=data_dir, limit=None if options["full"] else limit, show_progress_bar=True
                ):
                    self.stdout.write(report.summary())
        if not options["skip_models"]:
            with automatic_jobs_suspended():
                for kind in DEMO_MODEL_JOBS:
                    self.run_job(kind)
        password = self.ensure_staff(options["username"])
        self.stdout.write(self.style.SUCCESS(f"Demo ready in {time.monotonic() - started:.0f}s."))
        self.stdout.write(
            f"  Shop:     http://127.0.0.1:8000/\n"
            f"  Admin:    http://127.0.0.1:8000/admin/  user {options['username']!r}  password {password!r}\n"
            f"  API docs: http://127.0.0.1:8000/api/docs/"
        )

    def run_job(self, kind: str) -> None:
        started = time.monotonic()
        self.stdout.write(f"Running job: {Job.Kind(kind).label} ...")
        job = job_create(kind=kind, params={"demo": True}, enqueue=False)
        shown = set()

        def show(fraction: float, message: str) -> None:
            if int(fraction * 10) not in shown:  # a line per tenth, not per update
                shown.add(int(fraction * 10))
                self.stdout.write(f"  {fraction:4.0%} {message}")

        job = job_run(job_id=job.pk, on_progress=show)
        if job.status != Job.Status.DONE:
            self.stderr.write(self.style.ERROR(f"{job}: {job.message}"))
        else:
            self.stdout.write(f"  done in {time.monotonic() - started:.0f}s")

    def ensure_staff(self, username: str) -> str:
        password = secrets.token_urlsafe(12)
        user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        return password
