from django.urls import path

from recommend.apis import jobs as job_apis
from recommend.classification import urls as classification_urls
from recommend.search import urls as search_urls
from recommend.similarity import urls as similarity_urls

api_urlpatterns = [
    path("jobs/", job_apis.JobListApi.as_view(), name="job-list"),
    path("jobs/<int:pk>/", job_apis.JobDetailApi.as_view(), name="job-detail"),
    *similarity_urls.api_urlpatterns,
    *search_urls.api_urlpatterns,
    *classification_urls.api_urlpatterns,
]

# Storefront pages served by recommend (in the "storefront" namespace).
urlpatterns = [
    *search_urls.urlpatterns,
]
