from django.urls import path

from catalog import apis, views

api_urlpatterns = [
    path("products/", apis.ProductListApi.as_view(), name="product-list"),
    path("products/<id:pk>/", apis.ProductDetailApi.as_view(), name="product-detail"),
    path("brands/", apis.BrandListApi.as_view(), name="brand-list"),
    path("interactions/", apis.InteractionIngestApi.as_view(), name="interaction-ingest"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("c/<id:pk>/<str:slug>/", views.category_page, name="category"),
    path("p/<id:pk>/", views.product_page, name="product"),
]
