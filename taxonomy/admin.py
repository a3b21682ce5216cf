"""Admin building blocks for the two trees.

The classes are registered in catalog/admin.py, which adds product counts per node: the taxonomy
app itself knows nothing of products.
"""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from mptt.admin import DraggableMPTTAdmin

from taxonomy.models import Category
from taxonomy.signals import taxonomy_changed


class TaxonomyTreeAdmin(DraggableMPTTAdmin):
    """Drag-and-drop tree admin that refuses moves which would clash with a sibling's slug."""

    mptt_level_indent = 18
    prepopulated_fields = {"slug": ("name",)}

    def _move_node(self, request: HttpRequest) -> HttpResponse:
        position = request.POST.get("position")
        queryset = self.get_queryset(request)
        try:
            cut_item = queryset.get(pk=request.POST.get("cut_item"))
            pasted_on = queryset.get(pk=request.POST.get("pasted_on"))
        except (self.model.DoesNotExist, TypeError, ValueError):
            return super()._move_node(request)
        new_parent = pasted_on if position == "last-child" else pasted_on.parent
        clash = self.model._default_manager.filter(parent=new_parent, slug=cut_item.slug).exclude(pk=cut_item.pk)
        if clash.exists():
            self.message_user(
                request,
                f"Cannot move “{cut_item}”: “{new_parent or 'the top level'}” already has a child with the slug "
                f"“{cut_item.slug}”. Rename one of them first.",
                level=messages.ERROR,
            )
            return HttpResponse("FAIL, slug clash.")
        response = super()._move_node(request)
        if response.content.startswith(b"OK"):
            taxonomy_changed.send(sender=self.model, reason="move", category_ids=[cut_item.pk])
        return response


class CategoryAdminBase(TaxonomyTreeAdmin):
    list_display = ["tree_actions", "indented_title", "slug", "is_active", "source"]
    list_display_links = ["indented_title"]
    list_filter = ["is_active", "source", "level"]
    search_fields = ["name", "slug"]
    fields = ["name", "slug", "parent", "description", "is_active", "source"]
    readonly_fields = ["source"]
    list_per_page = 200

    def save_model(self, request: HttpRequest, obj: Category, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        taxonomy_changed.send(sender=Category, reason="edit" if change else "create", category_ids=[obj.pk])

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> tuple[Any, bool]:
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if request.path.endswith("/autocomplete/"):  # products can only be put in live categories
            queryset = queryset.filter(is_active=True)
        return queryset, may_have_duplicates


class AttributeNodeAdminBase(TaxonomyTreeAdmin):
    list_display = ["tree_actions", "indented_title", "kind", "data_type", "unit"]
    list_display_links = ["indented_title"]
    list_filter = ["kind", "data_type"]
    search_fields = ["name"]
    filter_horizontal = ["categories"]
    fields = ["kind", "name", "slug", "parent", "data_type", "unit", "categories"]
    list_per_page = 200
