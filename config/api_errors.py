"""DRF exception handler: a request body over DATA_UPLOAD_MAX_MEMORY_SIZE (or with too many fields) is a
JSON 413/400 like every other API error, not Django's HTML 400 page."""

from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "The request body is too large for this endpoint; send smaller batches."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, TooManyFieldsSent):
        return Response({"detail": "The request has too many fields."}, status=status.HTTP_400_BAD_REQUEST)
    return exception_handler(exc, context)
