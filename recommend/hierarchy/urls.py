"""Taxonomy proposal routes (API only; the review pages are in the admin)."""

from django.urls import path

from recommend.hierarchy.apis import ProposalDetailApi, ProposalListApi

api_urlpatterns = [
    path("taxonomy/proposals/", ProposalListApi.as_view(), name="taxonomy-proposal-list"),
    path("taxonomy/proposals/<id:pk>/", ProposalDetailApi.as_view(), name="taxonomy-proposal-detail"),
]
