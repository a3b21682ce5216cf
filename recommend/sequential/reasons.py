"""Why an item is recommended, in words a shopper reads, each reason tagged with its kind.

Kinds: "history" (the 1-3 history items whose removal lowers this item's score or rank materially),
"similar" (a content neighbour of a history item that passes the same check), "intent" (the item's
department leads the visitor's recent session, no single history item made it), "model" (shoppers with
a similar history viewed it), "brand" (the shopper often buys this brand), "trending" (popular in its
category in the last 7 days) and "popular_in_category" (popular in the visitor's department, or for
cold visitors). The checked reasons are built in explanations.py.
"""

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone

from catalog.models import Interaction, Product

VERBS = {"view": "viewed", "click": "viewed", "add_to_cart": "added to your cart", "purchase": "bought"}
POPULAR_CACHE_SECONDS = 600


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def phrase(parts: list[tuple[str, str]]) -> str:
    """[(viewed, X), (viewed, Y), (bought, Z)] -> 'viewed X and Y and bought Z' (one verb per run)."""
    runs: list[tuple[str, list[str]]] = []
    for verb, title in parts:
        if runs and runs[-1][0] == verb:
            runs[-1][1].append(title)
        else:
            runs.append((verb, [title]))
    return " and ".join(f"{verb} {_and(titles)}" for verb, titles in runs)


def frequent_brands(purchased_brand_ids: Sequence[int | None]) -> set[int]:
    """Brands bought at least twice by this shopper."""
    counts = Counter(brand for brand in purchased_brand_ids if brand)
    return {brand for brand, count in counts.items() if count >= 2}


def brand_reason(brand_name: str) -> dict[str, Any]:
    return {"kind": "brand", "text": f"You often buy {brand_name}"}


def popular_by_category(*, days: int | None) -> dict[int | None, list[int]]:
    """Category id -> active product ids by interaction count (last `days`, or all time), cached."""
    key = f"recommend:popular-by-category:{days}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    rows = Interaction.objects.filter(product__is_active=True, product__merged_into__isnull=True)
    if days is not None:
        rows = rows.filter(timestamp__gte=timezone.now() - timedelta(days=days))
    counted = (
        rows.values("product_id", "product__category_id").annotate(n=Count("id")).order_by("-n", "product_id")[:20000]
    )
    popular: dict[int | None, list[int]] = {}
    for row in counted:
        popular.setdefault(row["product__category_id"], []).append(row["product_id"])
    cache.set(key, popular, POPULAR_CACHE_SECONDS)
    return popular


def trending_product_ids() -> set[int]:
    """The top products of each category over the last week ('Popular in <category> this week')."""
    return {pk for ids in popular_by_category(days=7).values() for pk in ids[: settings.RECOMMEND_TRENDING_TOP]}


def trending_reason(category_name: str) -> dict[str, Any]:
    return {"kind": "trending", "text": f"Popular in {category_name} this week"}


def cold_candidates(*, preferred_categories: Sequence[int], exclude: set[int], limit: int) -> list[tuple[int, str]]:
    """(product id, reason text) popular in the shopper's categories, else in the shop's top categories.

    This week's counts where the week has any, else all-time counts; categories take turns.
    """
    weekly = popular_by_category(days=7)
    popular, suffix = (weekly, " this week") if weekly else (popular_by_category(days=None), "")
    ranked_categories = sorted(popular, key=lambda category: -len(popular[category]))
    categories = [c for c in preferred_categories if c in popular] + [
        c for c in ranked_categories if c not in preferred_categories
    ]
    names = dict(Product._meta.get_field("category").related_model.objects.values_list("pk", "name"))
    queues = [(category, [pk for pk in popular[category] if pk not in exclude]) for category in categories]
    chosen: list[tuple[int, str]] = []
    depth = 0
    while len(chosen) < limit and any(depth < len(ids) for _, ids in queues):
        for category, ids in queues:
            if depth < len(ids) and len(chosen) < limit:
                label = (
                    f"Popular in {names[category]}{suffix}" if category in names else f"Popular with shoppers{suffix}"
                )
                chosen.append((ids[depth], label))
        depth += 1
    return chosen
