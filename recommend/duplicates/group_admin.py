"""Admin views for duplicate GROUPS: listings that match each other side by side, merge a group, undo it.

A triple A~B~C is one group with one comparison (image, price, brand, category, attributes;
cells that differ highlighted) and one "Merge group" button, which asks for confirmation and
which listing to keep. The last merges can be undone from the message (the record of what
moved is kept in the staff user's session).
"""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from catalog.models import Product
from catalog.selectors import db_ids
from recommend.duplicates.selectors import duplicate_groups, product_comparison
from recommend.duplicates.services import duplicate_group_merge, duplicate_group_merge_undo

UNDO_SESSION_KEY = "duplicate_group_undo"
UNDO_KEPT = 5


class DuplicateGroupViews:
    """Mixed into the DuplicatePair admin: `groups/`, `groups/merge/`, `groups/undo/`."""

    admin_site: Any
    model: Any

    def group_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path("groups/", wrap(self.groups_view), name="recommend_duplicatepair_groups"),
            path("groups/merge/", wrap(self.group_merge_view), name="recommend_duplicatepair_group_merge"),
            path("groups/undo/", wrap(self.group_undo_view), name="recommend_duplicatepair_group_undo"),
        ]

    def _check(self, request: HttpRequest, action: str) -> None:
        if not request.user.has_perm(f"recommend.{action}_duplicatepair"):
            raise PermissionDenied

    def has_merge_permission(self, request: HttpRequest) -> bool:
        """A merge (or its undo) writes the catalog: it hides listings and moves their events."""
        return request.user.has_perm("recommend.change_duplicatepair") and request.user.has_perm(
            "catalog.change_product"
        )

    def _check_merge(self, request: HttpRequest) -> None:
        if not self.has_merge_permission(request):
            raise PermissionDenied

    def groups_view(self, request: HttpRequest) -> HttpResponse:
        from recommend.duplicates.admin import review_thresholds

        self._check(request, "view")
        threshold, high = review_thresholds()
        try:
            min_score = float(request.GET.get("min", high))
        except ValueError:
            min_score = high
        groups = duplicate_groups(min_score=min_score)
        for group in groups:
            group["rows"] = product_comparison(group["products"])
            group["ids"] = ",".join(str(p.pk) for p in group["products"])
        context = {
            **self.admin_site.each_context(request),
            "title": "Duplicate groups",
            "groups": groups,
            "min_score": min_score,
            "threshold": threshold,
            "high": high,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/recommend/duplicatepair/groups.html", context)

    def group_merge_view(self, request: HttpRequest) -> HttpResponse:
        self._check_merge(request)
        ids = db_ids(request.POST.get("ids") or request.GET.get("ids") or "")
        products = list(Product.objects.filter(pk__in=ids, merged_into__isnull=True).select_related("brand"))
        groups_url = reverse("admin:recommend_duplicatepair_groups")
        if len(products) < 2:
            self.message_user(request, "A group needs at least two listings that are not merged yet.", messages.ERROR)  # type: ignore[attr-defined]
            return HttpResponseRedirect(groups_url)
        if request.method == "POST" and request.POST.get("confirm") == "yes":
            keep = get_object_or_404(Product, pk=request.POST.get("keep"), pk__in=ids)
            record = duplicate_group_merge(products=products, keep=keep, user=request.user)
            stack = request.session.get(UNDO_SESSION_KEY, [])[-(UNDO_KEPT - 1) :]
            request.session[UNDO_SESSION_KEY] = [*stack, record]
            undo = reverse("admin:recommend_duplicatepair_group_undo")
            self.message_user(  # type: ignore[attr-defined]
                request,
                format_html(
                    '{} listings merged into “{}”; their pages redirect. <form method="post" action="{}" '
                    'style="display:inline"><input type="hidden" name="csrfmiddlewaretoken" value="{}">'
                    '<button type="submit" class="button">Undo</button></form>',
                    len(products) - 1,
                    keep.title,
                    undo,
                    get_token(request),
                ),
                messages.SUCCESS,
            )
            return HttpResponseRedirect(groups_url)
        context = {
            **self.admin_site.each_context(request),
            "title": "Merge this group?",
            "products": products,
            "rows": product_comparison(products),
            "ids": ",".join(str(p.pk) for p in products),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/recommend/duplicatepair/group_merge.html", context)

    def group_undo_view(self, request: HttpRequest) -> HttpResponse:
        self._check_merge(request)
        groups_url = reverse("admin:recommend_duplicatepair_groups")
        stack = request.session.get(UNDO_SESSION_KEY, [])
        if request.method != "POST" or not stack:
            self.message_user(request, "There is no group merge to undo.", messages.WARNING)  # type: ignore[attr-defined]
            return HttpResponseRedirect(groups_url)
        record = stack.pop()
        request.session[UNDO_SESSION_KEY] = stack
        restored = duplicate_group_merge_undo(record=record)
        self.message_user(request, f"Undone: {len(restored)} listings are back on their own.", messages.SUCCESS)  # type: ignore[attr-defined]
        return HttpResponseRedirect(groups_url)
