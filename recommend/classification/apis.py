"""POST /api/v1/classify: the active classifier's top-k category paths for product texts.

Authenticated (token or session): catalog reads are public, but this runs a model.
"""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from recommend.classification.selectors import active_classifier, classifier_input_text, predict_categories
from recommend.models import ModelVersion

CLASSIFY_BATCH_MAX = 1000
TOP_K_MAX = 10


class ClassifyInput(serializers.Serializer):
    title = serializers.CharField(max_length=1000)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    brand = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    attributes = serializers.DictField(
        child=serializers.CharField(max_length=1000, allow_blank=True), required=False, default=dict
    )
    top_k = serializers.IntegerField(min_value=1, max_value=TOP_K_MAX, required=False)

    def validate_attributes(self, value: dict[str, str]) -> dict[str, str]:
        if len(value) > 100:
            raise serializers.ValidationError("At most 100 attributes.")
        return value


class PredictionOutput(serializers.Serializer):
    category_id = serializers.IntegerField(source="category.pk")
    path = serializers.ListField(child=serializers.CharField())
    confidence = serializers.FloatField()
    attention = serializers.ListField(child=serializers.ListField(), help_text="[[word, weight], ...]")


class ClassifyOutput(serializers.Serializer):
    model_version = serializers.IntegerField()
    predictions = PredictionOutput(many=True, required=False, help_text="For a single object.")
    results = serializers.ListField(
        child=PredictionOutput(many=True), required=False, help_text="For a list: one list per item, in order."
    )


class ClassifyApi(APIView):
    """Classify one product (a JSON object) or a batch (a JSON list of up to 1,000).

    Each item: `title` (required), `description`, `brand`, `attributes` ({name: value}), `top_k` (1..10,
    default CLASSIFIER_TOP_K). 503 while no classifier version is active.
    """

    permission_classes = [IsAuthenticated]
    throttle_scope = "classify"  # a request may run the model over 1,000 items (config/throttles.py)
    throttle_item_scope = "classify_items"  # so each account also has a budget of items

    @staticmethod
    def throttle_item_count(request: Request) -> int:
        """Items the request asks the model about (a batch too large is a 400 and counts as one)."""
        data = request.data
        return len(data) if isinstance(data, list) and len(data) <= CLASSIFY_BATCH_MAX else 1

    @extend_schema(request=ClassifyInput(many=True), responses={200: ClassifyOutput})
    def post(self, request: Request) -> Response:
        many = isinstance(request.data, list)
        if many and not 1 <= len(request.data) <= CLASSIFY_BATCH_MAX:
            return Response(
                {"non_field_errors": [f"A batch holds 1 to {CLASSIFY_BATCH_MAX} items."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        serializer = ClassifyInput(data=request.data, many=many)
        serializer.is_valid(raise_exception=True)
        items = serializer.validated_data if many else [serializer.validated_data]
        loaded = active_classifier()
        if loaded is None:
            detail = (
                "The active classifier cannot be loaded on this server (its artifact is missing or damaged; "
                "see /readyz); staff activate another version in the admin (Model versions)."
                if ModelVersion.objects.filter(kind=ModelVersion.Kind.CLASSIFIER, status="active").exists()
                else "No classifier is active yet; staff train one in the admin (Model versions)."
            )
            return Response({"detail": detail}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        version_id, model = loaded
        top_ks = [item.get("top_k") or settings.CLASSIFIER_TOP_K for item in items]
        texts = [
            classifier_input_text(
                title=item["title"], brand=item["brand"], description=item["description"], attributes=item["attributes"]
            )
            for item in items
        ]
        predictions = predict_categories(texts, top_k=max(top_ks), model=model)
        results = [PredictionOutput(p[:k], many=True).data for p, k in zip(predictions, top_ks, strict=True)]
        version = ModelVersion.objects.filter(pk=version_id).values_list("version", flat=True).first()
        body = {"model_version": version, **({"results": results} if many else {"predictions": results[0]})}
        return Response(body)
