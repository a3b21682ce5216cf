"""manage.py setup_demo: import the demo data, create a staff login and queue the model jobs. Safe to run again.

The model jobs are only queued: `manage.py run_jobs` (started by `make demo` beside the web server) trains
them in the background, so the site is up within about a minute of the import; `--wait` runs them here
first, as before.
"""

import secrets
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandParser

from catalog.sample_data import write_sample_dataset
from catalog.services import import_preset
from recommend.core.demo import demo_jobs_queue
from recommend.core.jobs import automatic_jobs_suspended, job_kind_label, job_worker_loop
from recommend.models import Job

# Rows per preset for the quick demo (None = all). --full imports everything.
QUICK_LIMITS = {"flipkart": None, "beauty": None, "groceries": None, "fashion": 5000}


class Command(BaseCommand):
    help = "Import the demo datasets (a slice, or --full), create a staff user and queue the demo model jobs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="Import every row of every dataset.")
        parser.add_argument("--data-dir", type=Path, default=settings.SHOP_DATA_DIR)
        parser.add_argument("--sample", action="store_true", help="Use the small built-in sample even if data exists.")
        parser.add_argument("--skip-models", action="store_true", help="Import data only.")
        parser.add_argument("--wait", action="store_true", help="Train the models here before returning.")
        parser.add_argument("--username", default="admin")
        parser.add_argument(
            "--reset-password", action="store_true", help="Give an existing staff user a new random password."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        self.import_data(options)
        login = self.ensure_staff(options["username"], reset=options["reset_password"])
        if not options["skip_models"]:
            jobs = demo_jobs_queue()
            names = ", ".join(f"{job_kind_label(job.kind)} #{job.pk}" for job in jobs)
            self.stdout.write(f"Queued the demo model jobs: {names}.")
            if options["wait"]:
                self.run_jobs_here()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready in {time.monotonic() - started:.0f}s."))
        self.stdout.write(
            f"  Shop:     http://127.0.0.1:8000/\n"
            f"  Admin:    http://127.0.0.1:8000/admin/  {login}\n"
            f"  API docs: http://127.0.0.1:8000/api/docs/"
        )
        if not options["skip_models"] and not options["wait"]:
            self.stdout.write(
                "  The models train in the background (`manage.py run_jobs`; `make demo` starts it): progress in\n"
                "  Admin > Jobs and a banner on the shop; pages fill in as each model goes live."
            )

    def import_data(self, options: dict[str, Any]) -> None:
        data_dir: Path = options["data_dir"]
        if options["sample"] or not data_dir.exists():
            data_dir = write_sample_dataset(Path(settings.VAR_DIR) / "sample_data")
            self.stdout.write(f"Using the small built-in sample in {data_dir} (no dataset folder, or --sample).")
        # The model jobs run once over everything, instead of once per imported file.
        with automatic_jobs_suspended():
            for name, limit in QUICK_LIMITS.items():
                for report in import_preset(
                    name=name, data_dir=data_dir, limit=None if options["full"] else limit, show_progress_bar=True
                ):
                    self.stdout.write(report.summary())

    def run_jobs_here(self) -> None:
        def show(job: Job) -> None:
            style = self.style.SUCCESS if job.status == Job.Status.DONE else self.style.ERROR
            took = f" in {job.duration_seconds:.0f}s" if job.duration_seconds is not None else ""
            self.stdout.write(style(f"  {job}{took}: {job.message}"))

        with automatic_jobs_suspended():
            job_worker_loop(wake=threading.Event(), stop=threading.Event(), until_idle=True, on_job=show)

    def ensure_staff(self, username: str, *, reset: bool) -> str:
        """Create the staff user with a random password. An existing user is left as it is (password, staff and
        superuser flags) unless `reset`: then it gets a new password and becomes a superuser, as on creation."""
        user, created = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
        password = ""
        if created or reset:
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            user.is_staff = user.is_superuser = True
            user.save()
        if password:
            return f"user {username!r}  password {password!r}"
        return f"user {username!r} (exists; password unchanged: `manage.py setup_demo --skip-models --reset-password`)"
