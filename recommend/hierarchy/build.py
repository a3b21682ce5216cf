"""From the products of a scope to the proposal's tree and attribute tree (JSON for TaxonomyProposal).

The ML lives in recommend.ml.hierarchy; this module reads the catalog, embeds titles through
recommend.core.vectors.encode_texts (looked up at call time, so tests replace it with a cheap fake) and
turns the built clusters into nodes with keys "<level>.<cluster>" that the diff and the review page use.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings

from catalog.models import Product, ProductAttributeValue
from recommend.core import vectors as core_vectors
from recommend.core.progress import ProgressCallback, no_progress, scaled_progress
from recommend.ml.hierarchy import attributes as mining
from recommend.ml.hierarchy.autoencoder_config import AutoencoderConfig
from recommend.ml.hierarchy.builder import BuildConfig, BuiltHierarchy, build_hierarchy, product_vectors
from recommend.ml.hierarchy.tree import TreeConfig
from taxonomy.models import Category

EXAMPLES = 3
SMALL_CATALOG = 2000  # below this many products the cluster-count candidates shrink with the catalog
MIN_TITLE_VALUE_PRODUCTS = 5


class EmptyScopeError(ValueError):
    """The scope has no active products: there is nothing to cluster."""


@dataclass
class ScopeProducts:
    """The active products of a scope, in id order, with what the builder and the diff read."""

    ids: list[int]
    titles: list[str]
    brands: list[str]
    category_ids: list[int | None]
    specifications: list[dict[str, str]] = field(default_factory=list)


def scope_categories(scope: Category | None) -> "list[int] | None":
    """Ids of the scope's subtree (None: the whole catalog)."""
    if scope is None:
        return None
    return list(scope.get_descendants(include_self=True).values_list("pk", flat=True))


def scope_products(scope: Category | None) -> ScopeProducts:
    queryset = Product.objects.filter(is_active=True, merged_into__isnull=True)
    subtree = scope_categories(scope)
    if subtree is not None:
        queryset = queryset.filter(category_id__in=subtree)
    rows = list(queryset.order_by("pk").values_list("pk", "title", "brand__name", "category_id"))
    specs: dict[int, dict[str, str]] = defaultdict(dict)
    values = ProductAttributeValue.objects.filter(product__in=queryset).values_list(
        "product_id", "attribute__name", "value"
    )
    for product_id, name, value in values.iterator():
        specs[product_id][name] = value
    return ScopeProducts(
        ids=[row[0] for row in rows],
        titles=[row[1] for row in rows],
        brands=[row[2] or "" for row in rows],
        category_ids=[row[3] for row in rows],
        specifications=[specs.get(row[0], {}) for row in rows],
    )


def encode(texts: Sequence[str]) -> np.ndarray:
    """Vectors of plain texts through the shared store (`core.vectors.text_vectors`): a rebuild embeds only new
    titles. A product's own document is not used: it carries the live category path, which a blind build must
    not see.
    """
    return core_vectors.text_vectors(texts)


def tree_config(products: int, depth: int) -> TreeConfig:
    """The builder's candidates fit tens of thousands of products; a small shop gets smaller ones."""
    if products >= SMALL_CATALOG:
        return TreeConfig(depth=depth)
    fine_max = max(2, products // 4)
    fine = sorted({k for k in (2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 25, 30, 40, 50, 60, 80, 100) if k <= fine_max})
    coarse = (2, 3, 4, 5, 6, 8, 10, 12, 16, 20)
    return TreeConfig(depth=depth, candidates=tuple([coarse] * (depth - 1) + [tuple(fine)]))


def node_key(level: int, cluster: int) -> str:
    return f"{level}.{cluster}"


def proposal_nodes(built: BuiltHierarchy, products: ScopeProducts) -> list[dict[str, Any]]:
    """The tree as JSON nodes, coarse to fine (see TaxonomyProposal.tree)."""
    ids = np.array(products.ids, dtype=np.int64)
    nodes = []
    for level, descriptions in enumerate(built.nodes):
        labels = built.levels.labels[level]
        for cluster, description in enumerate(descriptions):
            parent = int(built.levels.parents[level][cluster]) if level else -1
            nodes.append(
                {
                    "key": node_key(level, cluster),
                    "parent_key": node_key(level - 1, parent) if level and parent >= 0 else None,
                    "level": level,
                    "label": description.label[:255],
                    "terms": description.terms[:5],
                    "size": int(description.size),
                    "examples": [products.titles[row] for row in description.examples[:EXAMPLES]],
                    "cohesion": round(float(description.cohesion), 3),
                    "category_id": None,
                    "product_ids": ids[labels == cluster].tolist(),
                }
            )
    return nodes


def mine_attribute_tree(
    products: ScopeProducts, leaf_labels: np.ndarray, depth: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Attribute groups > attributes > values from specifications and titles, and their links to leaf nodes."""
    mined = list(mining.collect_attributes(products.specifications).values())
    merged = mining.merge_synonyms(mined, mining.synonym_pairs(mined, encode)) if mined else []
    leaf = [int(label) for label in leaf_labels]
    mining.attach_categories(merged, products.specifications, leaf)
    from_titles = mining.mine_title_values(
        products.titles, leaf_labels, encode, min_products=max(MIN_TITLE_VALUE_PRODUCTS, len(products.ids) // 100)
    )
    everything = merged + from_titles
    mining.group_attributes(everything, encode)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    links = []
    for attribute in everything:
        groups[attribute.group or "General"].append(
            {
                "name": attribute.name,
                "synonyms": list(attribute.synonyms),
                "data_type": attribute.data_type,
                "unit": attribute.unit,
                "values": [value for value, _ in attribute.values.most_common(12)],
                "products": int(attribute.products),
            }
        )
        for cluster, coverage in sorted(attribute.categories.items()):
            links.append({"attribute": attribute.name, "node_key": node_key(depth - 1, cluster), "coverage": coverage})
    tree = {"groups": [{"name": name, "attributes": members} for name, members in sorted(groups.items())]}
    return tree, links


@dataclass
class BuiltProposal:
    nodes: list[dict[str, Any]]
    attributes: dict[str, Any]
    attribute_links: list[dict[str, Any]]
    centroids: list[np.ndarray]
    parents: list[np.ndarray]
    stats: dict[str, Any]


def build_proposal(
    products: ScopeProducts, *, depth: int, method: str, progress: ProgressCallback = no_progress
) -> BuiltProposal:
    """Embed, cluster, label and mine: everything of a proposal except the diff against the live tree."""
    if not products.ids:
        raise EmptyScopeError("The scope has no active products to build a taxonomy from.")
    progress(0.02, f"embedding {len(products.ids)} product titles")
    product_matrix = product_vectors(products.titles, encode)
    config = BuildConfig(
        method=method,
        tree=tree_config(len(products.ids), depth),
        autoencoder=AutoencoderConfig(device=settings.TORCH_DEVICE),  # used by method "autoencoder"
    )
    built = build_hierarchy(
        products.titles,
        product_matrix,
        brands=products.brands,
        config=config,
        progress=scaled_progress(progress, 0.15, 0.8),
    )
    progress(0.8, "mining attributes")
    attributes, links = mine_attribute_tree(products, built.levels.labels[-1], depth)
    stats = {
        "products": len(products.ids),
        "clusters_per_level": [int(count) for count in built.levels.chosen_counts],
        "method": built.method,
    }
    return BuiltProposal(
        nodes=proposal_nodes(built, products),
        attributes=attributes,
        attribute_links=links,
        centroids=built.centroids,
        parents=list(built.levels.parents),
        stats=stats,
    )
