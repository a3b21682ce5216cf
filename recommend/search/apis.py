"""REST endpoint: product search (full-text + embeddings, rank fusion)."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from recommend.core.payloads import product_payload
from recommend.search.selectors import product_search


class SearchApi(APIView):
    """Search products by meaning and by words (full-text + embeddings, rank fusion)."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        q = serializers.CharField(min_length=1, max_length=200, trim_whitespace=True)
        limit = serializers.IntegerField(min_value=1, max_value=100, default=24)
        category = serializers.IntegerField(min_value=1, required=False, help_text="Only this category's subtree.")

    @extend_schema(parameters=[InputSerializer], responses={200: dict})
    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data: dict[str, Any] = params.validated_data
        hits = product_search(query=data["q"], limit=data["limit"], category_id=data.get("category"))
        results = []
        for hit in hits:
            result = product_payload(hit["product"], hit["score"], hit["matched_by"])
            result["matched_by"] = result.pop("signal")
            results.append(result)
        return Response({"query": data["q"], "results": results})
