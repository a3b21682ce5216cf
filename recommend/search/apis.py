"""REST endpoint: product search (full-text + embeddings, rank fusion)."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from recommend.core.payloads import product_payload
from recommend.search.selectors import product_search_page


class SearchHitOutput(serializers.Serializer):
    """The documented part of a hit; it also carries the product payload fields (brand, price, image...)."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.CharField()
    score = serializers.FloatField(
        help_text="Reciprocal-rank-fusion score × 60 (about 1 for a top hit in one ranking)."
    )
    matched_by = serializers.ChoiceField(choices=["lexical", "semantic", "both"])


class SearchOutput(serializers.Serializer):
    query = serializers.CharField()
    total = serializers.IntegerField(help_text="Distinct matching listings (0 when nothing is relevant).")
    total_capped = serializers.BooleanField(help_text="True when the total stops at SEARCH_CANDIDATES per ranking.")
    match = serializers.ChoiceField(
        choices=["all_words", "closest", "none"],
        help_text="all_words: the first `exact` results hold every word of the query; closest: no product does, "
        "these are the nearest by words or meaning (say so to the shopper); none: nothing relevant.",
    )
    exact = serializers.IntegerField(help_text="How many results hold every word of the query (they come first).")
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    results = serializers.ListField(
        child=serializers.DictField(), help_text="Product payloads with score and matched_by."
    )


class SearchApi(APIView):
    """Search products by meaning and by words (full-text + embeddings, rank fusion)."""

    permission_classes = [AllowAny]
    throttle_scope = "search"  # every request runs the text encoder (config/throttles.py)

    class SearchInput(serializers.Serializer):
        q = serializers.CharField(min_length=1, max_length=200, trim_whitespace=True)
        page = serializers.IntegerField(min_value=1, default=1)
        page_size = serializers.IntegerField(min_value=1, max_value=100, required=False, help_text="Default 24.")
        limit = serializers.IntegerField(min_value=1, max_value=100, required=False, help_text="Old name of page_size.")
        category = serializers.IntegerField(min_value=1, required=False, help_text="Only this category's subtree.")

    @extend_schema(parameters=[SearchInput], responses={200: SearchOutput})
    def get(self, request: Request) -> Response:
        params = self.SearchInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        data: dict[str, Any] = params.validated_data
        size = data.get("page_size") or data.get("limit") or 24
        found = product_search_page(
            query=data["q"], limit=size, offset=(data["page"] - 1) * size, category_id=data.get("category")
        )
        results = []
        for hit in found["hits"]:
            result = product_payload(hit["product"], hit["score"], hit["matched_by"])
            result["matched_by"] = result.pop("signal")
            results.append(result)
        return Response(
            {
                "query": data["q"],
                "total": found["total"],
                "total_capped": found["total_capped"],
                "match": found["match"],
                "exact": found["exact"],
                "page": data["page"],
                "page_size": size,
                "results": results,
            }
        )
