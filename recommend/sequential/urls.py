"""Recommendation routes: API (under /api/v1/) and storefront pages."""

from django.urls import path, re_path

from recommend.sequential import apis, privacy_apis, views

api_urlpatterns = [
    re_path(r"^recommendations/?$", apis.RecommendationsApi.as_view(), name="recommendations"),
    path("recommendations/not-interested/", apis.NotInterestedApi.as_view(), name="recommendations-not-interested"),
    path("recommendations/<id:pk>/why/", apis.RecommendationWhyApi.as_view(), name="recommendations-why"),
    path("me/data/", privacy_apis.MyDataApi.as_view(), name="my-data"),
    path("me/personalisation/", privacy_apis.PersonalisationApi.as_view(), name="my-personalisation"),
]

urlpatterns = [
    path("recommendations/why/<id:pk>/", views.why_page, name="recommendation-why"),
    path("recommendations/not-interested/", views.not_interested, name="recommendation-not-interested"),
]
