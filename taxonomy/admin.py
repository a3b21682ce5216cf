"""Admin building blocks for the two trees.

The classes are registered in catalog/admin.py, which adds product counts per node: the taxonomy
app itself knows nothing of products.
"""

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from mptt.admin import DraggableMPTTAdmin

from taxonomy.category_admin import CategoryTreeAdminMixin
from taxonomy.services import tree_node_move


class TaxonomyTreeAdmin(DraggableMPTTAdmin):
    """Drag-and-drop tree admin whose moves go through `taxonomy.services.tree_node_move`."""

    mptt_level_indent = 18
    prepopulated_fields = {"slug": ("name",)}

    @transaction.atomic
    def _move_node(self, request: HttpRequest) -> HttpResponse:
        # The answer strings are the ones mptt's draggable-admin.js expects ("OK..." / "FAIL...").
        queryset = self.get_queryset(request)
        try:
            cut_item = queryset.get(pk=request.POST.get("cut_item"))
            pasted_on = queryset.get(pk=request.POST.get("pasted_on"))
        except (self.model.DoesNotExist, TypeError, ValueError):
            self.message_user(request, "Objects have disappeared, try again.", level=messages.ERROR)
            return HttpResponse("FAIL, invalid objects.")
        if not self.has_change_permission(request, cut_item):
            self.message_user(request, "No permission", level=messages.ERROR)
            return HttpResponse("FAIL, no permission.")
        before = self.get_data_before_update(request, cut_item, pasted_on)
        try:
            self.move_node(request, node=cut_item, target=pasted_on, position=request.POST.get("position", ""))
        except ValueError as error:
            self.message_user(request, str(error), level=messages.ERROR)
            return HttpResponse("FAIL, invalid move.")
        self.log_change(request, cut_item, self.get_move_node_change_message(request, cut_item, pasted_on, before))
        self.message_user(request, f"{cut_item} has been successfully moved.")
        return HttpResponse("OK, moved.")

    def move_node(self, request: HttpRequest, *, node: Any, target: Any, position: str) -> None:
        tree_node_move(node=node, target=target, position=position)


class CategoryAdminBase(CategoryTreeAdminMixin, TaxonomyTreeAdmin):
    """Category tree admin (one level at a time, search with paths, Move to…, undo): see category_admin."""


class AttributeNodeAdminBase(TaxonomyTreeAdmin):
    list_display = ["tree_actions", "indented_title", "kind", "data_type", "unit"]
    list_display_links = ["indented_title"]
    list_filter = ["kind", "data_type"]
    search_fields = ["name"]
    filter_horizontal = ["categories"]
    fields = ["kind", "name", "slug", "parent", "data_type", "unit", "categories"]
    list_per_page = 200
