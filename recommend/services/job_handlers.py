"""Job handlers: what each kind of job does. Each takes (job, progress) and returns a result dict."""

from pathlib import Path
from typing import Any

from django.conf import settings

from catalog.services import import_preset
from recommend.models import Job
from recommend.services.jobs import ProgressCallback
from taxonomy.models import Category


def run_import(job: Job, progress: ProgressCallback) -> dict[str, Any]:
    params = job.params
    reports = import_preset(
        name=params["preset"],
        data_dir=Path(params.get("data_dir") or settings.SHOP_DATA_DIR),
        limit=params.get("limit"),
        strict=bool(params.get("strict")),
        progress=progress,
    )
    return {"reports": [report.as_dict(max_errors=50) for report in reports]}


def rebuild_category_tree(job: Job, progress: ProgressCallback) -> dict[str, Any]:
    progress(0.1, "rebuilding tree fields")
    Category.objects.rebuild()
    return {"categories": Category.objects.count()}
