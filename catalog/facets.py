"""Storefront facets: brand, price band and attribute values, read from GET parameters and counted.

Plain links (`?brand=3&price=500-1000&a=12:Black`) so filtering works without JavaScript. Counts
are disjunctive: each facet is counted over the products that match every *other* facet, so
ticking one brand still shows how many products the other brands have. One query per facet
(brands, price bands, all attribute values together): no N+1 whatever the number of options.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import QueryDict

from catalog.models import Brand, Product, ProductAttributeValue
from catalog.selectors import db_id
from taxonomy.models import AttributeNode

# (key, label, low, high): half-open bands [low, high); None means unbounded.
PRICE_BANDS: tuple[tuple[str, str, Decimal | None, Decimal | None], ...] = (
    ("0-500", "Under 500", None, Decimal(500)),
    ("500-1000", "500 – 1,000", Decimal(500), Decimal(1000)),
    ("1000-2000", "1,000 – 2,000", Decimal(1000), Decimal(2000)),
    ("2000-5000", "2,000 – 5,000", Decimal(2000), Decimal(5000)),
    ("5000-", "5,000 and more", Decimal(5000), None),
)
BAND_BY_KEY = {band[0]: band for band in PRICE_BANDS}
MAX_ATTRIBUTES = 6
MAX_VALUES = 10
MAX_BRANDS = 12
FACET_PARAMS = ("brand", "price", "a", "page")


@dataclass(frozen=True)
class FacetSelection:
    brands: frozenset[int] = frozenset()
    prices: frozenset[str] = frozenset()
    # attribute id -> the values ticked for it (OR within an attribute, AND across attributes).
    values: dict[int, frozenset[str]] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (self.brands or self.prices or self.values)


def facet_selection(params: QueryDict) -> FacetSelection:
    """What the shopper ticked; unknown or malformed parameters are ignored (a stale link still works)."""
    brands = frozenset(pk for pk in (db_id(v) for v in params.getlist("brand")[:20]) if pk is not None)
    prices = frozenset(v for v in params.getlist("price")[:5] if v in BAND_BY_KEY)
    values: dict[int, set[str]] = {}
    for raw in params.getlist("a")[:30]:
        attribute, _, value = raw.partition(":")
        attribute_id = db_id(attribute)
        # A NUL byte cannot reach PostgreSQL (the driver refuses it): such a value names nothing, so it is ignored.
        if attribute_id is not None and value.strip() and "\x00" not in value:
            values.setdefault(attribute_id, set()).add(value.strip()[:200])
    return FacetSelection(brands, prices, {k: frozenset(v) for k, v in values.items()})


def _price_q(keys: frozenset[str]) -> Q:
    condition = Q()
    for key in sorted(keys):
        _, _, low, high = BAND_BY_KEY[key]
        band = Q(price__isnull=False)
        if low is not None:
            band &= Q(price__gte=low)
        if high is not None:
            band &= Q(price__lt=high)
        condition |= band
    return condition


def facet_filter(queryset: QuerySet[Product], selection: FacetSelection, *, skip: str = "") -> QuerySet[Product]:
    """Products matching the selection; `skip` leaves one facet out (for its own counts)."""
    if selection.brands and skip != "brand":
        queryset = queryset.filter(brand_id__in=selection.brands)
    if selection.prices and skip != "price":
        queryset = queryset.filter(_price_q(selection.prices))
    if skip != "a":
        for attribute_id, values in sorted(selection.values.items()):
            chosen = ProductAttributeValue.objects.filter(attribute_id=attribute_id, value__in=values)
            queryset = queryset.filter(pk__in=chosen.values("product_id"))
    return queryset


def _toggle(params: QueryDict, name: str, value: str) -> str:
    """The query string with `name=value` switched on or off (and back to page 1)."""
    copy = params.copy()
    copy.pop("page", None)
    current = copy.getlist(name)
    copy.setlist(name, [v for v in current if v != value] if value in current else [*current, value])
    return copy.urlencode()


def _brand_facet(base: QuerySet[Product], selection: FacetSelection, params: QueryDict) -> list[dict[str, Any]]:
    rows = (
        facet_filter(base, selection, skip="brand")
        .filter(brand__isnull=False)
        .values("brand_id", "brand__name")
        .annotate(n=Count("id"))
        .order_by("-n", "brand__name")[:MAX_BRANDS]
    )
    counted = {row["brand_id"]: (row["brand__name"], row["n"]) for row in rows}
    missing = selection.brands - counted.keys()  # ticked, but none left (or beyond the top brands)
    if missing:
        counted.update({pk: (name, 0) for pk, name in Brand.objects.filter(pk__in=missing).values_list("pk", "name")})
    options = [
        {
            "label": name,
            "count": n,
            "selected": pk in selection.brands,
            "query": _toggle(params, "brand", str(pk)),
        }
        for pk, (name, n) in counted.items()
    ]
    return options if len(options) > 1 or selection.brands else []


def _price_facet(base: QuerySet[Product], selection: FacetSelection, params: QueryDict) -> list[dict[str, Any]]:
    counts = facet_filter(base, selection, skip="price").aggregate(
        **{key: Count("id", filter=_price_q(frozenset([key]))) for key in BAND_BY_KEY}
    )
    options = [
        {
            "label": label,
            "count": counts[key],
            "selected": key in selection.prices,
            "query": _toggle(params, "price", key),
        }
        for key, label, _, _ in PRICE_BANDS
        if counts[key] or key in selection.prices
    ]
    return options if len(options) > 1 or selection.prices else []


def _attribute_facets(base: QuerySet[Product], selection: FacetSelection, params: QueryDict) -> list[dict[str, Any]]:
    """The attribute values the matching products carry: what is relevant to this category or query."""
    rows = (
        ProductAttributeValue.objects.filter(product__in=facet_filter(base, selection, skip="a").values("pk"))
        .values("attribute_id", "attribute__name", "value")
        .annotate(n=Count("product_id", distinct=True))
        .order_by("attribute__name", "-n", "value")
    )
    facets: dict[int, dict[str, Any]] = {}
    for row in rows:
        attribute_id = row["attribute_id"]
        facet = facets.setdefault(attribute_id, {"name": row["attribute__name"], "options": [], "total": 0})
        facet["total"] += row["n"]
        if len(facet["options"]) < MAX_VALUES:
            token = f"{attribute_id}:{row['value']}"
            facet["options"].append(
                {
                    "label": row["value"],
                    "count": row["n"],
                    "selected": row["value"] in selection.values.get(attribute_id, ()),
                    "query": _toggle(params, "a", token),
                }
            )
    _add_missing_selected(facets, selection, params)
    useful = [f for f in facets.values() if len(f["options"]) > 1 or any(o["selected"] for o in f["options"])]
    return sorted(useful, key=lambda f: -f["total"])[:MAX_ATTRIBUTES]


def _add_missing_selected(facets: dict[int, dict[str, Any]], selection: FacetSelection, params: QueryDict) -> None:
    """Ticked values no product has any more still show (count 0), so they can be unticked."""
    missing = {
        (pk, value)
        for pk, values in selection.values.items()
        for value in values
        if not any(o["label"] == value for o in facets.get(pk, {}).get("options", []))
    }
    if not missing:
        return
    names = dict(AttributeNode.objects.filter(pk__in={pk for pk, _ in missing}).values_list("pk", "name"))
    for pk, value in sorted(missing):
        if pk in names:
            facet = facets.setdefault(pk, {"name": names[pk], "options": [], "total": 0})
            option = {"label": value, "count": 0, "selected": True, "query": _toggle(params, "a", f"{pk}:{value}")}
            facet["options"].append(option)


def facets_for(base: QuerySet[Product], selection: FacetSelection, params: QueryDict) -> dict[str, Any]:
    """Every facet of a product set with counts and toggle links, and the chips of what is selected."""
    brands = _brand_facet(base, selection, params)
    prices = _price_facet(base, selection, params)
    attributes = _attribute_facets(base, selection, params)
    groups = [{"name": "Brand", "options": brands}, {"name": "Price", "options": prices}]
    groups += [{"name": f["name"], "options": f["options"]} for f in attributes]
    groups = [g for g in groups if g["options"]]
    selected = [
        {"group": group["name"], "label": option["label"], "query": option["query"]}
        for group in groups
        for option in group["options"]
        if option["selected"]
    ]
    clear = params.copy()
    for name in FACET_PARAMS:
        clear.pop(name, None)
    return {"groups": groups, "selected": selected, "clear_query": clear.urlencode()}
