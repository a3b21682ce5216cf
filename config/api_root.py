"""The JSON root of the REST API (`/api/v1/`): every endpoint with its URL, so a client can discover them."""

import re
from typing import Any

from django.urls import URLPattern, reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


def _route(pattern: URLPattern) -> str:
    """A readable route: `products/{pk}/similar` for `^products/(?P<pk>[0-9]+)/similar/?$`."""
    text = str(pattern.pattern)
    text = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", text)  # path converters
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", text)  # regex groups
    return text.lstrip("^").rstrip("$").replace("/?", "/").replace("\\", "")


class ApiRootApi(APIView):
    """Lists the v1 endpoints (name, URL, methods) and where the schema and its docs are."""

    permission_classes = [AllowAny]
    patterns: list[URLPattern] = []

    class ApiRootOutput(serializers.Serializer):
        class ApiEndpoint(serializers.Serializer):
            name = serializers.CharField()
            url = serializers.CharField(help_text="Absolute URL; {name} marks a path parameter.")

        version = serializers.CharField()
        endpoints = ApiEndpoint(many=True)
        schema = serializers.CharField()
        docs = serializers.CharField()

    @extend_schema(responses={200: ApiRootOutput})
    def get(self, request: Request) -> Response:
        base = request.build_absolute_uri(reverse("api:api-root"))
        endpoints: list[dict[str, Any]] = [
            {"name": pattern.name, "url": base + _route(pattern)}
            for pattern in self.patterns
            if isinstance(pattern, URLPattern) and pattern.name and pattern.name != "api-root"
        ]
        return Response(
            {
                "version": "v1",
                "endpoints": endpoints,
                "schema": request.build_absolute_uri(reverse("schema")),
                "docs": request.build_absolute_uri(reverse("swagger-ui")),
            }
        )
