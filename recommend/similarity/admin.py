"""Admin: the similar-items lists of each version (read-only)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from recommend.models import SimilarItem


@admin.register(SimilarItem)
class SimilarItemAdmin(admin.ModelAdmin):
    list_display = ["product", "strategy", "rank", "neighbor", "score", "signal", "model_version"]
    list_filter = ["strategy", "signal", "model_version"]
    search_fields = ["product__title", "product__sku"]
    raw_id_fields = ["product", "neighbor"]
    list_select_related = ["product", "neighbor", "model_version"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
