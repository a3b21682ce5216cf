"""Reads of the catalog: product lists with filters, product detail, interaction histories."""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Prefetch, Q, QuerySet

from catalog.brand_rules import brand_is_suspect
from catalog.models import Brand, Interaction, Product, ProductAttributeValue, VisitorPreference
from taxonomy.models import Category

SKU_MAX_LENGTH = Product._meta.get_field("sku").max_length
MAX_DB_ID = 2**63 - 1  # BigAutoField (and SQLite INTEGER): a larger id can name no row and overflows the driver


def db_id(value: Any) -> int | None:
    """`value` as a row id when it is one: ASCII digits (not "²" or "٣") and in the database's range; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    else:
        return None
    return number if 0 < number <= MAX_DB_ID else None


def sku_reference(value: Any) -> str | None:
    """`value` as a SKU to look up when it can be one: text up to the column's length without a NUL byte (which
    the database driver refuses); else None."""
    if not isinstance(value, str) or not value or len(value) > SKU_MAX_LENGTH or "\x00" in value:
        return None
    return value


def db_ids(text: str) -> list[int]:
    """The row ids in a comma-separated list ("3,17,42"), in order; anything that is not one is skipped."""
    return [pk for pk in (db_id(part) for part in text.split(",")) if pk is not None]


def products_in_subtree(queryset: QuerySet[Product], category: Category) -> QuerySet[Product]:
    """Products of a category and all its descendants, from the MPTT bounds (no subquery)."""
    return queryset.filter(
        category__tree_id=category.tree_id, category__lft__gte=category.lft, category__rght__lte=category.rght
    )


def product_list(
    *,
    category: Category | None = None,
    brand_ids: list[int] | None = None,
    min_price: Decimal | None = None,
    max_price: Decimal | None = None,
    text: str = "",
    active_only: bool = True,
) -> QuerySet[Product]:
    queryset = Product.objects.select_related("brand", "category")
    if active_only:
        queryset = queryset.filter(is_active=True)
    if category is not None:
        queryset = products_in_subtree(queryset, category)
    if brand_ids:
        queryset = queryset.filter(brand_id__in=brand_ids)
    if min_price is not None:
        queryset = queryset.filter(price__gte=min_price)
    if max_price is not None:
        queryset = queryset.filter(price__lte=max_price)
    return products_matching_text(queryset, text)


def products_matching_text(queryset: QuerySet[Product], text: str) -> QuerySet[Product]:
    """Every word must appear in the title or be the brand name."""
    for word in text.split()[:8]:
        queryset = queryset.filter(Q(title__icontains=word) | Q(brand__name__iexact=word))
    return queryset


def product_detail_queryset() -> QuerySet[Product]:
    values = ProductAttributeValue.objects.select_related("attribute", "value_node").order_by("attribute__name")
    return Product.objects.select_related("brand", "category").prefetch_related(
        Prefetch("attribute_values", queryset=values)
    )


def products_by_reference(items: Any) -> dict[str, dict[Any, Product]]:
    """The products a batch of events names, by id ("pk") and by SKU ("sku"): two queries for any batch size."""
    items = items if isinstance(items, list) else [items]
    ids, skus = set(), set()
    for item in items:
        if not isinstance(item, dict):
            continue
        pk, sku = db_id(item.get("product")), sku_reference(item.get("sku"))
        if pk is not None:
            ids.add(pk)
        if sku is not None:
            skus.add(sku)
    return {
        "pk": Product.objects.in_bulk(ids) if ids else {},
        "sku": Product.objects.in_bulk(skus, field_name="sku") if skus else {},
    }


def brand_list(*, name_contains: str = "") -> QuerySet[Brand]:
    """Brands with `product_count` (active products), by name."""
    queryset = Brand.objects.annotate(product_count=Count("products", filter=Q(products__is_active=True)))
    if name_contains:
        queryset = queryset.filter(name__icontains=name_contains)
    return queryset.order_by("name", "id")


def brands_by_reference(*, references: list[str]) -> tuple[list[Brand], list[str]]:
    """Brands named by id or slug, in one query; returns (brands, the references that match none)."""
    ids = {pk for ref in references if (pk := db_id(ref)) is not None}
    slugs = {ref.strip() for ref in references if db_id(ref) is None}
    brands = list(Brand.objects.filter(Q(pk__in=ids) | Q(slug__in=slugs)))
    known = {str(b.pk) for b in brands} | {b.slug for b in brands}
    unknown = [ref for ref in references if ref.strip() not in known]
    return brands, unknown


def suspect_brand_ids() -> list[int]:
    """Brands whose name is only a colour or a fit ("Slim", "Regular Fit"), left by older imports or hand edits."""
    return [pk for pk, name in Brand.objects.values_list("pk", "name") if brand_is_suspect(name)]


POPULAR_CACHE_SECONDS = 600


def popular_products(*, limit: int = 12) -> list[Product]:
    """The active products with the most distinct real visitors, cached for ten minutes.

    A visitor counts once per product, however often they reload it. A storefront visitor counts only once
    their cookie came back (two or more recorded events): a client that drops cookies is a new one-event
    visitor on every request and so never counts. Events from feeds and the API (no `web:` event id) count.
    The ids are cached, not the rows, so a product hidden since still drops out at once.
    """
    key = f"storefront:popular:{limit}"
    ids = cache.get(key)
    if ids is None:
        web = Interaction.objects.filter(event_id__startswith="web:")
        returning = web.values("visitor_id").annotate(n=Count("id")).filter(n__gte=2).values("visitor_id")
        rows = (
            Interaction.objects.filter(product__is_active=True, product__merged_into__isnull=True)
            .filter(~Q(event_id__startswith="web:") | Q(event_id__isnull=True) | Q(visitor_id__in=returning))
            .values("product_id")
            .annotate(n=Count("visitor_id", distinct=True))
            .order_by("-n", "product_id")[:limit]
        )
        ids = [row["product_id"] for row in rows]
        cache.set(key, ids, POPULAR_CACHE_SECONDS)
    products = Product.objects.select_related("brand").filter(is_active=True).in_bulk(ids)
    return [products[pk] for pk in ids if pk in products]


def visitor_ids_of_user(user: Any) -> list[str]:
    """Every visitor id a signed-in person has had (linked at sign-in, or on their stored events)."""
    ids = set(VisitorPreference.objects.filter(user=user, erased=False).values_list("visitor_id", flat=True))
    ids.update(Interaction.objects.filter(user=user).values_list("visitor_id", flat=True).distinct())
    return sorted(ids)


def of_person(visitor_ids: Sequence[str], user: Any = None) -> Q:
    """Rows (events, feedback: anything with `visitor_id` and `user`) of these visitor ids or of the account."""
    mine = Q(visitor_id__in=list(visitor_ids))
    return mine | Q(user=user) if user is not None else mine


def visitor_history(*, visitor_ids: list[str], user: Any = None) -> list[dict[str, Any]]:
    """Every stored event of these visitor ids (and of the account), newest first, as the data export shows it."""
    rows = Interaction.objects.filter(of_person(visitor_ids, user)).order_by("-timestamp", "-pk")
    fields = ("visitor_id", "event", "product_id", "product__title", "query", "order_id", "timestamp")
    return [
        {
            "visitor_id": visitor,
            "event": event,
            "product_id": product_id,
            "product_title": title,
            "query": query,
            "order_id": order_id,
            "timestamp": timestamp.isoformat(),
        }
        for visitor, event, product_id, title, query, order_id, timestamp in rows.values_list(*fields)
    ]


def personalisation_enabled(*, visitor_ids: list[str]) -> bool:
    """False once the shopper switched personalisation off for any of their ids."""
    return not VisitorPreference.objects.filter(visitor_id__in=visitor_ids, personalised=False).exists()
