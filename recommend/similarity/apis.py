"""REST endpoint: similar items of a product."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Product
from recommend.models import SimilarItem
from recommend.similarity.selectors import CATEGORY_SCOPES, similar_products


class SimilarItemsApi(APIView):
    """Products similar to this one. Each result has a score and the signal that produced it."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        strategy = serializers.ChoiceField(choices=SimilarItem.Strategy.values, default=SimilarItem.Strategy.HYBRID)
        limit = serializers.IntegerField(min_value=1, max_value=50, default=10)
        category = serializers.ChoiceField(
            choices=CATEGORY_SCOPES, default="any", help_text="same: only the product's category; other: only others."
        )

    @extend_schema(parameters=[InputSerializer], responses={200: dict})
    def get(self, request: Request, pk: int) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        product = get_object_or_404(Product.objects.only("pk", "category_id"), pk=pk, is_active=True)
        data = params.validated_data
        payload = similar_products(
            product=product, strategy=data["strategy"], limit=data["limit"], scope=data["category"]
        )
        return Response({"product_id": product.pk, **payload})
