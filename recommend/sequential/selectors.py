"""Reads of personalised recommendations: who is asking, their latest history, the model's ranked items.

The model reads the visitor's latest events at request time, so a new event changes the next
recommendation at once (no retrain). A visitor only ever reaches their own ids: the browser's visitor
id (its cookie, catalog/visitors.py), and for a signed-in user every visitor id linked to the account;
staff with the permission may name any visitor.
"""

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from catalog.models import Interaction, Product
from catalog.selectors import personalisation_enabled, visitor_ids_of_user
from catalog.visitors import current_visitor_id
from recommend.core.payloads import product_payload
from recommend.core.selectors import SEQUENCE_EVENTS, VisitorEvent
from recommend.sequential import explanations, ranking, reasons
from recommend.sequential.artifact import active_artifact
from recommend.sequential.models import RecommendationFeedback


def visitor_ids_for_request(request: HttpRequest, *, create: bool = False) -> list[str]:
    """The ids whose events are this visitor's own: the browser's visitor id (made when `create`, for a choice
    that must stick), and every id linked to a signed-in user."""
    current = current_visitor_id(request, create=create)
    ids = [current] if current else []
    if request.user.is_authenticated:
        ids += [visitor for visitor in visitor_ids_of_user(request.user) if visitor not in ids]
    return ids


def latest_history(*, visitor_ids: Sequence[str], limit: int) -> list[VisitorEvent]:
    """The newest `limit` events of these ids together, oldest first."""
    if not visitor_ids:
        return []
    rows = (
        Interaction.objects.filter(visitor_id__in=list(visitor_ids), event__in=SEQUENCE_EVENTS, product__isnull=False)
        .order_by("-timestamp", "-pk")
        .values_list("product_id", "event", "timestamp")[:limit]
    )
    return [VisitorEvent(product_id, event, timestamp) for product_id, event, timestamp in reversed(list(rows))]


def hidden_product_ids(*, visitor_ids: Sequence[str]) -> set[int]:
    """'Not interested' products and their near-duplicates (same title and brand, or near-identical content)."""
    from recommend.similarity.selectors import similar_products

    disliked = list(RecommendationFeedback.objects.filter(visitor_id__in=list(visitor_ids)).select_related("product"))
    hidden = {feedback.product_id for feedback in disliked}
    for feedback in disliked:
        product = feedback.product
        copies = Product.objects.filter(title__iexact=product.title, brand_id=product.brand_id)
        hidden.update(copies.values_list("pk", flat=True))
        neighbours = similar_products(product=product, strategy="content", limit=10)["results"]
        hidden.update(n["id"] for n in neighbours if n["score"] >= settings.RECOMMEND_NEAR_DUPLICATE_SCORE)
    return hidden


def purchased(*, visitor_ids: Sequence[str]) -> list[tuple[int, int | None]]:
    """(product id, brand id) of every purchase of these ids."""
    return list(
        Interaction.objects.filter(visitor_id__in=list(visitor_ids), event=Interaction.Event.PURCHASE)
        .exclude(product__isnull=True)
        .values_list("product_id", "product__brand_id")
    )


def _live_products(product_ids: Sequence[int]) -> dict[int, Product]:
    """Active, unmerged products among `product_ids` (inactive ones are never shown)."""
    rows = Product.objects.filter(pk__in=list(product_ids), is_active=True, merged_into__isnull=True)
    return {product.pk: product for product in rows.select_related("brand", "category")}


POOL_SIZE = 100  # model candidates per request (fixed, so the list and the "Why?" page rank the same pool)


def content_neighbours(product_ids: list[int]) -> dict[int, list[tuple[int, float]]]:
    """Each product's content neighbours (id, cosine) from the similar-items version: how products without
    behaviour become recommendable from the visitor's recent items."""
    from recommend.similarity.selectors import similar_products

    out = {}
    for product in Product.objects.filter(pk__in=product_ids):
        results = similar_products(product=product, strategy="content", limit=ranking.CONTENT_NEIGHBOURS)["results"]
        out[product.pk] = [(int(item["id"]), float(item["score"])) for item in results]
    return out


def request_state(visitor_ids: Sequence[str]) -> tuple[list[VisitorEvent], list[tuple[int, int | None]], set[int]]:
    """(latest events, purchases, products not to recommend) of these visitor ids."""
    events = latest_history(visitor_ids=visitor_ids, limit=settings.RECOMMEND_HISTORY_LENGTH)
    bought = purchased(visitor_ids=visitor_ids)
    exclude = hidden_product_ids(visitor_ids=visitor_ids)
    if settings.RECOMMEND_EXCLUDE_PURCHASED:
        exclude |= {product_id for product_id, _ in bought}
    if settings.RECOMMEND_EXCLUDE_SEEN:
        exclude |= {event.product_id for event in events}
    return events, bought, exclude


def intent_ranker(
    *, events: Sequence[VisitorEvent], exclude: set[int], artifact: Any, extra: Sequence[int] = ()
) -> ranking.IntentRanker:
    """The ranking of one history: model, recent items' content neighbours, popular in the visitor's departments."""
    return ranking.IntentRanker(
        events=events, exclude=exclude, artifact=artifact, neighbours_of=content_neighbours, want=POOL_SIZE, extra=extra
    )


def _extra_reasons(product: Product, brands: set[int], trending: set[int]) -> list[dict[str, Any]]:
    out = []
    if product.brand_id in brands:
        out.append(reasons.brand_reason(product.brand.name))
    if product.pk in trending and product.category_id:
        out.append(reasons.trending_reason(product.category.name))
    return out


def recommendations_for(*, visitor_ids: Sequence[str], limit: int = 10) -> dict[str, Any]:
    """{"model_version", "fallback", "results": [product payload + "reasons"]} for these visitor ids.

    The visitor's current intent leads (ranking.py); each reason is checked by occlusion (explanations.py).
    With personalisation switched off their history is not read: the popular products, as for a newcomer.
    """
    version_id, artifact = active_artifact()
    if visitor_ids and not personalisation_enabled(visitor_ids=list(visitor_ids)):
        return {"model_version": version_id, "fallback": "personalisation_off", "results": _cold([], set(), limit)}
    events, bought, exclude = request_state(visitor_ids)
    ranker = intent_ranker(events=events, exclude=exclude, artifact=artifact) if events else None
    if ranker is None or not ranker.order:
        results = _cold(events, exclude, limit)
        return {"model_version": version_id, "fallback": "popular_in_category", "results": results}
    products = _live_products([item.product_id for item in ranker.order[: 3 * limit + 20]])
    shown = [item for item in ranker.order if item.product_id in products][:limit]
    checked = explanations.item_reasons(ranker, [item.product_id for item in shown])
    brands = reasons.frequent_brands([brand for _, brand in bought])
    trending = reasons.trending_product_ids()
    results = []
    for item in shown:
        product = products[item.product_id]
        item_reasons = checked[item.product_id] + _extra_reasons(product, brands, trending)
        results.append({**product_payload(product, float(item.score), item.source), "reasons": item_reasons})
    return {"model_version": version_id, "fallback": None, "results": results}


def _cold(events: list[VisitorEvent], exclude: set[int], limit: int) -> list[dict[str, Any]]:
    categories = list(
        Product.objects.filter(pk__in=[event.product_id for event in events[-5:]], category__isnull=False)
        .values_list("category_id", flat=True)
        .distinct()
    )
    candidates = reasons.cold_candidates(preferred_categories=categories, exclude=exclude, limit=2 * limit)
    products = _live_products([pk for pk, _ in candidates])
    results = [
        {**product_payload(products[pk], 0.0, "popular"), "reasons": [{"kind": "popular_in_category", "text": text}]}
        for pk, text in candidates
        if pk in products
    ]
    return results[:limit]


def also_viewed(*, product: Product, limit: int = 8) -> list[dict[str, Any]]:
    """'Customers who viewed this also viewed': the model's next items after this one product, its department
    first (another department shows only on a large score margin)."""
    _, artifact = active_artifact()
    if artifact is None or product.pk not in artifact.vocabulary.index_of:
        return []
    event = VisitorEvent(product.pk, Interaction.Event.VIEW, None)  # type: ignore[arg-type]
    ranker = ranking.IntentRanker(
        events=[event], exclude={product.pk}, artifact=artifact, neighbours_of=None, want=2 * limit + 10, popular=False
    )
    ordered = [item for item in ranker.order if item.source == "model"]
    products = _live_products([item.product_id for item in ordered])
    payloads = [
        product_payload(products[item.product_id], float(item.score), "model")
        for item in ordered
        if item.product_id in products
    ]
    return payloads[:limit]


def explanation_for(*, visitor_ids: Sequence[str], product: Product) -> dict[str, Any]:
    """The visitor's recent history with each event's occlusion weight for `product` (the "Why?" view), and the
    product's reasons, built as the recommendation list builds them so the two agree."""
    _, artifact = active_artifact()
    if visitor_ids and not personalisation_enabled(visitor_ids=list(visitor_ids)):
        # Personalisation off: nothing was recommended from their history, so there is none to explain.
        return {"product_id": product.pk, "history": [], "explained": False, "personalisation": False, "reasons": []}
    events, bought, exclude = request_state(visitor_ids)
    if not events:
        return {"product_id": product.pk, "history": [], "explained": False, "reasons": []}
    ranker = intent_ranker(events=events, exclude=exclude, artifact=artifact, extra=[product.pk])
    if product.pk not in ranker.scores:
        return {"product_id": product.pk, "history": [], "explained": False, "reasons": []}
    item_reasons = explanations.item_reasons(ranker, [product.pk])[product.pk]
    cited = {entry["product_id"] for reason in item_reasons for entry in reason.get("items", [])}
    brands = reasons.frequent_brands([brand for _, brand in bought])
    item_reasons += _extra_reasons(product, brands, reasons.trending_product_ids())
    return {
        "product_id": product.pk,
        "history": explanations.history_rows(ranker, product.pk, cited),
        "explained": True,
        "reasons": item_reasons,
    }
