from django.urls import path

from recommend.bought_together import urls as bought_together_urls
from recommend.classification import urls as classification_urls
from recommend.core import job_apis
from recommend.hierarchy import urls as hierarchy_urls
from recommend.search import urls as search_urls
from recommend.sequential import urls as sequential_urls
from recommend.similarity import urls as similarity_urls

api_urlpatterns = [
    path("jobs/", job_apis.JobListApi.as_view(), name="job-list"),
    path("jobs/<id:pk>/", job_apis.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<id:pk>/cancel/", job_apis.JobCancelApi.as_view(), name="job-cancel"),
    *similarity_urls.api_urlpatterns,
    *search_urls.api_urlpatterns,
    *classification_urls.api_urlpatterns,
    *bought_together_urls.api_urlpatterns,
    *sequential_urls.api_urlpatterns,
    *hierarchy_urls.api_urlpatterns,
]

# Storefront pages served by recommend (in the "storefront" namespace).
urlpatterns = [
    *search_urls.urlpatterns,
    *bought_together_urls.urlpatterns,
    *sequential_urls.urlpatterns,
]
