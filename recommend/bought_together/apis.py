"""REST endpoints: what is bought together with a product, and what completes a basket."""

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Product
from catalog.selectors import MAX_DB_ID
from recommend.bought_together.selectors import MAX_LIMIT, Completion, basket_completion, bought_together_for_product
from recommend.core.payloads import product_payload

BASKET_MAX_PRODUCTS = 100


class SuggestionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    brand = serializers.CharField(allow_null=True)
    url = serializers.CharField()
    price = serializers.CharField(allow_null=True)
    currency = serializers.CharField()
    image_url = serializers.CharField(allow_blank=True)
    score = serializers.FloatField()
    signal = serializers.ChoiceField(choices=["pinned", "rules", "category"])
    evidence = serializers.CharField(help_text="why, in a shopper's words")


class BoughtTogetherOutput(serializers.Serializer):
    product_id = serializers.IntegerField()
    model_version = serializers.IntegerField(allow_null=True, help_text="null before any build")
    results = SuggestionOutputSerializer(many=True)
    reason = serializers.CharField(allow_null=True, help_text="why there are no results (null when there are)")


class BasketCompleteOutput(serializers.Serializer):
    product_ids = serializers.ListField(child=serializers.IntegerField())
    model_version = serializers.IntegerField(allow_null=True, help_text="null before any build")
    results = SuggestionOutputSerializer(many=True)
    reason = serializers.CharField(allow_null=True, help_text="why there are no results (null when there are)")


def _payload(completion: Completion) -> dict[str, Any]:
    results = []
    for suggestion in completion.suggestions:
        item = product_payload(suggestion.product, suggestion.score, suggestion.signal)
        item["evidence"] = suggestion.evidence
        results.append(item)
    return {"model_version": completion.model_version, "results": results, "reason": completion.reason}


class ProductBoughtTogetherApi(APIView):
    """Products frequently bought together with this one (complements with co-purchase evidence, never same-type
    substitutes); each says its signal and evidence. No evidence: an empty list and a `reason`."""

    permission_classes = [AllowAny]

    class BoughtTogetherInput(serializers.Serializer):
        limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=4)

    @extend_schema(parameters=[BoughtTogetherInput], responses={200: BoughtTogetherOutput})
    def get(self, request: Request, pk: int) -> Response:
        params = self.BoughtTogetherInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        product = get_object_or_404(Product.objects.only("pk"), pk=pk, is_active=True)
        completion = bought_together_for_product(product=product, limit=params.validated_data["limit"])
        return Response({"product_id": product.pk, **_payload(completion)})


class BasketCompleteApi(APIView):
    """Products that complete a basket of up to 100 products (a cart, an order being edited)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []  # a public read: no session, so no CSRF token needed from a cart script

    class BasketCompleteInput(serializers.Serializer):
        product_ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=MAX_DB_ID),
            min_length=1,
            max_length=BASKET_MAX_PRODUCTS,
        )
        limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=4)

        def validate_product_ids(self, value: list[int]) -> list[int]:
            known = set(Product.objects.filter(pk__in=value).values_list("pk", flat=True))
            unknown = [pk for pk in dict.fromkeys(value) if pk not in known]
            if unknown:
                raise serializers.ValidationError(f"unknown product id(s): {', '.join(map(str, unknown[:10]))}")
            return value

    @extend_schema(request=BasketCompleteInput, responses={200: BasketCompleteOutput})
    def post(self, request: Request) -> Response:
        params = self.BasketCompleteInput(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        completion = basket_completion(product_ids=data["product_ids"], limit=data["limit"])
        return Response({"product_ids": list(dict.fromkeys(data["product_ids"])), **_payload(completion)})
