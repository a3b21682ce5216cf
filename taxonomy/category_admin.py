"""The category tree admin: one level at a time, search with paths, "Move to…", and undo.

A real taxonomy has thousands of nodes, so the changelist shows the children of one node (the
roots by default) instead of the whole tree paged in tree order, which repeated the same roots
on every page. Searching looks through the whole tree and shows each hit with its path. Every
move and rename (drag and drop, the "Move to…" action, the edit form) is recorded as a
`CategoryEdit`, and the success message carries an Undo link. Registered in catalog/admin.py,
which adds product counts and merges (they touch products).
"""

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AutocompleteSelect
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html

from taxonomy.models import Category, CategoryEdit
from taxonomy.selectors import category_ancestries
from taxonomy.services import category_edit_record, category_edit_undo, category_move
from taxonomy.signals import taxonomy_changed

# Query parameters that mean "the staff member narrowed the list": then every level is searched.
NARROWING = {"q", "is_active__exact", "source__exact", "level__exact", "level"}


class TreeLevelFilter(admin.SimpleListFilter):
    """Which node's children to show; the top level by default, the whole tree while searching."""

    title = "place in the tree"
    parameter_name = "parent"

    def node(self) -> Category | None:
        value = self.value()
        return Category.objects.filter(pk=value).first() if value and value.isdigit() else None

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        node = self.node()
        path_choices = [(str(c.pk), "› " * c.level + c.name) for c in node.ancestry] if node else []
        return [("all", "Whole tree"), *path_choices]

    def choices(self, changelist: Any) -> Iterable[dict[str, Any]]:
        for choice in super().choices(changelist):
            if choice["display"] == "All":
                choice["display"] = "Top level"
            yield choice

    def queryset(self, request: HttpRequest, queryset: QuerySet[Category]) -> QuerySet[Category]:
        value = self.value()
        # Actions post the selected ids: they may come from a search or another level.
        if value == "all" or request.method == "POST" or NARROWING & set(request.GET):
            return queryset
        if value and value.isdigit():
            return queryset.filter(parent_id=int(value))
        return queryset.filter(parent__isnull=True)


class PathChangeList(ChangeList):
    """Loads the paths of a whole page of categories in one query (search hits show where they are)."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        category_ancestries(categories=self.result_list)


class CategoryTargetForm(forms.Form):
    """Where selected categories go: a parent found by search-as-you-type (the tree has thousands of nodes)."""

    target = forms.ModelChoiceField(
        queryset=Category.objects.all(),
        required=False,
        widget=AutocompleteSelect(Category._meta.get_field("parent"), admin.site),
        help_text="Type part of its name; answers show the whole path.",
    )
    top_level = forms.BooleanField(required=False, label="Make them top-level categories instead")

    def __init__(self, *args: Any, allow_top_level: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not allow_top_level:
            del self.fields["top_level"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("target") and not data.get("top_level"):
            raise forms.ValidationError("Choose a category.")
        return data


class CategoryTreeAdminMixin(admin.ModelAdmin):
    """Mixed in before the draggable tree admin (taxonomy/admin.py `CategoryAdminBase`) for categories."""

    list_display = ["tree_actions", "indented_title", "path_column", "open_children", "slug", "is_active", "source"]
    list_display_links = ["indented_title"]
    list_filter = [TreeLevelFilter, "is_active", "source", "level"]
    search_fields = ["name", "slug"]
    fields = ["name", "slug", "parent", "description", "is_active", "source"]
    readonly_fields = ["source"]
    autocomplete_fields = ["parent"]  # not a 6,000-option select
    actions = ["move_to"]
    list_per_page = 100

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return PathChangeList

    @admin.display(description="Path")
    def path_column(self, category: Category) -> str:
        return " › ".join(node.name for node in category.ancestry[:-1]) or "—"

    @admin.display(description="Subcategories")
    def open_children(self, category: Category) -> str:
        below = (category.rght - category.lft - 1) // 2  # descendants, from the MPTT bounds (no query)
        if not below:
            return "—"
        return format_html('<a href="?parent={}">{} below ›</a>', category.pk, below)

    def prefetch_paths(self, categories: Iterable[Category]) -> None:
        category_ancestries(categories=categories)

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> tuple[Any, bool]:
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if request.path.endswith("/autocomplete/"):  # products can only be put in live categories
            queryset = queryset.filter(is_active=True)
        return queryset, may_have_duplicates

    # --- recorded edits and undo ---------------------------------------------------------------

    def undo_link(self, edit: CategoryEdit) -> str:
        url = reverse("admin:taxonomy_category_undo", args=[edit.pk])
        return format_html('{}. <a href="{}">Undo</a>', edit.summary, url)

    def report_edit(self, request: HttpRequest, edit: CategoryEdit) -> None:
        self.message_user(request, self.undo_link(edit), messages.SUCCESS)

    def record(self, request: HttpRequest, category: Category, **edit: Any) -> None:
        self.report_edit(request, category_edit_record(category=category, user=request.user, **edit))

    def move_node(self, request: HttpRequest, *, node: Any, target: Any, position: str) -> None:
        self.report_edit(request, category_move(category=node, target=target, position=position, user=request.user))

    def save_model(self, request: HttpRequest, obj: Category, form: Any, change: bool) -> None:
        before = {key: form.initial.get(key) for key in ("name", "slug", "parent")}
        position = {"parent_id": before["parent"], "left_sibling_id": None}
        if change and "parent" in form.changed_data:
            old = Category.objects.get(pk=obj.pk)
            left = old.get_previous_sibling()
            position["left_sibling_id"] = left.pk if left else None
        super().save_model(request, obj, form, change)
        taxonomy_changed.send(sender=Category, reason="edit" if change else "create", category_ids=[obj.pk])
        if not change:
            return
        if "parent" in form.changed_data:
            where = obj.parent.path_display if obj.parent_id else "the top level"
            summary = f"Moved “{obj.name}” to “{where}”"
            edit = category_edit_record(
                category=obj, kind="move", summary=summary, previous=position, user=request.user
            )
            self.report_edit(request, edit)
        if {"name", "slug"} & set(form.changed_data):
            summary = f"Renamed “{before['name']}” to “{obj.name}”"
            previous = {"name": before["name"], "slug": before["slug"]}
            edit = category_edit_record(
                category=obj, kind="rename", summary=summary, previous=previous, user=request.user
            )
            self.report_edit(request, edit)

    def undo_edit(self, edit: CategoryEdit) -> None:
        """Subclasses that record other kinds of edits (merges) undo those here."""
        category_edit_undo(edit=edit)

    def get_urls(self) -> list[Any]:
        undo = self.admin_site.admin_view(self.undo_view)
        return [path("undo/<id:edit_id>/", undo, name="taxonomy_category_undo"), *super().get_urls()]

    def undo_view(self, request: HttpRequest, edit_id: int) -> HttpResponse:
        """GET asks to confirm (a link must not change data), POST undoes the edit."""
        edit = get_object_or_404(CategoryEdit, pk=edit_id)
        if not self.has_change_permission(request, edit.category):
            return HttpResponse("You may not change categories.", status=403)
        changelist = reverse("admin:taxonomy_category_changelist")
        if request.method == "POST":
            try:
                self.undo_edit(edit)
            except ValueError as error:
                self.message_user(request, f"Cannot undo “{edit.summary}”: {error}", messages.ERROR)
            else:
                self.message_user(request, f"Undone: {edit.summary}.", messages.SUCCESS)
            return HttpResponseRedirect(changelist)
        context = {**self.admin_site.each_context(request), "title": "Undo a change", "edit": edit, "opts": self.opts}
        return render(request, "admin/taxonomy/undo_edit.html", context)

    # --- actions -------------------------------------------------------------------------------

    def target_step(
        self, request: HttpRequest, queryset: QuerySet[Category], *, action: str, verb: str, allow_top_level: bool
    ) -> tuple[CategoryTargetForm, HttpResponse | None]:
        """The intermediate page of an action that needs a target category; (form, page or None when valid)."""
        form = CategoryTargetForm(request.POST if "apply" in request.POST else None, allow_top_level=allow_top_level)
        if "apply" in request.POST and form.is_valid():
            return form, None
        context = {
            **self.admin_site.each_context(request),
            "title": f"{verb} categories",
            "verb": verb,
            "action": action,
            "form": form,
            "categories": category_ancestries(categories=list(queryset[:50])),
            "count": queryset.count(),
            "selected_ids": queryset.values_list("pk", flat=True),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "opts": self.opts,
        }
        return form, render(request, "admin/taxonomy/category_action.html", context)

    @admin.action(description="Move selected categories to…", permissions=["change"])
    def move_to(self, request: HttpRequest, queryset: QuerySet[Category]) -> HttpResponse | None:
        form, page = self.target_step(request, queryset, action="move_to", verb="Move", allow_top_level=True)
        if page is not None:
            return page
        target = None if form.cleaned_data.get("top_level") else form.cleaned_data["target"]
        for category in queryset.order_by("tree_id", "lft"):
            try:
                self.move_node(request, node=category, target=target, position="last-child")
            except ValueError as error:
                self.message_user(request, f"“{category}” was not moved: {error}", messages.ERROR)
        return None
