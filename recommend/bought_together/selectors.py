"""Reads of bought together: what completes a product or a basket, with its signal and shopper-facing evidence.

Order of authority: staff overrides (a block removes a pair, a pin puts it first), then the active
model's blend (rules where pairs were seen, graph where they were thin), then products from the same
category, most bought first, so a new product or a shop without orders still gets a block.
"""

from dataclasses import dataclass

import numpy as np
from django.db.models import Q

from catalog.models import Product
from recommend.bought_together.artifact import LoadedModel, artifact_read
from recommend.bought_together.models import PairOverride
from recommend.core.model_cache import ModelCache
from recommend.core.registry import artifact_local_path
from recommend.models import ModelVersion

models_cache: ModelCache[LoadedModel] = ModelCache(
    ModelVersion.Kind.BOUGHT_TOGETHER, load=lambda version: artifact_read(artifact_local_path(version=version))
)
MAX_LIMIT = 50


@dataclass(frozen=True)
class Suggestion:
    product: Product
    score: float
    signal: str  # "pinned", "rules", "graph" or "content"
    evidence: str


@dataclass(frozen=True)
class _Candidate:
    product_id: int
    score: float
    signal: str
    source_id: int | None = None  # the given product the evidence is about
    confidence: float = 0.0
    baskets: int = 0


def _overrides(given: list[int]) -> tuple[list[int], set[int]]:
    """(pinned product ids in the order staff made them, blocked ids) for these given products."""
    rows = PairOverride.objects.filter(Q(product_id__in=given) | Q(both_ways=True, other_id__in=given)).order_by(
        "created_at", "pk"
    )
    pinned, blocked = [], set()
    for product_id, other_id, action in rows.values_list("product_id", "other_id", "action"):
        target = other_id if product_id in given else product_id
        (blocked.add(target) if action == PairOverride.Action.BLOCK else pinned.append(target))
    return [pk for pk in dict.fromkeys(pinned) if pk not in blocked], blocked


def _model_candidates(loaded: LoadedModel, given: list[int], want: int) -> list[_Candidate]:
    known = loaded.indexes_of(given)
    if not known:
        return []
    scorer = loaded.scorer
    has_orders = scorer.rules.item_counts[known].sum() > 0
    explanations = scorer.explain(known, limit=want * 4 + 20, min_count=loaded.evidence_min_count)
    roots = {int(root) for root in loaded.root_ids[known] if root >= 0}
    if not has_orders and not roots:
        return []  # nobody bought it and it has no category: nothing to say but the content fallback
    out = []
    for item in explanations:
        if not has_orders and int(loaded.root_ids[item.item]) not in roots:
            continue  # a product nobody bought yet: only graph neighbours from its own part of the catalog
        source = int(loaded.product_ids[item.source_item]) if item.source_item >= 0 else None
        out.append(
            _Candidate(
                int(loaded.product_ids[item.item]),
                item.score,
                item.signal,
                source,
                item.confidence,
                item.pair_count,
            )
        )
    return out


def _content_candidates(given: list[int], exclude: set[int], want: int, loaded: LoadedModel | None) -> list[_Candidate]:
    """Products of the given products' categories, most bought first (by the model's counts when there is one)."""
    categories = set(Product.objects.filter(pk__in=given, category__isnull=False).values_list("category_id", flat=True))
    if not categories:
        return []
    rows = list(
        Product.objects.filter(category_id__in=categories, is_active=True, merged_into__isnull=True)
        .exclude(pk__in=exclude)
        .order_by("pk")
        .values_list("pk", flat=True)[: max(want * 20, 200)]
    )
    counts = np.zeros(len(rows))
    if loaded is not None:
        counts = np.array(
            [loaded.scorer.rules.item_counts[loaded.index[pk]] if pk in loaded.index else 0 for pk in rows]
        )
    order = np.argsort(-counts, kind="stable")[:want]
    return [_Candidate(rows[position], 0.0, "content") for position in order]


def _evidence(candidate: _Candidate, titles: dict[int, str], single: bool, category: str) -> str:
    """The reason in a shopper's words."""
    if candidate.signal == "pinned":
        return "Recommended by our team"
    if candidate.signal == "rules":
        percent = max(1, round(candidate.confidence * 100))
        subject = "this item" if single or candidate.source_id is None else titles.get(candidate.source_id, "an item")
        return f"Bought together in {percent} % of orders with {subject}"
    if candidate.signal == "graph":
        return "Often bought with items like " + ("this one" if single else "the ones in your basket")
    return f"Popular in {category}" if category else "From the same category"


def complete(*, product_ids: list[int], limit: int) -> tuple[int | None, list[Suggestion]]:
    """(active model version id or None, up to `limit` suggestions) for a product or a basket of products."""
    given = list(dict.fromkeys(product_ids))
    limit = max(1, min(limit, MAX_LIMIT))
    pinned, blocked = _overrides(given)
    active = models_cache.active()
    loaded = active[1] if active else None
    excluded = set(given) | blocked
    candidates = [_Candidate(pk, 1.0, "pinned") for pk in pinned if pk not in excluded]
    excluded |= {candidate.product_id for candidate in candidates}
    if loaded is not None:
        for candidate in _model_candidates(loaded, given, limit):
            if candidate.product_id not in excluded and len(candidates) < limit * 2:
                candidates.append(candidate)
                excluded.add(candidate.product_id)
    if len(candidates) < limit * 2:
        candidates += _content_candidates(given, excluded, limit * 2 - len(candidates), loaded)
    return (active[0] if active else None), _suggestions(candidates, given, limit)


def _suggestions(candidates: list[_Candidate], given: list[int], limit: int) -> list[Suggestion]:
    """Live products for the candidates, in order (one query; hidden or merged ones drop out)."""
    ids = [candidate.product_id for candidate in candidates]
    products = Product.objects.filter(pk__in=ids, is_active=True, merged_into__isnull=True).select_related(
        "brand", "category"
    )
    by_id = {product.pk: product for product in products}
    sources = {c.source_id for c in candidates if c.source_id is not None and c.signal == "rules"}
    titles = dict(Product.objects.filter(pk__in=sources).values_list("pk", "title")) if len(given) > 1 else {}
    out = []
    for candidate in candidates:
        product = by_id.get(candidate.product_id)
        if product is None:
            continue
        category = product.category.name if product.category_id else ""
        evidence = _evidence(candidate, titles, len(given) == 1, category)
        out.append(Suggestion(product, round(candidate.score, 6), candidate.signal, evidence))
        if len(out) == limit:
            break
    return out


def bought_together_for_product(*, product: Product, limit: int = 4) -> tuple[int | None, list[Suggestion]]:
    return complete(product_ids=[product.pk], limit=limit)


def basket_completion(*, product_ids: list[int], limit: int = 4) -> tuple[int | None, list[Suggestion]]:
    return complete(product_ids=product_ids, limit=limit)


def cart_products(*, product_ids: list[int]) -> list[Product]:
    """The cart's products that are still for sale, in the order they were added."""
    by_id = Product.objects.filter(pk__in=product_ids, is_active=True).select_related("brand").in_bulk()
    return [by_id[pk] for pk in product_ids if pk in by_id]
