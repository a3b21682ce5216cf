"""URL map: storefront pages, admin, REST API v1 and its OpenAPI schema."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from catalog import urls as catalog_urls
from config.api_root import ApiRootApi
from config.health import favicon, healthz, readyz
from recommend import urls as recommend_urls
from taxonomy import urls as taxonomy_urls

api_v1 = catalog_urls.api_urlpatterns + taxonomy_urls.api_urlpatterns + recommend_urls.api_urlpatterns
api_v1 = [path("", ApiRootApi.as_view(patterns=api_v1), name="api-root"), *api_v1]

# A database error that escapes a middleware (not a view) is a 503 too; any other error is Django's 500 page.
handler500 = "config.middleware.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    # Browsers ask for /favicon.ico on every site whatever the page says: the shop's icon, not a 404.
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file, so the Content-Security-Policy needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("", include((catalog_urls.urlpatterns + recommend_urls.urlpatterns, "storefront"), namespace="storefront")),
]
