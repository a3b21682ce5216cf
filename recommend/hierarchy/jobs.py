"""Job handlers of taxonomy proposals: the build (training queue), the periodic fit check, and placing new
products whose placement task could not be sent (inference queue)."""

from dataclasses import dataclass
from typing import Any

from recommend.core.jobs import job_handler
from recommend.core.progress import ProgressCallback
from recommend.hierarchy.maintenance import taxonomy_fit_check
from recommend.hierarchy.services import proposal_build_run
from recommend.hierarchy.tasks import place_new_product
from recommend.ml.hierarchy.builder import DEFAULT_METHOD
from recommend.models import Job


@dataclass(frozen=True)
class BuildHierarchyParams:
    scope: int | None = None  # root category of the subtree; None: the whole catalog
    depth: int = 3
    method: str = DEFAULT_METHOD
    demo: bool = False  # the demo's job list passes it; the demo builds the same proposal staff would


@dataclass(frozen=True)
class PlaceProductsParams:
    product_ids: list[int]


@dataclass(frozen=True)
class CheckTaxonomyFitParams:
    days: float | None = None  # None: settings.TAXONOMY_FIT_DAYS


@job_handler(Job.Kind.BUILD_HIERARCHY, queue="training", params=BuildHierarchyParams, label="Build taxonomy proposal")
def build_hierarchy_job(job: Job, params: BuildHierarchyParams, progress: ProgressCallback) -> dict[str, Any]:
    return proposal_build_run(
        job=job, scope_id=params.scope, depth=params.depth, method=params.method, progress=progress
    )


@job_handler(Job.Kind.CHECK_TAXONOMY_FIT, queue="training", params=CheckTaxonomyFitParams, label="Check taxonomy fit")
def check_taxonomy_fit_job(job: Job, params: CheckTaxonomyFitParams, progress: ProgressCallback) -> dict[str, Any]:
    progress(0.1, "comparing recent products with the categories")
    return taxonomy_fit_check(days=params.days).as_dict()


@job_handler(Job.Kind.PLACE_PRODUCTS, queue="inference", params=PlaceProductsParams, label="Place new products")
def place_products_job(job: Job, params: PlaceProductsParams, progress: ProgressCallback) -> dict[str, Any]:
    """The placement of new products kept while the broker was down (recommend.hierarchy.receivers)."""
    placed = 0
    for index, product_id in enumerate(params.product_ids):
        progress(index / len(params.product_ids), f"placing product {index + 1} of {len(params.product_ids)}")
        placed += place_new_product(product_id) is not None
    return {"placed": placed, "products": len(params.product_ids)}
