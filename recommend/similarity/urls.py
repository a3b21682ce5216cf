"""Similar-items routes."""

from django.urls import re_path

from recommend.similarity.apis import SimilarItemsApi

api_urlpatterns = [
    # The spelling has no trailing slash; both forms are served without a redirect.
    re_path(r"^products/(?P<pk>[0-9]{1,18})/similar/?$", SimilarItemsApi.as_view(), name="product-similar"),
]
