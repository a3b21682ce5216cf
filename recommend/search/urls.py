"""Search routes: the API endpoint and the storefront results page."""

from django.urls import path, re_path

from recommend.search.apis import SearchApi
from recommend.search.views import search_page

api_urlpatterns = [
    re_path(r"^search/?$", SearchApi.as_view(), name="search"),
]

urlpatterns = [
    path("search/", search_page, name="search"),
]
