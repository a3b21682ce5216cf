"""REST endpoints of personalised recommendations: the list, "not interested", and "why?".

Every endpoint answers for the caller's own visitor ids (session, and a signed-in user's linked
ids); only staff with `catalog.view_visitor_history` may name another visitor with `visitor=`, and every
such read is written to the audit log.
"""

import logging

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api_fields import RowIdRelatedField
from catalog.models import Product
from recommend.sequential.selectors import explanation_for, recommendations_for, visitor_ids_for_request
from recommend.sequential.services import feedback_not_interested

VISITOR_HISTORY_PERMISSION = "catalog.view_visitor_history"
VISITOR_HELP = f"Another shopper's visitor id: staff with {VISITOR_HISTORY_PERMISSION} only; audited."
audit = logging.getLogger("recommend.audit")


def visitor_ids_for(request: Request, visitor: str, *, create: bool = False) -> list[str]:
    """The caller's own ids, or (staff with the visitor-history permission) the visitor they asked about."""
    if not visitor:
        return visitor_ids_for_request(request, create=create)
    if not request.user.is_staff:
        raise PermissionDenied("visitor: only staff may ask for another visitor's recommendations.")
    who = request.user.get_username()
    if not request.user.has_perm(VISITOR_HISTORY_PERMISSION):
        audit.warning("visitor history refused: staff=%s visitor=%r %s %s", who, visitor, request.method, request.path)
        raise PermissionDenied(
            f"visitor: reading another shopper's history needs the {VISITOR_HISTORY_PERMISSION} permission."
        )
    # One audit line per read of (or, for "not interested", write for) a named shopper: who, whom, where.
    audit.info("visitor history accessed: staff=%s visitor=%r %s %s", who, visitor, request.method, request.path)
    return [visitor]


class RecommendationsApi(APIView):
    """Recommended products for the caller, each with a score and reasons (`kind`, `text`, history `items`)."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        limit = serializers.IntegerField(min_value=1, max_value=50, default=10)
        visitor = serializers.CharField(max_length=64, required=False, default="", help_text=VISITOR_HELP)

    class ReasonSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(
            choices=["history", "similar", "intent", "model", "brand", "trending", "popular_in_category"]
        )
        text = serializers.CharField()
        items = serializers.ListField(child=serializers.DictField(), required=False)

    class OutputSerializer(serializers.Serializer):
        model_version = serializers.IntegerField(allow_null=True)
        fallback = serializers.CharField(allow_null=True)
        results = serializers.ListField(child=serializers.DictField())

    @extend_schema(parameters=[InputSerializer], responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        visitor_ids = visitor_ids_for(request, params.validated_data["visitor"])
        payload = recommendations_for(visitor_ids=visitor_ids, limit=params.validated_data["limit"])
        return Response(self.OutputSerializer(payload).data)


class NotInterestedApi(APIView):
    """Hide a product (and its near-duplicates) from the caller's recommendations; kept for training."""

    permission_classes = [AllowAny]

    class NotInterestedInput(serializers.Serializer):
        product = RowIdRelatedField(queryset=Product.objects.all())
        visitor = serializers.CharField(max_length=64, required=False, default="", help_text=VISITOR_HELP)

    @extend_schema(request=NotInterestedInput, responses={201: dict})
    def post(self, request: Request) -> Response:
        params = self.NotInterestedInput(data=request.data)
        params.is_valid(raise_exception=True)
        # create: an anonymous visitor needs an id (its cookie) to remember the dislike by
        visitor_ids = visitor_ids_for(request, params.validated_data["visitor"], create=True)
        product = params.validated_data["product"]
        feedback_not_interested(visitor_ids=visitor_ids, product=product, user=request.user)
        return Response({"product": product.pk, "hidden": True}, status=status.HTTP_201_CREATED)


class RecommendationWhyApi(APIView):
    """The caller's recent history with each event's occlusion weight for this product (the heat strip's data)
    and the product's reasons, as the recommendation list gives them."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        visitor = serializers.CharField(max_length=64, required=False, default="", help_text=VISITOR_HELP)

    @extend_schema(parameters=[InputSerializer], responses={200: dict})
    def get(self, request: Request, pk: int) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        product = get_object_or_404(Product.objects.filter(is_active=True), pk=pk)
        visitor_ids = visitor_ids_for(request, params.validated_data["visitor"])
        return Response(explanation_for(visitor_ids=visitor_ids, product=product))
