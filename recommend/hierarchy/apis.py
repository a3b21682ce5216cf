"""REST endpoints of taxonomy proposals: list, one proposal with its tree and changes, and start a build.

Only staff who may add and change categories see or start proposals (403 for others): a proposal lists every
product it would move.
"""

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from recommend.core.job_apis import JobOutput
from recommend.core.jobs import job_enqueue_failed
from recommend.hierarchy.models import TaxonomyProposal
from recommend.hierarchy.selectors import proposal_detail, proposals_list
from recommend.hierarchy.services import MAX_DEPTH, proposal_build_start
from taxonomy.models import Category

PERMISSIONS = ("taxonomy.add_category", "taxonomy.change_category")


class TaxonomyEditor(BasePermission):
    message = "Only staff who may add and change categories can see or build taxonomy proposals."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff and user.has_perms(PERMISSIONS))


class ProposalOutput(serializers.ModelSerializer):
    change_count = serializers.IntegerField()
    accepted_count = serializers.IntegerField()

    class Meta:
        model = TaxonomyProposal
        fields = [
            "id",
            "status",
            "scope",
            "depth",
            "method",
            "origin",
            "reason",
            "job",
            "stats",
            "change_count",
            "accepted_count",
            "created_at",
            "applied_at",
        ]


class ProposalListApi(generics.ListAPIView):
    """Staff: the proposals, newest first; POST starts a build (202 with the proposal and its job)."""

    permission_classes = [TaxonomyEditor]
    serializer_class = ProposalOutput

    class InputSerializer(serializers.Serializer):
        scope = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all(), required=False, allow_null=True)
        depth = serializers.IntegerField(min_value=1, max_value=MAX_DEPTH, default=3)

    def get_queryset(self) -> QuerySet[TaxonomyProposal]:
        return proposals_list()

    @extend_schema(request=InputSerializer, responses={202: dict, 503: dict})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        proposal = proposal_build_start(
            scope=params.validated_data.get("scope"), depth=params.validated_data["depth"], user=request.user
        )
        job = proposal.job
        assert job is not None  # proposal_build_start always makes one
        job.refresh_from_db()  # the enqueue may have failed it
        body = {"proposal": proposal.pk, "job": JobOutput(job).data}
        if job_enqueue_failed(job):
            return Response({"detail": job.message, **body}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response(body, status=status.HTTP_202_ACCEPTED)


class ProposalDetailApi(APIView):
    """Staff: one proposal with its proposed tree, its changes (the diff) and its attribute tree."""

    permission_classes = [TaxonomyEditor]

    @extend_schema(responses={200: dict})
    def get(self, request: Request, pk: int) -> Response:
        proposal = get_object_or_404(TaxonomyProposal, pk=pk)
        return Response(proposal_detail(proposal))
