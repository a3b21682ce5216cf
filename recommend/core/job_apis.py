"""REST endpoints for jobs: staff start imports, watch progress and cancel.

When the task queue cannot be reached the start answers 503 with a JSON message (the job is recorded as
failed, so nothing waits on it) instead of an error page.
"""

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.importers.presets import IMPORT_LIMIT_MAX, PRESETS
from recommend.core.jobs import job_cancel, job_create, job_enqueue_failed
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
            "queue",
            "worker",
            "cancel_requested",
            "created_at",
            "started_at",
            "heartbeat_at",
            "finished_at",
            "duration_seconds",
        ]


VIEW_PERMISSIONS = ("recommend.view_job", "recommend.change_job")  # the admin shows jobs for either
# What each kind the API starts needs, as the admin form of that kind checks (recommend.core.job_admin).
START_PERMISSIONS = {Job.Kind.IMPORT: ("catalog.add_product", "You need permission to add products to run an import.")}
PRIVATE_FIELDS = ("params", "error")  # paths, settings and tracebacks: for those who may view jobs


def can_view_jobs(user: Any) -> bool:
    return any(user.has_perm(perm) for perm in VIEW_PERMISSIONS)


def job_output(job: Job, user: Any) -> dict[str, Any]:
    """The job as JSON; without permission to view jobs its params and traceback are left out."""
    data = dict(JobOutput(job).data)
    if not can_view_jobs(user):
        for name in PRIVATE_FIELDS:
            data.pop(name, None)
    return data


class CanViewJobs(IsAdminUser):
    """Staff with recommend.view_job (or change_job) read jobs; a POST is checked by the view itself."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method == "POST" or can_view_jobs(request.user)


def job_accepted_response(job: Job, user: Any) -> Response:
    """202 with the job, or 503 with a message when the job could not be handed to the task queue."""
    job.refresh_from_db()
    if job_enqueue_failed(job):
        body = {"detail": job.message, "job": job_output(job, user)}
        return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    return Response(job_output(job, user), status=status.HTTP_202_ACCEPTED)


class JobListApi(generics.ListAPIView):
    """Staff with view permission: list jobs. Staff who may add products: start a catalog import from a preset."""

    permission_classes = [CanViewJobs]
    serializer_class = JobOutput

    class JobStartInput(serializers.Serializer):
        preset = serializers.ChoiceField(choices=sorted(PRESETS))
        limit = serializers.IntegerField(required=False, min_value=1, max_value=IMPORT_LIMIT_MAX)
        strict = serializers.BooleanField(default=False)

    def get_queryset(self) -> QuerySet[Job]:
        return Job.objects.all()

    @extend_schema(request=JobStartInput, responses={202: JobOutput, 503: dict})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        permission, refusal = START_PERMISSIONS[Job.Kind.IMPORT]
        if not request.user.has_perm(permission):
            return Response({"detail": refusal}, status=status.HTTP_403_FORBIDDEN)
        params = self.JobStartInput(data=request.data)
        params.is_valid(raise_exception=True)
        data = {**params.validated_data, "data_dir": str(settings.SHOP_DATA_DIR)}
        return job_accepted_response(job_create(kind=Job.Kind.IMPORT, params=data, user=request.user), request.user)


class JobDetailApi(generics.RetrieveAPIView):
    permission_classes = [CanViewJobs]
    serializer_class = JobOutput
    queryset = Job.objects.all()


class JobCancelApi(APIView):
    """Staff: cancel a job. A queued job ends at once; a running one stops at its next progress report."""

    permission_classes = [IsAdminUser]

    @extend_schema(request=None, responses={202: JobOutput, 409: dict})
    def post(self, request: Request, pk: int) -> Response:
        job = get_object_or_404(Job, pk=pk)
        if not request.user.has_perm("recommend.change_job"):
            return Response({"detail": "You need permission to change jobs."}, status=status.HTTP_403_FORBIDDEN)
        try:
            job = job_cancel(job=job)
        except ValueError as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return Response(job_output(job, request.user), status=status.HTTP_202_ACCEPTED)
