"""REST endpoints for products and interaction ingest."""

from typing import Any

import django_filters
from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.permissions import DjangoModelPermissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Brand, Interaction, Product
from catalog.selectors import (
    product_detail_queryset,
    product_list,
    products_by_reference,
    products_in_subtree,
    products_matching_text,
)
from catalog.services import interactions_ingest, product_create, product_update
from taxonomy.models import Category
from taxonomy.selectors import category_path_items


class ProductFilter(django_filters.FilterSet):
    category = django_filters.ModelChoiceFilter(
        queryset=Category.objects.all(), method="filter_category", help_text="Category id; includes its subtree."
    )
    brand = django_filters.ModelMultipleChoiceFilter(queryset=Brand.objects.all(), help_text="Brand id (repeatable).")
    min_price = django_filters.NumberFilter(field_name="price", lookup_expr="gte", min_value=0)
    max_price = django_filters.NumberFilter(field_name="price", lookup_expr="lte", min_value=0)
    q = django_filters.CharFilter(method="filter_text", max_length=200, help_text="Words in the title or brand.")

    class Meta:
        model = Product
        fields = ["category", "brand", "min_price", "max_price", "q"]

    def filter_category(self, queryset: QuerySet[Product], name: str, value: Category) -> QuerySet[Product]:
        return products_in_subtree(queryset, value)

    def filter_text(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        return products_matching_text(queryset, value)

    def is_valid(self) -> bool:
        valid = super().is_valid()
        low, high = self.form.cleaned_data.get("min_price"), self.form.cleaned_data.get("max_price")
        if valid and low is not None and high is not None and low > high:
            self.form.add_error("max_price", "must be greater than or equal to min_price")
            return False
        return valid


class CategoryRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug"]


class ProductListOutput(serializers.ModelSerializer):
    brand = serializers.CharField(source="brand.name", default=None)
    category = CategoryRefSerializer(allow_null=True)
    url = serializers.CharField(source="get_absolute_url")

    class Meta:
        model = Product
        fields = ["id", "sku", "title", "brand", "price", "currency", "image_url", "category", "url"]


class AttributeValueOutput(serializers.Serializer):
    attribute_id = serializers.IntegerField()
    attribute = serializers.CharField(source="attribute.name")
    value = serializers.CharField()
    value_id = serializers.IntegerField(source="value_node_id", allow_null=True)


class ProductDetailOutput(ProductListOutput):
    category_path = serializers.SerializerMethodField()
    attributes = AttributeValueOutput(source="attribute_values", many=True)

    class Meta(ProductListOutput.Meta):
        fields = [
            *ProductListOutput.Meta.fields,
            "description",
            "category_path",
            "category_source",
            "source_category_path",
            "attributes",
            "is_active",
            "created_at",
            "updated_at",
        ]

    def get_category_path(self, product: Product) -> list[dict[str, Any]]:
        return category_path_items(category=product.category)


class ProductInput(serializers.ModelSerializer):
    """Validation only: the write itself is `product_create` / `product_update` in catalog.services."""

    brand = serializers.CharField(required=False, allow_blank=True, max_length=255, write_only=True)
    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all(), allow_null=True, required=False)

    class Meta:
        model = Product
        fields = ["sku", "title", "description", "brand", "price", "currency", "image_url", "category", "is_active"]

    def validate_currency(self, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise serializers.ValidationError("Use a 3-letter ISO currency code.")
        return value.upper()


class ProductListApi(generics.ListCreateAPIView):
    """List products (filters: category subtree, brand, price range, text) or create one."""

    filterset_class = ProductFilter

    def get_queryset(self) -> QuerySet[Product]:
        return product_list()

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return ProductInput if self.request.method == "POST" else ProductListOutput

    @extend_schema(request=ProductInput, responses={201: ProductDetailOutput})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ProductInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = product_create(data=serializer.validated_data)
        product = product_detail_queryset().get(pk=product.pk)
        return Response(ProductDetailOutput(product).data, status=status.HTTP_201_CREATED)


class ProductDetailApi(generics.RetrieveUpdateAPIView):
    """One product with its category path and attribute values; staff may update it."""

    def get_queryset(self) -> QuerySet[Product]:
        return product_detail_queryset()

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return ProductDetailOutput if self.request.method == "GET" else ProductInput

    def _update(self, request: Request, *, partial: bool) -> Response:
        """PATCH changes the fields sent; PUT needs the full product. Both go through one service."""
        product = self.get_object()
        serializer = ProductInput(product, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        product_update(product=product, data=serializer.validated_data)
        return Response(ProductDetailOutput(product_detail_queryset().get(pk=product.pk)).data)

    @extend_schema(request=ProductInput, responses={200: ProductDetailOutput})
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._update(request, partial=True)

    @extend_schema(request=ProductInput, responses={200: ProductDetailOutput})
    def put(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._update(request, partial=False)


class ProductReferenceField(serializers.Field):
    """A product named by id (`by="pk"`) or SKU (`by="sku"`), found among the batch's prefetched products."""

    default_error_messages = {
        "invalid": "Expected a product id (a positive integer).",
        "does_not_exist": "No product with {by} {value!r}.",
    }

    def __init__(self, *, by: str, **kwargs: Any) -> None:
        self.by = by
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Product:
        if self.by == "pk":
            if isinstance(data, bool) or not str(data).isdigit():
                self.fail("invalid")
            key: Any = int(data)
        else:
            key = str(data)
        known = self.context.get("products")
        if known is None:
            known = products_by_reference({"product" if self.by == "pk" else "sku": key})
        product = known[self.by].get(key)
        if product is None:
            self.fail("does_not_exist", by="id" if self.by == "pk" else "SKU", value=data)
        return product

    def to_representation(self, value: Product) -> Any:
        return value.pk if self.by == "pk" else value.sku


@extend_schema_field(OpenApiTypes.INT)
class ProductIdField(ProductReferenceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(by="pk", **kwargs)


@extend_schema_field(OpenApiTypes.STR)
class ProductSkuField(ProductReferenceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(by="sku", **kwargs)


class InteractionInput(serializers.Serializer):
    visitor_id = serializers.CharField(max_length=64)
    event = serializers.ChoiceField(choices=Interaction.Event.choices)
    product = ProductIdField(required=False, allow_null=True, help_text="Product id (or give `sku`).")
    sku = ProductSkuField(required=False, allow_null=True, source="product_by_sku", help_text="Product SKU.")
    query = serializers.CharField(max_length=500, required=False, allow_blank=True)
    order_id = serializers.CharField(max_length=64, required=False, allow_blank=True)
    event_id = serializers.CharField(max_length=128, required=False, allow_blank=True)
    timestamp = serializers.DateTimeField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        by_sku = attrs.pop("product_by_sku", None)
        if by_sku is not None and attrs.get("product") not in (None, by_sku):
            raise serializers.ValidationError({"sku": "refers to a different product than `product`."})
        attrs["product"] = attrs.get("product") or by_sku
        if attrs["event"] == Interaction.Event.SEARCH:
            if not attrs.get("query"):
                raise serializers.ValidationError({"query": "A search event needs a query."})
        elif attrs["product"] is None:
            raise serializers.ValidationError({"product": "This event needs a product (id or sku)."})
        return attrs


class InteractionIngestPermission(DjangoModelPermissions):
    perms_map = {**DjangoModelPermissions.perms_map, "POST": ["%(app_label)s.add_%(model_name)s"]}


class InteractionIngestApi(APIView):
    """Record one event (a JSON object) or a batch (a JSON list of up to 1,000). Idempotent by event_id."""

    permission_classes = [InteractionIngestPermission]
    queryset = Interaction.objects.none()

    @extend_schema(request=InteractionInput(many=True), responses={201: dict})
    def post(self, request: Request) -> Response:
        many = isinstance(request.data, list)
        if many and not 1 <= len(request.data) <= settings.INTERACTION_BATCH_MAX:
            return Response(
                {"non_field_errors": [f"A batch holds 1 to {settings.INTERACTION_BATCH_MAX} events."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        # The products named in the batch, fetched in two queries instead of one per event.
        serializer = InteractionInput(
            data=request.data, many=many, context={"products": products_by_reference(request.data)}
        )
        serializer.is_valid(raise_exception=True)
        events = serializer.validated_data if many else [serializer.validated_data]
        result = interactions_ingest(events=events)
        return Response(result, status=status.HTTP_201_CREATED)
