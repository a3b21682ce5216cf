"""The shopper's privacy controls over the API, for their own visitor ids (the browser's visitor id, and a
signed-in user's linked ids): GET exports everything stored about them as JSON, DELETE forgets it, and
PUT personalisation switches recommendations from their history (and storing new events) off or on."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from recommend.sequential.privacy import request_data_export, request_forget, visitor_personalisation
from recommend.sequential.selectors import visitor_ids_for_request


class EventOutput(serializers.Serializer):
    visitor_id = serializers.CharField()
    event = serializers.CharField()
    product_id = serializers.IntegerField(allow_null=True)
    product_title = serializers.CharField(allow_null=True)
    query = serializers.CharField(allow_blank=True)
    order_id = serializers.CharField(allow_blank=True)
    timestamp = serializers.DateTimeField()


class FeedbackOutput(serializers.Serializer):
    product_id = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class MyDataOutput(serializers.Serializer):
    visitor_ids = serializers.ListField(child=serializers.CharField())
    personalisation = serializers.BooleanField()
    events = EventOutput(many=True)
    not_interested = FeedbackOutput(many=True)


class ForgetOutput(serializers.Serializer):
    events = serializers.IntegerField(help_text="Events erased.")
    not_interested = serializers.IntegerField(help_text="'Not interested' choices erased.")


class MyDataApi(APIView):
    """Your stored data as JSON (GET), or erase it (DELETE: events and "not interested" at once)."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: MyDataOutput})
    def get(self, request: Request) -> Response:
        return Response(request_data_export(request, visitor_ids_for_request(request)))

    @extend_schema(responses={200: ForgetOutput})
    def delete(self, request: Request) -> Response:
        return Response(request_forget(request, visitor_ids_for_request(request)))


class PersonalisationApi(APIView):
    """Switch personalisation off (no history in recommendations, no new events stored) or back on."""

    permission_classes = [AllowAny]

    class PersonalisationInput(serializers.Serializer):
        enabled = serializers.BooleanField()

    @extend_schema(request=PersonalisationInput, responses={200: PersonalisationInput})
    def put(self, request: Request) -> Response:
        params = self.PersonalisationInput(data=request.data)
        params.is_valid(raise_exception=True)
        enabled = params.validated_data["enabled"]
        user = request.user if request.user.is_authenticated else None
        # create: an anonymous visitor needs an id (its cookie) for the choice to stick
        visitor_personalisation(visitor_ids=visitor_ids_for_request(request, create=True), enabled=enabled, user=user)
        return Response({"enabled": enabled})
