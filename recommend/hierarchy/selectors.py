"""Reads of taxonomy proposals: the two trees side by side and the changes with the products they move."""

from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from catalog.models import Product
from recommend.hierarchy.models import ProposalChange, TaxonomyProposal
from taxonomy.models import Category
from taxonomy.selectors import category_ancestries

PRODUCTS_SHOWN = 10


def proposals_list() -> QuerySet[TaxonomyProposal]:
    proposals = TaxonomyProposal.objects.select_related("scope", "job", "created_by").order_by("-created_at", "-id")
    return proposals.annotate(
        change_count=Count("changes"),
        accepted_count=Count("changes", filter=Q(changes__decision=ProposalChange.Decision.ACCEPTED)),
    )


@dataclass
class ProposedRow:
    node: dict[str, Any]
    indent: int
    kinds: list[str]  # kinds of the changes about this node
    live_name: str = ""  # the matched live category's path, if any


def proposed_tree_rows(proposal: TaxonomyProposal) -> list[ProposedRow]:
    """The proposed nodes depth first (children by size), each with the kinds of its changes."""
    kinds: dict[str, list[str]] = {}
    for key, kind in proposal.changes.values_list("node_key", "kind"):
        kinds.setdefault(key, []).append(kind)
    matched = {node["category_id"] for node in proposal.tree if node.get("category_id")}
    live = list(Category.objects.filter(pk__in=matched))
    category_ancestries(categories=live)  # one query for every path
    names = {category.pk: category.path_display for category in live}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for node in proposal.tree:
        children.setdefault(node["parent_key"], []).append(node)
    rows: list[ProposedRow] = []

    def walk(parent: str | None, indent: int) -> None:
        for node in sorted(children.get(parent, []), key=lambda n: (-n["size"], n["key"])):
            live_name = names.get(node.get("category_id"), "")
            rows.append(ProposedRow(node, indent, sorted(set(kinds.get(node["key"], []))), live_name))
            walk(node["key"], indent + 1)

    walk(None, 0)
    return rows


@dataclass
class LiveRow:
    category: Category
    indent: int
    products: int  # active products directly in it


def live_tree_rows(scope: Category | None) -> list[LiveRow]:
    """The live subtree of the scope (or the whole tree) in tree order, with its direct product counts."""
    if scope is not None:
        categories = list(scope.get_descendants(include_self=True))
        base = scope.level
    else:
        categories = list(Category.objects.order_by("tree_id", "lft"))
        base = 0
    counts = Counter(
        Product.objects.filter(category__in=categories, is_active=True).values_list("category_id", flat=True)
    )
    return [LiveRow(category=c, indent=c.level - base, products=counts.get(c.pk, 0)) for c in categories]


@dataclass
class ChangeRow:
    change: ProposalChange
    titles: list[str]
    more: int  # products beyond the ones listed


def change_rows(proposal: TaxonomyProposal) -> list[ChangeRow]:
    """Each change with the titles of the first PRODUCTS_SHOWN products it would move (one query for all)."""
    changes = list(proposal.changes.select_related("target", "source"))
    wanted = {pk for change in changes for pk in change.product_ids[:PRODUCTS_SHOWN]}
    titles = dict(Product.objects.filter(pk__in=wanted).values_list("pk", "title"))
    return [
        ChangeRow(
            change=change,
            titles=[titles[pk] for pk in change.product_ids[:PRODUCTS_SHOWN] if pk in titles],
            more=max(0, change.product_count - PRODUCTS_SHOWN),
        )
        for change in changes
    ]


def proposal_detail(proposal: TaxonomyProposal) -> dict[str, Any]:
    """The API's view of one proposal: the tree (without product ids), the changes and the attribute tree."""
    nodes = [{key: value for key, value in node.items() if key != "product_ids"} for node in proposal.tree]
    return {
        "id": proposal.pk,
        "status": proposal.status,
        "scope": proposal.scope_id,
        "depth": proposal.depth,
        "method": proposal.method,
        "origin": proposal.origin,
        "reason": proposal.reason,
        "job": proposal.job_id,
        "created_at": proposal.created_at,
        "applied_at": proposal.applied_at,
        "stats": proposal.stats,
        "tree": nodes,
        "changes": [
            {
                "id": change.pk,
                "kind": change.kind,
                "node_key": change.node_key,
                "target": change.target_id,
                "source": change.source_id,
                "name": change.name,
                "summary": change.summary,
                "product_count": change.product_count,
                "product_ids": change.product_ids,
                "decision": change.decision,
            }
            for change in proposal.changes.all()
        ],
        "attributes": proposal.attributes,
        "attribute_links": proposal.attribute_links,
    }
