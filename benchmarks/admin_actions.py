"""What a merchandiser's clicks cost: single edits, bulk edits and "Train classifier" through the admin client.

Builds (once, reused from --workdir) the demo site in embedded mode: SQLite, tasks in process, the demo
catalog and models from `manage.py setup_demo`. Then, logged in as staff, it posts each action the way the
admin page does and times the request itself, REPETITIONS (20) times per action, reporting the median, p95 and
max (`admin.<action>.median_seconds` / `p95_seconds` / `max_seconds` / `repetitions`): move a category (drag and
drop, there and back), rename one (and back), accept one review-queue suggestion, merge a duplicate pair (a new
pair each time, fewer repetitions when the site has fewer open pairs), accept the top suggestion of 50 products
(the accepted products are put back in the queue after each request, outside the timing); and once, the "Train
classifier" form with its defaults (timed to the end of its job). It also records which follow-up jobs each
click queued and when they are due, and, as the baseline in the same run, how long the coalesced
rebuild/retrain those clicks queued takes when it finally runs (the work the old code did per click).

Run: nice -n 10 .venv/bin/python benchmarks/admin_actions.py [--workdir DIR] [--skip-train] [--quick]
Writes admin.* into benchmarks/results/admin.json and a table to benchmarks/results/admin.md (`--skip-train`:
admin.no_train.*, with `--skip-coalesced` too admin.no_coalesced_no_train.*; `--quick`, the built-in sample
catalog and no training: admin.quick.*).
"""

import argparse
import os
import re
import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
from common import setup_django, write_results

SEED = 13
STAFF = "bench-admin"


def prepare_site(workdir: Path, sample: bool = False) -> None:
    """The demo site in `workdir`; an earlier run's site is reused (its import and models too)."""
    os.environ["VAR_DIR"] = str(workdir / "var")
    setup_django(workdir / "site.sqlite3", fresh=False)
    from django.core.management import call_command

    from recommend.core.registry import active_version_id
    from recommend.models import ModelVersion

    if active_version_id(ModelVersion.Kind.CLASSIFIER) is None or active_version_id(ModelVersion.Kind.SIMILAR) is None:
        started = time.monotonic()
        call_command("setup_demo", username=STAFF, wait=True, sample=sample)
        print(f"demo site built in {time.monotonic() - started:.0f}s")


def staff_client() -> Any:
    from django.contrib.auth.models import User
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the client records response.context (form_data reads the change form's values)

    user, _ = User.objects.get_or_create(username=STAFF)
    user.is_staff = user.is_superuser = True
    user.save()
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    return client


def jobs_since(job_id: int) -> list[dict[str, Any]]:
    """The jobs created after `job_id`: kind, status and when they are due (what the click queued)."""
    from recommend.models import Job

    fields = [f.name for f in Job._meta.fields]
    due = "run_after" if "run_after" in fields else None
    rows = []
    for job in Job.objects.filter(pk__gt=job_id).order_by("pk"):
        rows.append({"kind": job.kind, "status": job.status, "due": str(getattr(job, due)) if due else "on commit"})
    return rows


def last_job_id() -> int:
    from recommend.models import Job

    return Job.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


REPETITIONS = 20  # each click is timed this many times: median and p95, never one request


def timed(name: str, post: Any, client: Any) -> dict[str, Any]:
    """Time one request; report its status, the admin's message and the jobs it queued."""
    before = last_job_id()
    started = time.perf_counter()
    response = post()
    seconds = time.perf_counter() - started
    queued = jobs_since(before)
    said = " | ".join(admin_messages(client))[:300]
    print(f"{name}: {seconds:.2f}s status {response.status_code}, queued {queued}; {said}")
    return {
        f"admin.{name}.message": said,
        f"admin.{name}.seconds": round(seconds, 3),
        f"admin.{name}.status": response.status_code,
        f"admin.{name}.jobs_queued": len(queued),
        f"admin.{name}.jobs_ran_in_request": sum(1 for job in queued if job["status"] in ("done", "failed")),
    }


Step = tuple[Callable[[], Any], Callable[[], None] | None]  # (the request, what restores the site after it)


def repeated(name: str, steps: Iterator[Step], client: Any) -> dict[str, Any]:
    """Time each request `steps` yields (REPETITIONS at most): median, p95 and max seconds, statuses, jobs queued.

    A step's restore (putting products back in the review queue, say) runs after its request, outside the timing,
    so every repetition does the same work on the same kind of data.
    """
    seconds, statuses, queued, ran, said = [], set(), 0, 0, ""
    for post, restore in islice(steps, REPETITIONS):
        before = last_job_id()
        started = time.perf_counter()
        response = post()
        seconds.append(time.perf_counter() - started)
        jobs = jobs_since(before)
        statuses.add(response.status_code)
        queued += len(jobs)
        ran += sum(1 for job in jobs if job["status"] in ("done", "failed"))
        shown = " | ".join(admin_messages(client))[:300]  # read every time: messages must not pile up
        said = said or shown
        if restore is not None:
            restore()
    if not seconds:
        return {f"admin.{name}.skipped": "nothing to act on"}
    values = {
        f"admin.{name}.repetitions": len(seconds),
        f"admin.{name}.median_seconds": round(float(np.median(seconds)), 4),
        f"admin.{name}.p95_seconds": round(float(np.percentile(seconds, 95)), 4),
        f"admin.{name}.max_seconds": round(max(seconds), 4),
        f"admin.{name}.statuses": ", ".join(map(str, sorted(statuses))),
        f"admin.{name}.jobs_queued": queued,
        f"admin.{name}.jobs_ran_in_request": ran,
        f"admin.{name}.message": said,
    }
    print(name, {key.rsplit(".", 1)[1]: value for key, value in values.items()}, flush=True)
    return values


def admin_messages(client: Any) -> list[str]:
    page = client.get("/admin/").content.decode()
    return re.findall(r'<li class="(?:success|info|warning|error)">(.*?)</li>', page)


def move_category(client: Any) -> dict[str, Any]:
    """Drag one leaf category under its parent's next sibling and back (the tree admin's move_node request)."""
    from django.urls import reverse

    from taxonomy.models import Category

    leaf = Category.objects.filter(children__isnull=True, level__gte=2).order_by("pk").first()
    if leaf is None:
        return {"admin.move_category.skipped": "no leaf category below level 2"}
    home = leaf.parent_id
    target = Category.objects.filter(level=leaf.level - 1).exclude(pk=home).order_by("pk").first()
    url = reverse("admin:taxonomy_category_changelist")

    def steps() -> Iterator[Step]:
        for repetition in range(REPETITIONS):
            onto = target.pk if repetition % 2 == 0 else home
            data = {"cmd": "move_node", "cut_item": leaf.pk, "pasted_on": onto, "position": "last-child"}
            yield lambda data=data: client.post(url, data, HTTP_X_REQUESTED_WITH="XMLHttpRequest"), None

    return repeated("move_category", steps(), client)


def form_data(client: Any, url: str) -> dict[str, Any]:
    """The values a change form would post back unchanged (from its bound initial data)."""
    response = client.get(url)
    form = response.context["adminform"].form
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None or (field.disabled if hasattr(field, "disabled") else False):
            continue
        data[name] = value
    return data


def rename_category(client: Any) -> dict[str, Any]:
    """Rename a leaf category and back again, through its change form."""
    from django.urls import reverse

    from taxonomy.models import Category

    category = Category.objects.filter(children__isnull=True).order_by("-pk").first()
    url = reverse("admin:taxonomy_category_change", args=[category.pk])
    original = category.name

    def steps() -> Iterator[Step]:
        for repetition in range(REPETITIONS):
            name = f"{original} (renamed)" if repetition % 2 == 0 else original
            data = {**form_data(client, url), "name": name, "_save": "Save"}  # read before the timing
            yield lambda data=data: client.post(url, data), None

    return repeated("rename_category", steps(), client)


def review_queue_ids(limit: int) -> list[int]:
    """Products the review queue lists (as its changelist does: the classifier owns their category)."""
    from recommend.classification.selectors import CLASSIFIER_OWNED_SOURCES
    from recommend.models import CategorySuggestion, ReviewQueueProduct

    with_suggestions = CategorySuggestion.objects.values("product_id")
    queue = ReviewQueueProduct.objects.filter(
        needs_review=True, category_source__in=CLASSIFIER_OWNED_SOURCES, pk__in=with_suggestions
    ).order_by("pk")
    return list(queue.values_list("pk", flat=True)[:limit])


REVIEW_FIELDS = ("category_id", "category_source", "category_confidence", "needs_review")


def restorer(product_ids: list[int]) -> Callable[[], None]:
    """Puts these products' category and review state back as they are now (after an accept, untimed)."""
    from catalog.models import Product

    saved = list(Product.objects.filter(pk__in=product_ids).values("pk", *REVIEW_FIELDS))

    def restore() -> None:
        for row in saved:
            Product.objects.filter(pk=row["pk"]).update(**{field: row[field] for field in REVIEW_FIELDS})

    return restore


def accept_suggestion(client: Any) -> dict[str, Any]:
    """Accept one product's top suggestion in the review queue (a different product each time when there are)."""
    from django.urls import reverse

    from recommend.models import CategorySuggestion

    queue = review_queue_ids(REPETITIONS)
    if not queue:
        return {"admin.accept_suggestion.skipped": "empty review queue"}

    def steps() -> Iterator[Step]:
        for repetition in range(REPETITIONS):
            product_id = queue[repetition % len(queue)]
            suggestion = CategorySuggestion.objects.filter(product_id=product_id).order_by("rank").first()
            url = reverse("admin:recommend_reviewqueue_accept", args=[suggestion.pk])
            yield lambda url=url: client.post(url), restorer([product_id])

    return repeated("accept_suggestion", steps(), client)


def bulk_accept(client: Any, count: int = 50) -> dict[str, Any]:
    """Accept the top suggestion of `count` products at once (the changelist action); they are put back after."""
    from django.urls import reverse

    ids = review_queue_ids(count)
    if not ids:
        return {f"admin.bulk_accept_{count}.skipped": "empty review queue"}
    url = reverse("admin:recommend_reviewqueueproduct_changelist")
    data = {"action": "accept_top_suggestion", "_selected_action": ids}

    def steps() -> Iterator[Step]:
        for _ in range(REPETITIONS):
            yield lambda: client.post(url, data), restorer(ids)

    result = repeated(f"bulk_accept_{count}", steps(), client)
    result[f"admin.bulk_accept_{count}.products"] = len(ids)
    return result


def merge_pair(client: Any) -> dict[str, Any]:
    """Merge the highest-scored open duplicate pair, a new pair each time (a merge is not put back)."""
    from django.urls import reverse

    from recommend.models import DuplicatePair

    url = reverse("admin:recommend_duplicatepair_changelist")

    def steps() -> Iterator[Step]:
        for _ in range(REPETITIONS):
            pair = DuplicatePair.objects.filter(status=DuplicatePair.Status.OPEN).order_by("-score").first()
            if pair is None:
                return
            data = {"action": "merge_keep_left", "_selected_action": [pair.pk], "post": "yes"}
            yield lambda data=data: client.post(url, data), None

    return repeated("merge_pair", steps(), client)


def wait_for_job(job_id: int, timeout: float) -> Any:
    """The job once finished; one still queued with no worker to take it is run here, in this process."""
    from recommend.core.jobs import job_run
    from recommend.models import Job

    deadline = time.monotonic() + timeout
    queued_since = time.monotonic()
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.status in (Job.Status.DONE, Job.Status.FAILED, Job.Status.CANCELLED):
            return job
        if job.status == Job.Status.QUEUED and time.monotonic() - queued_since > 5:
            return job_run(job_id=job_id)
        time.sleep(1)
    raise TimeoutError(f"job {job_id} did not finish in {timeout:.0f}s")


def train_default(client: Any, timeout: float) -> dict[str, Any]:
    """Post the "Train classifier" form exactly as it opens (its defaults) and time the job to its end."""
    from django.urls import reverse

    from recommend.models import Job

    url = reverse("admin:recommend_train_classifier")
    page = client.get(url)
    form = page.context["form"]
    data = {name: value for name, value in form.initial.items() if value not in (None, False, "")}
    for name, field in form.fields.items():
        if name not in data and field.initial not in (None, False, ""):
            data[name] = field.initial
    started = time.monotonic()
    result = timed("train_default_request", lambda: client.post(url, data), client)
    job = Job.objects.filter(kind=Job.Kind.TRAIN_CLASSIFIER).order_by("-pk").first()
    job = wait_for_job(job.pk, timeout)
    seconds = time.monotonic() - started
    print(f"train_default: {seconds:.0f}s, {job.status}, {job.message}")
    metrics = (job.result or {}).get("metrics", {})
    return {
        **result,
        "admin.train_default.seconds": round(seconds, 1),
        "admin.train_default.status": job.status,
        "admin.train_default.form": str(sorted(data.items())),
        "admin.train_default.path_accuracy": metrics.get("heldout.path_accuracy"),
        "admin.train_default.activated": metrics.get("activated"),
    }


def coalesced_followups(since_job_id: int, timeout: float) -> dict[str, Any]:
    """Run what the clicks queued (due or not) and time it: the baseline cost the old code paid per click."""
    from recommend.core.jobs import job_run
    from recommend.models import Job

    pending = list(Job.objects.filter(pk__gt=since_job_id, status=Job.Status.QUEUED).order_by("pk"))
    started = time.monotonic()
    for job in pending:
        job_run(job_id=job.pk)
    kinds = sorted({job.kind for job in pending})
    return {
        "admin.coalesced.jobs": len(pending),
        "admin.coalesced.kinds": ", ".join(kinds) or "none",
        "admin.coalesced.seconds": round(time.monotonic() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/shop-admin-bench"))
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--skip-coalesced", action="store_true", help="do not run the follow-up jobs the clicks queued")
    parser.add_argument("--train-timeout", type=float, default=1800)
    parser.add_argument("--quick", action="store_true", help="the built-in sample catalog, no training (smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.skip_train = True
        if args.workdir == parser.get_default("workdir"):  # never the full run's site
            args.workdir = Path("/tmp/shop-admin-bench-quick")
    args.workdir.mkdir(parents=True, exist_ok=True)
    prepare_site(args.workdir, sample=args.quick)
    import torch

    torch.set_num_threads(2)
    from catalog.models import Product

    client = staff_client()
    first_job = last_job_id()
    values: dict[str, Any] = {"admin.catalog_products": Product.objects.count(), "seed": SEED, "split": "n/a"}
    for action in (move_category, rename_category, accept_suggestion, merge_pair, bulk_accept):
        values.update(action(client))
    if not args.skip_coalesced:
        values.update(coalesced_followups(first_job, args.train_timeout))
    if not args.skip_train:
        values.update(train_default(client, args.train_timeout))
    skipped = [name for name, skip in (("no_coalesced", args.skip_coalesced), ("no_train", args.skip_train)) if skip]
    part = "_".join(skipped) if skipped and not args.quick else None
    title = "Admin actions on the demo catalog (embedded mode, admin client)"
    write_results("admin", values, title, part=part, quick=args.quick)


if __name__ == "__main__":
    main()
