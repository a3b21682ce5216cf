"""The project's admin site: Django's, with category autocomplete answers that show the whole path.

A shop taxonomy repeats names ("Women", "Accessories" under many parents), so a bare name is
ambiguous in a search-as-you-type box; every other admin behaviour is Django's own.
"""

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.http import HttpRequest, HttpResponse


class PathAutocompleteJsonView(AutocompleteJsonView):
    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        # The model admin may load the paths of the whole page at once (one query, not one per answer).
        prefetch_paths = getattr(self.model_admin, "prefetch_paths", None)
        if prefetch_paths is not None:
            prefetch_paths(context["object_list"])
        return context

    def serialize_result(self, obj: Any, to_field_name: str) -> dict[str, Any]:
        result = super().serialize_result(obj, to_field_name)
        path_display = getattr(obj, "path_display", None)
        if isinstance(path_display, str):
            result["text"] = path_display
        return result


class ShopAdminSite(admin.AdminSite):
    site_header = "Shop back office"
    site_title = "Shop back office"

    def autocomplete_view(self, request: HttpRequest) -> HttpResponse:
        return PathAutocompleteJsonView.as_view(admin_site=self)(request)


class ShopAdminConfig(AdminConfig):
    default_site = "config.admin.ShopAdminSite"

    def ready(self) -> None:
        # The first installed app: `<id:pk>` exists before any URLconf is imported.
        from config.converters import register

        register()
        super().ready()  # autodiscovers every app's admin.py, axes' included
        from config.lockout_admin import guard_lockout_admin

        guard_lockout_admin(admin.site)
