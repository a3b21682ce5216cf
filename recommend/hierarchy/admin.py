"""Admin of taxonomy proposals: the list (with "Build taxonomy proposal" and live build progress) and the
review pages wired in get_urls (recommend.hierarchy.admin_views)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path
from django.utils.html import format_html

from recommend.hierarchy import admin_views
from recommend.hierarchy.models import TaxonomyProposal
from recommend.hierarchy.selectors import proposals_list


@admin.register(TaxonomyProposal)
class TaxonomyProposalAdmin(admin.ModelAdmin):
    list_display = ["review_link", "scope_name", "status", "origin", "reason", "progress", "changes", "created_at"]
    list_filter = ["status", "origin"]
    change_list_template = "admin/hierarchy/change_list.html"

    def get_queryset(self, request: HttpRequest) -> Any:
        return proposals_list()

    @admin.display(description="proposal")
    def review_link(self, proposal: TaxonomyProposal) -> str:
        return format_html('<a href="{}">#{} review</a>', admin_views.review_url(proposal), proposal.pk)

    @admin.display(description="scope")
    def scope_name(self, proposal: TaxonomyProposal) -> str:
        return proposal.scope.path_display if proposal.scope else "Whole catalog"

    @admin.display(description="build")
    def progress(self, proposal: TaxonomyProposal) -> str:
        job = proposal.job
        if job is None:
            return "-"
        if proposal.status == TaxonomyProposal.Status.BUILDING:
            percent = round(job.progress * 100)
            return format_html(
                '<progress value="{}" max="100"></progress> {}% {}', percent, percent, job.message or job.status
            )
        return format_html("job #{} {}", job.pk, job.status)

    @admin.display(description="changes")
    def changes(self, proposal: TaxonomyProposal) -> str:
        # Annotated by proposals_list().
        return f"{getattr(proposal, 'accepted_count', 0)} of {getattr(proposal, 'change_count', 0)} accepted"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # proposals are built, not typed in

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # edited on the review page, with the taxonomy's permissions

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        building = TaxonomyProposal.objects.filter(status=TaxonomyProposal.Status.BUILDING).exists()
        context = {**(extra_context or {}), "building": building, "can_build": admin_views.can_edit(request)}
        return super().changelist_view(request, extra_context=context)

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponseRedirect(admin_views.review_url(TaxonomyProposal(pk=int(object_id))))

    def get_urls(self) -> list:
        def view(function: Any, name: str, route: str) -> Any:
            wrapped = self.admin_site.admin_view(lambda request, *a, **k: function(self, request, *a, **k))
            return path(route, wrapped, name=f"recommend_taxonomyproposal_{name}")

        return [
            view(admin_views.build_page, "build", "build/"),
            view(admin_views.review_page, "review", "<id:proposal_id>/review/"),
            view(admin_views.decide_view, "decide", "<id:proposal_id>/decide/"),
            view(admin_views.rename_view, "rename", "<id:proposal_id>/rename/"),
            view(admin_views.apply_view, "apply", "<id:proposal_id>/apply/"),
            view(admin_views.undo_view, "undo", "<id:proposal_id>/undo/"),
            view(admin_views.dismiss_view, "dismiss", "<id:proposal_id>/dismiss/"),
            *super().get_urls(),
        ]
