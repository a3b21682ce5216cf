"""Reads of personalised recommendations: who is asking, their latest history, the model's ranked items.

The model reads the visitor's latest events at request time, so a new event changes the next
recommendation at once (no retrain). A visitor only ever reaches their own ids: the browser's visitor
id (its cookie, catalog/visitors.py), and for a signed-in user every visitor id linked to the account;
staff with the permission may name any visitor.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
from django.conf import settings
from django.http import HttpRequest

from catalog.models import Interaction, Product
from catalog.selectors import personalisation_enabled, visitor_ids_of_user
from catalog.visitors import current_visitor_id
from recommend.core.payloads import product_payload
from recommend.core.selectors import SEQUENCE_EVENTS, VisitorEvent
from recommend.sequential import reasons
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


def _model_ranking(artifact: Any, events: list[VisitorEvent], exclude: set[int], want: int):  # type: ignore[no-untyped-def]
    """(ranked product ids, their scores, kept events, per-candidate history weights) or None when cold."""
    from recommend.ml.sequential.explain import history_weights, scores_and_attention

    known = [event for event in events if event.product_id in artifact.vocabulary.index_of]
    if not known:
        return None
    kept = known[-artifact.recommender.model_config.max_length :]
    history = artifact.vocabulary.encode(event.product_id for event in kept)
    scores, attention = scores_and_attention(artifact.recommender, history)
    scores[0] = -np.inf
    blocked = [artifact.vocabulary.index_of[pk] for pk in exclude if pk in artifact.vocabulary.index_of]
    scores[blocked] = -np.inf
    top = np.argpartition(-scores, min(want, len(scores) - 1))[:want]
    top = top[np.argsort(-scores[top])]
    top = [int(index) for index in top if np.isfinite(scores[index])]
    weights = history_weights(
        artifact.recommender, history, top, settings.RECOMMEND_EXPLAIN_METHOD, attention=attention
    )
    return artifact.vocabulary.decode(top), scores[top], kept, weights


def recommendations_for(*, visitor_ids: Sequence[str], limit: int = 10) -> dict[str, Any]:
    """{"model_version", "fallback", "results": [product payload + "reasons"]} for these visitor ids.

    With personalisation switched off their history is not read: the popular products, as for a newcomer.
    """
    version_id, artifact = active_artifact()
    if visitor_ids and not personalisation_enabled(visitor_ids=list(visitor_ids)):
        return {"model_version": version_id, "fallback": "personalisation_off", "results": _cold([], set(), limit)}
    events = latest_history(visitor_ids=visitor_ids, limit=settings.RECOMMEND_HISTORY_LENGTH)
    bought = purchased(visitor_ids=visitor_ids)
    exclude = hidden_product_ids(visitor_ids=visitor_ids)
    if settings.RECOMMEND_EXCLUDE_PURCHASED:
        exclude |= {product_id for product_id, _ in bought}
    if settings.RECOMMEND_EXCLUDE_SEEN:
        exclude |= {event.product_id for event in events}
    ranking = _model_ranking(artifact, events, exclude, 3 * limit + 20) if artifact is not None else None
    if ranking is None:
        return {
            "model_version": version_id,
            "fallback": "popular_in_category",
            "results": _cold(events, exclude, limit),
        }
    product_ids, scores, kept, weights = ranking
    products = _live_products(list(product_ids) + [event.product_id for event in kept])
    titles = {pk: product.title for pk, product in products.items()}
    brands = reasons.frequent_brands([brand for _, brand in bought])
    trending = reasons.trending_product_ids()
    results = []
    for row, product_id in enumerate(product_ids):
        product = products.get(product_id)
        if product is None:
            continue
        item_reasons = [reasons.history_reason(kept, weights[row], titles)]
        if product.brand_id in brands:
            item_reasons.append(reasons.brand_reason(product.brand.name))
        if product_id in trending and product.category_id:
            item_reasons.append(reasons.trending_reason(product.category.name))
        results.append({**product_payload(product, float(scores[row]), "model"), "reasons": item_reasons})
        if len(results) == limit:
            break
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
    """'Customers who viewed this also viewed': the model's next items after this one product."""
    _, artifact = active_artifact()
    if artifact is None or product.pk not in artifact.vocabulary.index_of:
        return []
    event = VisitorEvent(product.pk, Interaction.Event.VIEW, None)  # type: ignore[arg-type]
    ranking = _model_ranking(artifact, [event], {product.pk}, 2 * limit + 10)
    if ranking is None:
        return []
    product_ids, scores, _, _ = ranking
    products = _live_products(product_ids)
    payloads = [
        product_payload(products[pk], float(score), "model")
        for pk, score in zip(product_ids, scores, strict=True)
        if pk in products
    ]
    return payloads[:limit]


def explanation_for(*, visitor_ids: Sequence[str], product: Product) -> dict[str, Any]:
    """The visitor's own history with the weight of each event for recommending `product` (the "Why?" view)."""
    from recommend.ml.sequential.explain import history_weights

    _, artifact = active_artifact()
    if visitor_ids and not personalisation_enabled(visitor_ids=list(visitor_ids)):
        # Personalisation off: nothing was recommended from their history, so there is none to explain.
        return {"product_id": product.pk, "history": [], "explained": False, "personalisation": False}
    events = latest_history(visitor_ids=visitor_ids, limit=settings.RECOMMEND_HISTORY_LENGTH)
    if artifact is None or product.pk not in artifact.vocabulary.index_of:
        return {"product_id": product.pk, "history": [], "explained": False}
    known = [e for e in events if e.product_id in artifact.vocabulary.index_of][
        -artifact.recommender.model_config.max_length :
    ]
    if not known:
        return {"product_id": product.pk, "history": [], "explained": False}
    history = artifact.vocabulary.encode(event.product_id for event in known)
    target = artifact.vocabulary.index_of[product.pk]
    weights = history_weights(artifact.recommender, history, [target], settings.RECOMMEND_EXPLAIN_METHOD)[0]
    titles = dict(Product.objects.filter(pk__in=[e.product_id for e in known]).values_list("pk", "title"))
    top = float(weights.max()) if len(weights) else 1.0
    history_rows = [
        {
            "product_id": event.product_id,
            "title": titles.get(event.product_id, ""),
            "event": event.event,
            "verb": reasons.VERBS.get(event.event, "viewed"),
            "timestamp": event.timestamp.isoformat() if event.timestamp else None,
            "weight": round(float(weight), 3),
            "intensity": round(float(weight) / top, 3) if top > 0 else 0.0,
        }
        for event, weight in zip(known, weights, strict=True)
    ]
    return {"product_id": product.pk, "history": history_rows, "explained": True}
