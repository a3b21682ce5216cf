"""A built proposal measured against the live tree: its top level beside k-means on TF-IDF (same cluster count).

The cases are the scope's products that have a live category; a product's live label is its live category's
ancestor one level below the scope (the top level of the live tree for a whole-catalog build; a product placed on
the scope itself keeps the scope). The comparison (`recommend.ml.hierarchy.evaluation`) is stored on the
proposal's hierarchy version, whose page and `manage.py evaluate hierarchy` show it, and its sentence on the
proposal's review page. A proposal is applied by staff, never by itself, so there is no gate: the figure says
whether the build recovers the shop's own grouping better than a plain word-clustering would.
"""

from collections.abc import Sequence
from typing import Any

from recommend.core.evaluation import evaluation_store
from recommend.hierarchy.build import ScopeProducts
from recommend.ml.common.comparison import Comparison, sentence
from recommend.models import ModelVersion
from taxonomy.models import Category


def live_labels(category_ids: Sequence[int | None], scope: Category | None) -> list[int | None]:
    """Each product's live category one level below the scope (None: no live category, or outside the scope)."""
    parents = dict(Category.objects.values_list("pk", "parent_id"))
    top_level = scope.level + 1 if scope is not None else 0
    levels = dict(Category.objects.values_list("pk", "level"))
    labels: list[int | None] = []
    for category in category_ids:
        node = category
        while node is not None and levels.get(node, -1) > top_level:
            node = parents.get(node)
        labels.append(node if node is not None and node in levels else None)
    return labels


def proposal_against_kmeans(
    products: ScopeProducts, nodes: Sequence[dict[str, Any]], scope: Category | None
) -> tuple[Comparison, dict[str, float]] | None:
    """The proposal's top level vs k-means on TF-IDF; None when the live tree gives fewer than two top labels or
    the proposal has fewer than two top-level clusters (nothing to measure)."""
    from recommend.ml.hierarchy.evaluation import compare_with_kmeans

    cluster_of = {pk: node["key"] for node in nodes if node["level"] == 0 for pk in node["product_ids"]}
    labels = live_labels(products.category_ids, scope)
    rows = [i for i, (pk, label) in enumerate(zip(products.ids, labels, strict=True)) if label and pk in cluster_of]
    truth = [labels[i] for i in rows]
    proposed = [cluster_of[products.ids[i]] for i in rows]
    if len(set(truth)) < 2 or len(set(proposed)) < 2:
        return None
    return compare_with_kmeans([products.titles[i] for i in rows], proposed, truth)


def evaluation_keep(*, version: ModelVersion, measured: tuple[Comparison, dict[str, float]] | None) -> dict[str, Any]:
    """Store the comparison on the version; returns what the proposal's stats keep (its sentence, the NMIs)."""
    if measured is None:
        return {}
    comparison, extra = measured
    label = f"{comparison.cases:,} of your products, against their live categories"
    stored = evaluation_store(version=version, comparison=comparison, cases_label=label)
    version.metrics = {**version.metrics, **extra}
    version.save(update_fields=["metrics"])
    return {"evaluation": sentence(stored), **extra}
