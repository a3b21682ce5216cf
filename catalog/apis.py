"""REST endpoints for products and interaction ingest."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny, DjangoModelPermissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api_fields import RowIdRelatedField
from catalog.filters import ProductFilter, StrictOrderingFilter
from catalog.importers.base import RowInvalid, currency_code
from catalog.importers.interactions import parse_timestamp
from catalog.models import Brand, Interaction, Product
from catalog.selectors import (
    SKU_MAX_LENGTH,
    brand_list,
    db_id,
    product_detail_queryset,
    product_list,
    products_by_reference,
    sku_reference,
)
from catalog.services import interactions_ingest, product_create, product_update
from taxonomy.models import Category
from taxonomy.selectors import category_path_items

PRICE_UNAVAILABLE = "Price unavailable"


class CategoryRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug"]


class ProductListOutput(serializers.ModelSerializer):
    brand = serializers.CharField(source="brand.name", default=None, allow_null=True)
    category = CategoryRefSerializer(allow_null=True)
    url = serializers.CharField(source="get_absolute_url")
    price_display = serializers.SerializerMethodField(
        help_text="The price with its currency, or “Price unavailable” when the source has none (price is null)."
    )

    class Meta:
        model = Product
        fields = ["id", "sku", "title", "brand", "price", "price_display", "currency", "image_url", "category", "url"]

    def get_price_display(self, product: Product) -> str:
        return f"{product.currency} {product.price}" if product.price is not None else PRICE_UNAVAILABLE


class AttributeValueOutput(serializers.Serializer):
    attribute_id = serializers.IntegerField()
    attribute = serializers.CharField(source="attribute.name")
    value = serializers.CharField()
    value_id = serializers.IntegerField(source="value_node_id", allow_null=True)


class CategoryPathItem(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


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

    @extend_schema_field(CategoryPathItem(many=True))
    def get_category_path(self, product: Product) -> list[dict[str, Any]]:
        return category_path_items(category=product.category)


class ProductInput(serializers.ModelSerializer):
    """Validation only: the write itself is `product_create` / `product_update` in catalog.services."""

    brand = serializers.CharField(required=False, allow_blank=True, max_length=255, write_only=True)
    category = RowIdRelatedField(queryset=Category.objects.all(), allow_null=True, required=False)

    class Meta:
        model = Product
        fields = ["sku", "title", "description", "brand", "price", "currency", "image_url", "category", "is_active"]

    def validate_currency(self, value: str) -> str:
        code = currency_code(value)
        if code is None:
            raise serializers.ValidationError("Use a 3-letter ISO currency code (A-Z).")
        return code


class ProductListApi(generics.ListCreateAPIView):
    """List products (filters: category subtree, brand id or slug, price range, text; `ordering`) or create one."""

    filterset_class = ProductFilter
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    ordering_fields = ["price", "title", "created_at", "id"]

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
    """One product with its category path and attribute values; staff may update it.

    A hidden (inactive or merged) product is 404, as in the storefront, except for staff who may change products.
    """

    def get_queryset(self) -> QuerySet[Product]:
        queryset = product_detail_queryset()
        return queryset if self.request.user.has_perm("catalog.change_product") else queryset.filter(is_active=True)

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


class BrandListApi(generics.ListAPIView):
    """Every brand with its number of products in the shop; the ids and slugs the products' `brand` filter takes."""

    class BrandOutput(serializers.Serializer):
        id = serializers.IntegerField()
        slug = serializers.CharField()
        name = serializers.CharField()
        product_count = serializers.IntegerField(help_text="Active products of this brand.")

    class FilterInput(serializers.Serializer):
        q = serializers.CharField(required=False, max_length=100, help_text="Part of the brand's name.")

    permission_classes = [AllowAny]
    serializer_class = BrandOutput
    filter_backends = [StrictOrderingFilter]
    ordering_fields = ["name", "product_count", "id"]

    def get_queryset(self) -> QuerySet[Brand]:
        params = self.FilterInput(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return brand_list(name_contains=params.validated_data.get("q", ""))

    @extend_schema(parameters=[FilterInput])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ProductReferenceField(serializers.Field):
    """A product named by id (`by="pk"`) or SKU (`by="sku"`), found among the batch's prefetched products."""

    default_error_messages = {
        "invalid": "Expected a product id (a positive integer).",
        "invalid_sku": "Expected a SKU: text of up to {max_length} characters, without NUL bytes.",
        "does_not_exist": "No product with {by} {value!r}.",
    }

    def __init__(self, *, by: str, **kwargs: Any) -> None:
        self.by = by
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Product:
        if self.by == "pk":
            key: Any = db_id(data)
            if key is None:
                self.fail("invalid")
        else:
            key = sku_reference(str(data) if isinstance(data, int) and not isinstance(data, bool) else data)
            if key is None:
                self.fail("invalid_sku", max_length=SKU_MAX_LENGTH)
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


@extend_schema_field({"oneOf": [{"type": "string", "format": "date-time"}, {"type": "number"}]})
class TimestampField(serializers.Field):
    """Unix seconds (a number or digits) or ISO 8601, as the importer reads them; naive times are UTC."""

    def to_internal_value(self, data: Any) -> datetime:
        if isinstance(data, bool) or not isinstance(data, int | float | str):
            raise serializers.ValidationError("Expected unix seconds or an ISO 8601 date-time.")
        try:
            return parse_timestamp(str(data).strip(), "timestamp", "")
        except RowInvalid as invalid:
            raise serializers.ValidationError(invalid.reason) from None

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


class InteractionInput(serializers.Serializer):
    visitor_id = serializers.CharField(max_length=64)
    event = serializers.ChoiceField(choices=Interaction.Event.choices)
    product = ProductIdField(required=False, allow_null=True, help_text="Product id (or give `sku`).")
    sku = ProductSkuField(required=False, allow_null=True, source="product_by_sku", help_text="Product SKU.")
    query = serializers.CharField(max_length=500, required=False, allow_blank=True)
    order_id = serializers.CharField(max_length=64, required=False, allow_blank=True)
    event_id = serializers.CharField(max_length=128, required=False, allow_blank=True)
    timestamp = TimestampField(required=False)

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


def batch_errors(errors: Any, *, size: int) -> dict[str, Any]:
    """A list serializer's errors as {"rows": {index: errors}, "non_field_errors": [summary]}.

    DRF gives either a list aligned with the batch (empty dicts for good items) or a dict keyed
    by index; both become the same shape, keyed by the event's position in the batch (from 0).
    """
    if isinstance(errors, list):
        rows = {str(index): item for index, item in enumerate(errors) if item}
    elif isinstance(errors, dict) and all(str(key).isdigit() for key in errors):
        rows = {str(key): item for key, item in errors.items()}
    else:
        return dict(errors)
    return {"rows": rows, "non_field_errors": [f"{len(rows)} of {size} events are invalid; nothing was stored."]}


class InteractionIngestPermission(DjangoModelPermissions):
    perms_map = {**DjangoModelPermissions.perms_map, "POST": ["%(app_label)s.add_%(model_name)s"]}


class InteractionIngestApi(APIView):
    """Record one event (a JSON object) or a batch (a JSON list of up to 1,000). Idempotent by event_id."""

    permission_classes = [InteractionIngestPermission]
    queryset = Interaction.objects.none()

    class InteractionIngestOutput(serializers.Serializer):
        created = serializers.IntegerField(help_text="Events stored.")
        duplicates = serializers.IntegerField(help_text="Events skipped because their event_id was already stored.")
        declined = serializers.IntegerField(help_text="Events not stored: the shopper switched personalisation off.")

    @extend_schema(
        request=InteractionInput(many=True),
        responses={201: InteractionIngestOutput},
        description=(
            "A bad batch changes nothing and answers 400 with the errors of each bad event keyed by its "
            'position in the list (from 0): `{"rows": {"3": {"timestamp": ["..."]}}, "non_field_errors": [...]}`.'
        ),
    )
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
        if not serializer.is_valid():
            errors = batch_errors(serializer.errors, size=len(request.data)) if many else serializer.errors
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        events = serializer.validated_data if many else [serializer.validated_data]
        result = interactions_ingest(events=events)
        return Response(result, status=status.HTTP_201_CREATED)
