"""REST endpoints for jobs: staff start imports and watch progress."""

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.importers.presets import PRESETS
from recommend.core.jobs import job_create
from recommend.models import Job


class JobOutput(serializers.ModelSerializer):
    duration_seconds = serializers.FloatField(allow_null=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "progress",
            "message",
            "error",
            "params",
            "result",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
        ]


class ImportJobInput(serializers.Serializer):
    preset = serializers.ChoiceField(choices=sorted(PRESETS))
    limit = serializers.IntegerField(required=False, min_value=1)
    strict = serializers.BooleanField(default=False)


class JobListApi(generics.ListCreateAPIView):
    """Staff: list jobs, or start a catalog import job from a dataset preset."""

    permission_classes = [IsAdminUser]
    serializer_class = JobOutput

    def get_queryset(self) -> QuerySet[Job]:
        return Job.objects.all()

    @extend_schema(request=ImportJobInput, responses={202: JobOutput})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = ImportJobInput(data=request.data)
        params.is_valid(raise_exception=True)
        data = {**params.validated_data, "data_dir": str(settings.SHOP_DATA_DIR)}
        job = job_create(kind=Job.Kind.IMPORT, params=data, user=request.user)
        job.refresh_from_db()
        return Response(JobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class JobDetailApi(generics.RetrieveAPIView):
    permission_classes = [IsAdminUser]
    serializer_class = JobOutput
    queryset = Job.objects.all()
