from django.urls import path, re_path

from recommend import views
from recommend.apis import classification as classification_apis
from recommend.apis import similarity as similarity_apis
from recommend.core import job_apis

api_urlpatterns = [
    path("jobs/", job_apis.JobListApi.as_view(), name="job-list"),
    path("jobs/<int:pk>/", job_apis.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<int:pk>/cancel/", job_apis.JobCancelApi.as_view(), name="job-cancel"),
    # The spelling has no trailing slash; both forms are served without a redirect.
    re_path(r"^products/(?P<pk>[0-9]+)/similar/?$", similarity_apis.SimilarItemsApi.as_view(), name="product-similar"),
    re_path(r"^search/?$", similarity_apis.SearchApi.as_view(), name="search"),
    re_path(r"^classify/?$", classification_apis.ClassifyApi.as_view(), name="classify"),
]

# Storefront pages served by recommend (in the "storefront" namespace).
urlpatterns = [
    path("search/", views.search_page, name="search"),
]
