"""Keeping the tree fit without rebuilding it: place a product by the applied tree's centroids, and notice when
new products fit no category, to propose a rebuild of that subtree (never applied without staff)."""

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.utils import timezone

from catalog.models import Product
from recommend.core import vectors as core_vectors
from recommend.core.registry import artifact_local_path
from recommend.hierarchy.build import encode
from recommend.hierarchy.models import TaxonomyProposal
from recommend.hierarchy.services import proposal_build_start
from recommend.ml.hierarchy.builder import place, product_vectors
from recommend.models import ModelVersion
from taxonomy.models import Category

_loaded: dict[int, tuple[list[np.ndarray], list[np.ndarray], list[list[str]]]] = {}


def _active_tree() -> tuple[ModelVersion, TaxonomyProposal] | None:
    version = ModelVersion.objects.filter(kind=ModelVersion.Kind.HIERARCHY, status=ModelVersion.Status.ACTIVE).first()
    if version is None:
        return None
    proposal = TaxonomyProposal.objects.filter(
        pk=version.params.get("proposal_id"), status=TaxonomyProposal.Status.APPLIED
    ).first()
    return (version, proposal) if proposal is not None else None


def _centroids(version: ModelVersion) -> tuple[list[np.ndarray], list[np.ndarray], list[list[str]]]:
    if version.pk not in _loaded:
        with np.load(artifact_local_path(version=version)) as data:
            depth = int(data["depth"])
            _loaded[version.pk] = (
                [data[f"centroids{level}"] for level in range(depth)],
                [data[f"parents{level}"] for level in range(depth)],
                [[str(key) for key in data[f"keys{level}"]] for level in range(depth)],
            )
    return _loaded[version.pk]


def place_product(product: Product, *, save: bool = True) -> tuple[Category | None, float]:
    """The applied tree's best category for `product` (nearest centroid per level, top-down) and the cosine.

    The fallback for products the classifier did not place: with `save`, a product without a category gets this
    one (set automatically, waiting in the review queue). (None, 0.0) when no proposal is applied.
    """
    active = _active_tree()
    if active is None:
        return None, 0.0
    version, proposal = active
    centroids, parents, keys = _centroids(version)
    vector = product_vectors([product.title], encode)
    path, similarity = place(vector, centroids, parents)
    resolved = proposal.snapshot.get("node_categories", {})
    category_id = None
    for level in range(len(centroids) - 1, -1, -1):  # the finest node that has a category
        category_id = resolved.get(keys[level][int(path[0, level])])
        if category_id:
            break
    category = Category.objects.filter(pk=category_id).first() if category_id else None
    if save and category is not None and product.category_id is None:
        Product.objects.filter(pk=product.pk).update(
            category=category,
            category_source=Product.CategorySource.AUTOMATIC,
            category_confidence=float(similarity[0]),
            needs_review=True,
            updated_at=timezone.now(),
        )
        product.category = category
    return category, float(similarity[0])


@dataclass
class FitReport:
    recent: int
    misfits: int
    scope: Category | None
    reason: str
    proposal: TaxonomyProposal | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "recent": self.recent,
            "misfits": self.misfits,
            "scope": self.scope.pk if self.scope else None,
            "reason": self.reason,
            "proposal": self.proposal.pk if self.proposal else None,
        }


def _category_centroids(old_ids: list[int]) -> tuple[list[int], np.ndarray]:
    """(category ids, unit centroids) from the stored vectors of the products that were there before."""
    rows = dict(Product.objects.filter(pk__in=old_ids, category__isnull=False).values_list("pk", "category_id"))
    ids, matrix = core_vectors.product_vectors(product_ids=list(rows))
    categories = sorted(set(rows.values()))
    if not len(ids):
        return [], np.zeros((0, 0), dtype=np.float32)
    index = {category: row for row, category in enumerate(categories)}
    sums = np.zeros((len(categories), matrix.shape[1]), dtype=np.float64)
    np.add.at(sums, [index[rows[int(pk)]] for pk in ids], matrix)
    sums /= np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-9)
    return categories, sums.astype(np.float32)


def _scope_of(category_ids: list[int]) -> Category | None:
    """The top-level category most misfits are nearest to, when it holds most of them; else the whole catalog."""
    tree_of = dict(Category.objects.filter(pk__in=set(category_ids)).values_list("pk", "tree_id"))
    trees = Counter(tree_of[pk] for pk in category_ids if pk in tree_of)
    if not trees:
        return None
    tree_id, count = trees.most_common(1)[0]
    if count < 0.6 * len(category_ids):
        return None
    return Category.objects.filter(tree_id=tree_id, parent__isnull=True).first()


def taxonomy_fit_check(*, days: float | None = None, create: bool = True) -> FitReport:
    """Count recent products whose best cosine to every category centroid is below TAXONOMY_FIT_MIN_SIMILARITY.

    When they are at least TAXONOMY_FIT_MIN_SHARE of the recent ones (and TAXONOMY_FIT_MIN_PRODUCTS), a build of
    that subtree is started with origin "automatic" and the reason in words; staff see it on the proposals list.
    """
    days = settings.TAXONOMY_FIT_DAYS if days is None else days
    since = timezone.now() - timedelta(days=days)
    active = Product.objects.filter(is_active=True, merged_into__isnull=True)
    recent = list(active.filter(created_at__gte=since).values_list("pk", flat=True))
    old = list(active.filter(created_at__lt=since).values_list("pk", flat=True))
    categories, centroids = _category_centroids(old)
    if not recent or not categories:
        return FitReport(len(recent), 0, None, "nothing to compare: no recent products or no categorised older ones")
    ids, matrix = core_vectors.product_vectors(product_ids=recent)
    scores = matrix @ centroids.T
    best = scores.max(axis=1)
    floor = settings.TAXONOMY_FIT_MIN_SIMILARITY
    misfit_rows = np.flatnonzero(best < floor)
    nearest = [categories[int(scores[row].argmax())] for row in misfit_rows]
    scope = _scope_of(nearest)
    where = f", mostly near “{scope.name}”" if scope else ""
    reason = (
        f"{len(misfit_rows)} of {len(ids)} products added in the last {days:g} days "
        f"({len(misfit_rows) / len(ids):.0%}) fit no category well (best similarity below {floor:.2f}){where}"
    )
    report = FitReport(len(ids), len(misfit_rows), scope, reason)
    enough = len(misfit_rows) >= settings.TAXONOMY_FIT_MIN_PRODUCTS
    if create and enough and len(misfit_rows) >= settings.TAXONOMY_FIT_MIN_SHARE * len(ids):
        waiting = TaxonomyProposal.objects.filter(
            scope=scope,
            origin=TaxonomyProposal.Origin.AUTOMATIC,
            status__in=[TaxonomyProposal.Status.BUILDING, TaxonomyProposal.Status.READY],
        ).first()
        if waiting is None:
            report.proposal = proposal_build_start(scope=scope, origin=TaxonomyProposal.Origin.AUTOMATIC, reason=reason)
        else:
            report.proposal = waiting
    return report
