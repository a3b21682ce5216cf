"""Query filters of the catalog API: products by category subtree, brand (id or slug), price, text;
`ordering` on documented fields only."""

from typing import Any

import django_filters
from django.db.models import F, QuerySet
from rest_framework import serializers
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.views import APIView

from catalog.api_fields import RowIdChoiceFilter
from catalog.models import Product
from catalog.selectors import brands_by_reference, products_in_subtree, products_matching_text
from taxonomy.models import Category


class ProductFilter(django_filters.FilterSet):
    category = RowIdChoiceFilter(
        queryset=Category.objects.all(), method="filter_category", help_text="Category id; includes its subtree."
    )
    brand = django_filters.CharFilter(
        method="filter_brand", help_text="Brand id or slug (repeatable: `brand=12&brand=acme`); see /api/v1/brands/."
    )
    min_price = django_filters.NumberFilter(field_name="price", lookup_expr="gte", min_value=0)
    max_price = django_filters.NumberFilter(field_name="price", lookup_expr="lte", min_value=0)
    q = django_filters.CharFilter(method="filter_text", max_length=200, help_text="Words in the title or brand.")
    sku = django_filters.CharFilter(
        method="filter_sku",
        help_text="Your SKUs, exact: `sku=A1` or several at once, `sku=A1,B2` or `sku=A1&sku=B2` (up to 200).",
    )

    class Meta:
        model = Product
        fields = ["category", "brand", "min_price", "max_price", "q", "sku"]

    def filter_sku(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        values = self.data.getlist(name) if hasattr(self.data, "getlist") else [value]
        skus = [sku.strip() for raw in values for sku in raw.split(",") if sku.strip()]
        if any("\x00" in sku for sku in skus):
            raise serializers.ValidationError({"sku": ["Null characters are not allowed."]})
        if len(skus) > 200:
            raise serializers.ValidationError({"sku": [f"At most 200 SKUs per request, not {len(skus)}."]})
        return queryset.filter(sku__in=skus)

    def filter_category(self, queryset: QuerySet[Product], name: str, value: Category) -> QuerySet[Product]:
        return products_in_subtree(queryset, value)

    def filter_text(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        return products_matching_text(queryset, value)

    def filter_brand(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        # Repeated parameters (`brand=1&brand=acme`): the form field only validated the last one, so each
        # value is checked here (a NUL byte would reach the database, whose driver refuses it).
        values = self.data.getlist(name) if hasattr(self.data, "getlist") else [value]
        if any("\x00" in ref for ref in values):
            raise serializers.ValidationError({"brand": ["Null characters are not allowed."]})
        references = [ref for ref in values if ref.strip()]
        brands, unknown = brands_by_reference(references=references)
        if unknown:
            raise serializers.ValidationError({"brand": [f"No brand with id or slug {ref!r}." for ref in unknown]})
        return queryset.filter(brand__in=brands)

    def is_valid(self) -> bool:
        valid = super().is_valid()
        low, high = self.form.cleaned_data.get("min_price"), self.form.cleaned_data.get("max_price")
        if valid and low is not None and high is not None and low > high:
            self.form.add_error("max_price", "must be greater than or equal to min_price")
            return False
        return valid


class StrictOrderingFilter(OrderingFilter):
    """`ordering=` on the documented fields only; anything else is a 400, never silently ignored.

    Products without a price sort last in both directions; ties break by id so pages are stable.
    """

    ordering_description = "One of: price, -price, title, -title, created_at, -created_at, id, -id."

    def get_ordering(self, request: Request, queryset: QuerySet, view: APIView) -> list[Any]:
        raw = request.query_params.get(self.ordering_param)
        if raw is None or not raw.strip():
            return self.get_default_ordering(view) or []
        allowed = {field for field in view.ordering_fields}
        terms = [term.strip() for term in raw.split(",") if term.strip()]
        bad = [term for term in terms if term.lstrip("-") not in allowed]
        if bad:
            raise serializers.ValidationError(
                {self.ordering_param: [f"Cannot order by {', '.join(bad)}. {self.ordering_description}"]}
            )
        ordering: list[Any] = []
        for term in terms:
            field = F(term.lstrip("-"))
            ordering.append(field.desc(nulls_last=True) if term.startswith("-") else field.asc(nulls_last=True))
        return [*ordering, "id"] if "id" not in {t.lstrip("-") for t in terms} else ordering

    def filter_queryset(self, request: Request, queryset: QuerySet, view: APIView) -> QuerySet:
        ordering = self.get_ordering(request, queryset, view)
        return queryset.order_by(*ordering) if ordering else queryset

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        fields = [name for field in view.ordering_fields for name in (field, f"-{field}")]
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": self.ordering_description,
                "schema": {"type": "string", "enum": fields},
            }
        ]
