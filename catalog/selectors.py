"""Reads of the catalog: product lists with filters, product detail, interaction histories."""

from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Prefetch, Q, QuerySet

from catalog.brand_rules import brand_is_suspect
from catalog.models import Brand, Interaction, Product, ProductAttributeValue
from taxonomy.models import Category


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
        pk, sku = item.get("product"), item.get("sku")
        if isinstance(pk, int | str) and not isinstance(pk, bool) and str(pk).isdigit():
            ids.add(int(pk))
        if isinstance(sku, str) and sku:
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
    ids = {int(ref) for ref in references if ref.strip().isdigit()}
    slugs = {ref.strip() for ref in references if not ref.strip().isdigit()}
    brands = list(Brand.objects.filter(Q(pk__in=ids) | Q(slug__in=slugs)))
    known = {str(b.pk) for b in brands} | {b.slug for b in brands}
    unknown = [ref for ref in references if ref.strip() not in known]
    return brands, unknown


def suspect_brand_ids() -> list[int]:
    """Brands whose name is only a colour or a fit ("Slim", "Regular Fit"), left by older imports or hand edits."""
    return [pk for pk, name in Brand.objects.values_list("pk", "name") if brand_is_suspect(name)]


POPULAR_CACHE_SECONDS = 600


def popular_products(*, limit: int = 12) -> list[Product]:
    """The most interacted-with active products (every event counts once), cached for ten minutes.

    The ids are cached, not the rows, so a product hidden since still drops out at once.
    """
    key = f"storefront:popular:{limit}"
    ids = cache.get(key)
    if ids is None:
        rows = (
            Interaction.objects.filter(product__is_active=True, product__merged_into__isnull=True)
            .values("product_id")
            .annotate(n=Count("id"))
            .order_by("-n", "product_id")[:limit]
        )
        ids = [row["product_id"] for row in rows]
        cache.set(key, ids, POPULAR_CACHE_SECONDS)
    products = Product.objects.select_related("brand").filter(is_active=True).in_bulk(ids)
    return [products[pk] for pk in ids if pk in products]
