from django.urls import path

from taxonomy import apis

api_urlpatterns = [
    path("categories/", apis.CategoryTreeApi.as_view(), name="category-tree"),
    path("categories/<id:pk>/", apis.CategoryDetailApi.as_view(), name="category-detail"),
    path("attributes/", apis.AttributeTreeApi.as_view(), name="attribute-tree"),
]
