"""Classification routes."""

from django.urls import re_path

from recommend.classification.apis import ClassifyApi

api_urlpatterns = [
    re_path(r"^classify/?$", ClassifyApi.as_view(), name="classify"),
]
