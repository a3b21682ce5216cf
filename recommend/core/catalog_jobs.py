"""Job handlers for catalog maintenance (imports, tree rebuilds): core jobs that belong to no capability."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from catalog.importers.presets import IMPORT_LIMIT_MAX
from catalog.services import import_preset
from recommend.core.jobs import NoParams, job_handler
from recommend.core.progress import ProgressCallback
from recommend.models import Job
from taxonomy.models import Category


@dataclass(frozen=True)
class ImportParams:
    preset: str = ""
    data_dir: str = ""
    limit: int | None = None
    strict: bool = False
    demo: bool = False

    def validate(self) -> None:
        if not self.preset:
            raise ValueError("preset: this field is required.")
        if self.limit is not None and not 1 <= self.limit <= IMPORT_LIMIT_MAX:
            raise ValueError(f"limit: must be between 1 and {IMPORT_LIMIT_MAX}.")


@job_handler(Job.Kind.IMPORT, queue="default", params=ImportParams, label="Catalog import")
def run_import(job: Job, params: ImportParams, progress: ProgressCallback) -> dict[str, Any]:
    reports = import_preset(
        name=params.preset,
        data_dir=Path(params.data_dir or settings.SHOP_DATA_DIR),
        limit=params.limit,
        strict=params.strict,
        progress=progress,
    )
    return {"reports": [report.as_dict(max_errors=50) for report in reports]}


@job_handler(Job.Kind.REBUILD_TREE, queue="default", params=NoParams, label="Rebuild category tree")
def rebuild_category_tree(job: Job, params: NoParams, progress: ProgressCallback) -> dict[str, Any]:
    progress(0.1, "rebuilding tree fields")
    Category.objects.rebuild()
    return {"categories": Category.objects.count()}
