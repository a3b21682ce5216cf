"""Bought-together routes: the two API endpoints and the cart pages."""

from django.urls import path, re_path

from recommend.bought_together import views
from recommend.bought_together.apis import BasketCompleteApi, ProductBoughtTogetherApi

api_urlpatterns = [
    # The spelling has no trailing slash; both forms are served without a redirect.
    re_path(
        r"^products/(?P<pk>[0-9]{1,18})/bought-together/?$",
        ProductBoughtTogetherApi.as_view(),
        name="product-bought-together",
    ),
    re_path(r"^basket/complete/?$", BasketCompleteApi.as_view(), name="basket-complete"),
]

urlpatterns = [
    path("cart/", views.cart_page, name="cart"),
    path("cart/add/", views.cart_add_view, name="cart-add"),
    path("cart/remove/", views.cart_remove_view, name="cart-remove"),
]
