"""Reads of the taxonomy trees."""

from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.db.models import Q, QuerySet

from taxonomy.models import AttributeNode, Category


def category_subtree_ids(*, category: Category) -> QuerySet[Category, int]:
    return category.get_descendants(include_self=True).values_list("pk", flat=True)


def category_tree(*, max_depth: int | None = None, active_only: bool = True) -> list[dict[str, Any]]:
    """The whole category tree as nested dicts, built from one query."""
    queryset = Category.objects.all()
    if active_only:
        queryset = queryset.filter(is_active=True)
    if max_depth is not None:
        queryset = queryset.filter(level__lt=max_depth)
    return _nest(queryset.order_by("tree_id", "lft").values("id", "name", "slug", "parent_id", "level"))


def attribute_tree() -> list[dict[str, Any]]:
    queryset = AttributeNode.objects.order_by("tree_id", "lft").values(
        "id", "name", "slug", "parent_id", "level", "kind", "data_type", "unit"
    )
    return _nest(queryset)


def _nest(rows: Any) -> list[dict[str, Any]]:
    nodes: dict[int, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []
    for row in rows:
        node = {**row, "children": []}
        nodes[row["id"]] = node
        parent = nodes.get(row["parent_id"]) if row["parent_id"] else None
        if parent is not None:
            parent["children"].append(node)
        elif row["parent_id"] is None:
            roots.append(node)
    for node in nodes.values():
        node.pop("parent_id")
    return roots


def category_ancestries(*, categories: Iterable[Category | None]) -> dict[int, list[Category]]:
    """{id: [root, ..., node]} for many categories from one query; primes each node's `ancestry`.

    A list of products or autocomplete answers that shows paths calls this once per page
    instead of one ancestors query per row.
    """
    nodes = {c.pk: c for c in categories if c is not None}
    if not nodes:
        return {}
    bounds = Q()
    for node in nodes.values():
        bounds |= Q(tree_id=node.tree_id, lft__lte=node.lft, rght__gte=node.rght)
    ancestors = list(Category.objects.filter(bounds).order_by("tree_id", "lft"))
    result = {}
    for pk, node in nodes.items():
        chain = [a for a in ancestors if a.tree_id == node.tree_id and a.lft <= node.lft and a.rght >= node.rght]
        node._prefetched_ancestry = chain  # type: ignore[attr-defined]
        result[pk] = chain
    return result


def category_path_items(*, category: Category | None) -> list[dict[str, Any]]:
    """The path as the API shows it: [{"id", "name"}, ...] from the root."""
    return [{"id": node.pk, "name": node.name} for node in category.ancestry] if category else []


def category_breadcrumb(*, category: Category) -> list[Category]:
    return category.ancestry


TREE_VERSION_KEY = "taxonomy:tree_version"


def tree_cache_version() -> int:
    """A number that changes whenever the tree changes; cached tree views key on it."""
    return cache.get_or_set(TREE_VERSION_KEY, 1, None)


def category_paths() -> dict[int, list[str]]:
    """{category id: [root name, ..., own name]} for the WHOLE tree, from one query (the names of
    every node's `ancestry`, for jobs that need all of them at once)."""
    rows = list(Category.objects.order_by("tree_id", "lft").values_list("pk", "parent_id", "name"))
    paths: dict[int, list[str]] = {}
    for pk, parent_id, name in rows:  # tree order: a parent always comes before its children
        paths[pk] = [*paths.get(parent_id, []), name] if parent_id else [name]
    return paths
