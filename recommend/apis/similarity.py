"""REST endpoints: similar items of a product, and product search."""

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Product
from recommend.models import SimilarItem
from recommend.selectors.similarity import CATEGORY_SCOPES, neighbour_payload, similar_products
from recommend.services.search import product_search


class SimilarInput(serializers.Serializer):
    strategy = serializers.ChoiceField(choices=SimilarItem.Strategy.values, default=SimilarItem.Strategy.HYBRID)
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)
    category = serializers.ChoiceField(
        choices=CATEGORY_SCOPES, default="any", help_text="same: only the product's category; other: only others."
    )


class SimilarItemsApi(APIView):
    """Products similar to this one. Each result has a score and the signal that produced it."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=[SimilarInput], responses={200: dict})
    def get(self, request: Request, pk: int) -> Response:
        params = SimilarInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        product = get_object_or_404(Product.objects.only("pk", "category_id"), pk=pk)
        data = params.validated_data
        payload = similar_products(
            product=product, strategy=data["strategy"], limit=data["limit"], scope=data["category"]
        )
        return Response({"product_id": product.pk, **payload})


class SearchInput(serializers.Serializer):
    q = serializers.CharField(min_length=1, max_length=200, trim_whitespace=True)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=24)
    category = serializers.IntegerField(min_value=1, required=False, help_text="Only this category's subtree.")


class SearchApi(APIView):
    """Search products by meaning and by words (full-text + embeddings, rank fusion)."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=[SearchInput], responses={200: dict})
    def get(self, request: Request) -> Response:
        params = SearchInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        data: dict[str, Any] = params.validated_data
        hits = product_search(query=data["q"], limit=data["limit"], category_id=data.get("category"))
        results = []
        for hit in hits:
            result = neighbour_payload(hit["product"], hit["score"], hit["matched_by"])
            result["matched_by"] = result.pop("signal")
            results.append(result)
        return Response({"query": data["q"], "results": results})
