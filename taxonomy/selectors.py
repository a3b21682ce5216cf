"""Reads of the taxonomy trees."""

from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet

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


def category_breadcrumb(*, category: Category) -> list[Category]:
    return list(category.get_ancestors(include_self=True))


TREE_VERSION_KEY = "taxonomy:tree_version"


def tree_cache_version() -> int:
    """A number that changes whenever the tree changes; cached tree views key on it."""
    return cache.get_or_set(TREE_VERSION_KEY, 1, None)


def category_paths() -> dict[int, list[str]]:
    """{category id: [root name, ..., own name]} for the whole tree, from one query."""
    rows = list(Category.objects.order_by("tree_id", "lft").values_list("pk", "parent_id", "name"))
    paths: dict[int, list[str]] = {}
    for pk, parent_id, name in rows:  # tree order: a parent always comes before its children
        paths[pk] = [*paths.get(parent_id, []), name] if parent_id else [name]
    return paths
