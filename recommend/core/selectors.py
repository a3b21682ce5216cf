"""Shared reads every capability needs: shopper sequences and baskets (products: see documents.py).

These read the catalog only; capabilities turn them into training data for `recommend.ml`.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from catalog.models import Interaction

SEQUENCE_EVENTS = (
    Interaction.Event.VIEW,
    Interaction.Event.CLICK,
    Interaction.Event.ADD_TO_CART,
    Interaction.Event.PURCHASE,
)


@dataclass(frozen=True)
class VisitorEvent:
    product_id: int
    event: str
    timestamp: datetime


def visitor_event_rows(*, visitor_ids: Iterable[str] | None = None, events: Iterable[str] = SEQUENCE_EVENTS):
    """(visitor_id, product_id, event, timestamp) in visitor then time order, streamed."""
    rows = Interaction.objects.filter(event__in=list(events), product__isnull=False)
    if visitor_ids is not None:
        rows = rows.filter(visitor_id__in=list(visitor_ids))
    return (
        rows.order_by("visitor_id", "timestamp", "pk")
        .values_list("visitor_id", "product_id", "event", "timestamp")
        .iterator(chunk_size=20000)
    )


def visitor_sequences(
    *, min_length: int = 2, events: Iterable[str] = SEQUENCE_EVENTS, collapse_repeats: bool = True
) -> dict[str, list[int]]:
    """Each shopper's product ids in time order (views, clicks, carts, purchases), repeats in a row collapsed."""
    sequences: dict[str, list[int]] = defaultdict(list)
    for visitor, product_id, _event, _timestamp in visitor_event_rows(events=events):
        sequence = sequences[visitor]
        if not collapse_repeats or not sequence or sequence[-1] != product_id:
            sequence.append(product_id)
    return {visitor: sequence for visitor, sequence in sequences.items() if len(sequence) >= min_length}


def visitor_history(*, visitor_id: str, limit: int = 50, events: Iterable[str] = SEQUENCE_EVENTS) -> list[VisitorEvent]:
    """One shopper's latest events, oldest first (what a recommender reads at request time)."""
    rows = (
        Interaction.objects.filter(visitor_id=visitor_id, event__in=list(events), product__isnull=False)
        .order_by("-timestamp", "-pk")
        .values_list("product_id", "event", "timestamp")[:limit]
    )
    return [VisitorEvent(product_id, event, timestamp) for product_id, event, timestamp in reversed(list(rows))]


@dataclass(frozen=True)
class Basket:
    order_id: str
    visitor_id: str
    timestamp: datetime
    product_ids: tuple[int, ...]


def order_baskets(*, min_size: int = 1) -> list[Basket]:
    """Purchases sharing an order id, one basket per order (distinct products, first-seen order), by time."""
    grouped: dict[str, list] = {}
    rows = (
        Interaction.objects.filter(event=Interaction.Event.PURCHASE, product__isnull=False)
        .exclude(order_id="")
        .order_by("timestamp", "pk")
        .values_list("order_id", "visitor_id", "timestamp", "product_id")
        .iterator(chunk_size=20000)
    )
    for order_id, visitor_id, timestamp, product_id in rows:
        entry = grouped.setdefault(order_id, [visitor_id, timestamp, []])
        if product_id not in entry[2]:
            entry[2].append(product_id)
    baskets = [Basket(order, v, t, tuple(items)) for order, (v, t, items) in grouped.items() if len(items) >= min_size]
    baskets.sort(key=lambda basket: (basket.timestamp, basket.order_id))
    return baskets
