"""Reads of bought together: what completes a product or a basket, with its signal and shopper-facing evidence.

Order of authority: staff overrides (a block removes a pair, a pin puts it first), then the active model's
blend, kept only where there is co-purchase evidence (the pair was bought together often enough) or the
candidate's category is a learnt complement of a given product's category (complements.py); then the best
sellers of those complement categories. Same-type substitutes are never shown, and there is no content
fallback: with no evidence the block is empty and says why (similar items have their own block).
"""

from dataclasses import dataclass

from django.db.models import Q

from catalog.models import Product
from recommend.bought_together import complements
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
    signal: str  # "pinned", "rules" or "category"
    evidence: str


@dataclass(frozen=True)
class _Candidate:
    product_id: int
    score: float
    signal: str
    source_id: int | None = None  # the given product the evidence is about
    confidence: float = 0.0
    baskets: int = 0
    direct: bool = False  # bought together with a given product in enough orders
    category: tuple[int, int] | None = None  # (given product's category, this one's): a learnt complement pair


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


NO_MODEL = "No orders have been analysed yet, so nothing is known to be bought together."
NO_EVIDENCE = "Not enough orders with this product yet to say what goes with it."


@dataclass(frozen=True)
class Completion:
    model_version: int | None
    suggestions: list[Suggestion]
    reason: str | None  # why the list is empty (None when it is not)


def _given_categories(loaded: LoadedModel, given: list[int]) -> dict[int, int]:
    """Given product id -> its category id (live; the version's where the product has none now)."""
    live = dict(Product.objects.filter(pk__in=given, category__isnull=False).values_list("pk", "category_id"))
    for pk in given:
        if pk not in live and pk in loaded.index and loaded.category_ids[loaded.index[pk]] >= 0:
            live[pk] = int(loaded.category_ids[loaded.index[pk]])
    return live


def _model_candidates(loaded: LoadedModel, given: list[int], want: int) -> list[_Candidate]:
    """The blend's items with direct co-purchase evidence, or in a complement category of a given product's."""
    known = loaded.indexes_of(given)
    patterns = complements.category_patterns(loaded)
    categories = _given_categories(loaded, given)
    allowed = {b: a for a in categories.values() for b, _, _ in patterns.complements.get(a, [])}
    out = []
    if known:
        for item in loaded.scorer.explain(known, limit=want * 4 + 20, min_count=loaded.evidence_min_count):
            source = int(loaded.product_ids[item.source_item]) if item.source_item >= 0 else None
            product_id = int(loaded.product_ids[item.item])
            if item.pair_count >= loaded.evidence_min_count:
                out.append(
                    _Candidate(product_id, item.score, "rules", source, item.confidence, item.pair_count, direct=True)
                )
            elif int(loaded.category_ids[item.item]) in allowed:
                category = int(loaded.category_ids[item.item])
                out.append(_Candidate(product_id, item.score, "category", None, category=(allowed[category], category)))
    for a in dict.fromkeys(categories.values()):
        for b, lift, _ in patterns.complements.get(a, []):
            for item in patterns.best_sellers.get(b, [])[:want]:
                out.append(_Candidate(int(loaded.product_ids[item]), lift * 1e-3, "category", category=(a, b)))
    return out


def _evidence(candidate: _Candidate, titles: dict[int, str], single: bool, names: dict[int, str]) -> str:
    """The reason in a shopper's words."""
    if candidate.signal == "pinned":
        return "Recommended by our team"
    if candidate.signal == "rules":
        percent = max(1, round(candidate.confidence * 100))
        subject = "this item" if single or candidate.source_id is None else titles.get(candidate.source_id, "an item")
        return f"Bought together in {percent} % of orders with {subject}"
    given, suggested = candidate.category or (None, None)
    if given in names and suggested in names:
        return f"Shoppers who buy {names[given]} often add {names[suggested]}"
    return "Often bought with items like " + ("this one" if single else "the ones in your basket")


def complete(*, product_ids: list[int], limit: int) -> Completion:
    """Up to `limit` complements for a product or a basket of products, with the active version, or why none."""
    given = list(dict.fromkeys(product_ids))
    limit = max(1, min(limit, MAX_LIMIT))
    pinned, blocked = _overrides(given)
    active = models_cache.active()
    loaded = active[1] if active else None
    version = active[0] if active else None
    excluded = set(given) | blocked
    candidates = [_Candidate(pk, 1.0, "pinned") for pk in pinned if pk not in excluded]
    excluded |= {candidate.product_id for candidate in candidates}
    found: dict[int, _Candidate] = {}
    for candidate in _model_candidates(loaded, given, limit) if loaded is not None else []:
        if candidate.product_id not in excluded:
            found.setdefault(candidate.product_id, candidate)  # the first (strongest) evidence of each product
    ordered = sorted(found.values(), key=lambda c: not c.direct)  # direct evidence first, then category patterns
    substitutes = complements.substitutes(
        given=given, candidates=list(found), direct={pk for pk, c in found.items() if c.direct}
    )
    candidates += [c for c in ordered if c.product_id not in substitutes][: limit * 2]
    suggestions = _suggestions(candidates, given, limit)
    reason = None if suggestions else (NO_MODEL if loaded is None else NO_EVIDENCE)
    return Completion(version, suggestions, reason)


def _suggestions(candidates: list[_Candidate], given: list[int], limit: int) -> list[Suggestion]:
    """Live products for the candidates, in order (one query; hidden or merged ones drop out)."""
    ids = [candidate.product_id for candidate in candidates]
    products = Product.objects.filter(pk__in=ids, is_active=True, merged_into__isnull=True).select_related(
        "brand", "category"
    )
    by_id = {product.pk: product for product in products}
    sources = {c.source_id for c in candidates if c.source_id is not None and c.signal == "rules"}
    titles = dict(Product.objects.filter(pk__in=sources).values_list("pk", "title")) if len(given) > 1 else {}
    names = complements.category_names({pk for c in candidates for pk in (c.category or ())})
    out = []
    for candidate in candidates:
        product = by_id.get(candidate.product_id)
        if product is None:
            continue
        evidence = _evidence(candidate, titles, len(given) == 1, names)
        out.append(Suggestion(product, round(candidate.score, 6), candidate.signal, evidence))
        if len(out) == limit:
            break
    return out


def bought_together_for_product(*, product: Product, limit: int = 4) -> Completion:
    return complete(product_ids=[product.pk], limit=limit)


def basket_completion(*, product_ids: list[int], limit: int = 4) -> Completion:
    return complete(product_ids=product_ids, limit=limit)


def cart_products(*, product_ids: list[int]) -> list[Product]:
    """The cart's products that are still for sale, in the order they were added."""
    by_id = Product.objects.filter(pk__in=product_ids, is_active=True).select_related("brand").in_bulk()
    return [by_id[pk] for pk in product_ids if pk in by_id]
