"""The admin pages of a taxonomy proposal: build form, review (two trees and the changes), apply, undo.

Building, editing, applying and undoing change the category tree, so they need the taxonomy's add and change
permissions on categories (undo deletes the categories the apply created: delete too). Others get 403.
"""

import functools
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from catalog.selectors import db_id
from recommend.hierarchy import services
from recommend.hierarchy.apply import undo_refusal
from recommend.hierarchy.models import ProposalChange, TaxonomyProposal
from recommend.hierarchy.selectors import change_rows, live_tree_rows, proposed_tree_rows
from taxonomy.models import Category

EDIT_PERMISSIONS = ("taxonomy.add_category", "taxonomy.change_category")
UNDO_PERMISSIONS = (*EDIT_PERMISSIONS, "taxonomy.delete_category")


def can_edit(request: HttpRequest) -> bool:
    return request.user.has_perms(EDIT_PERMISSIONS)


def require(request: HttpRequest, permissions: tuple[str, ...] = EDIT_PERMISSIONS) -> None:
    if not request.user.has_perms(permissions):
        raise PermissionDenied("You need the permissions to add and change categories to edit the taxonomy.")


class BuildProposalForm(forms.Form):
    scope = forms.ModelChoiceField(
        queryset=Category.objects.order_by("tree_id", "lft"),
        required=False,
        empty_label="The whole catalog",
        help_text="Rebuild only this category's subtree.",
    )
    depth = forms.IntegerField(min_value=1, max_value=services.MAX_DEPTH, initial=3, help_text="Levels of the tree.")


def review_url(proposal: TaxonomyProposal) -> str:
    return reverse("admin:recommend_taxonomyproposal_review", args=[proposal.pk])


def build_page(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    require(request)
    form = BuildProposalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        proposal = services.proposal_build_start(
            scope=form.cleaned_data["scope"], depth=form.cleaned_data["depth"], user=request.user
        )
        model_admin.message_user(
            request,
            f"Building {proposal} as job #{proposal.job_id} on the training queue; its progress shows in the list.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:recommend_taxonomyproposal_changelist"))
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Build taxonomy proposal",
        "form": form,
        "opts": model_admin.model._meta,
    }
    return render(request, "admin/hierarchy/build.html", context)


def review_page(model_admin: admin.ModelAdmin, request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = get_object_or_404(TaxonomyProposal.objects.select_related("scope", "job"), pk=proposal_id)
    if not model_admin.has_view_permission(request, proposal):
        raise PermissionDenied
    rows = change_rows(proposal)
    decisions = {row.change.decision for row in rows}
    context = {
        **model_admin.admin_site.each_context(request),
        "title": str(proposal),
        "proposal": proposal,
        "opts": model_admin.model._meta,
        "proposed": proposed_tree_rows(proposal),
        "live": live_tree_rows(proposal.scope),
        "changes": rows,
        "reviewable": proposal.status == TaxonomyProposal.Status.READY,
        "any_pending": ProposalChange.Decision.PENDING in decisions,
        "accepted": sum(1 for row in rows if row.change.decision == ProposalChange.Decision.ACCEPTED),
        "can_edit": can_edit(request),
        "undo_refusal": undo_refusal(proposal) if proposal.status == TaxonomyProposal.Status.APPLIED else "",
        "building": proposal.status == TaxonomyProposal.Status.BUILDING,
    }
    return render(request, "admin/hierarchy/review.html", context)


ProposalAction = Callable[[admin.ModelAdmin, HttpRequest, TaxonomyProposal], HttpResponse]


def proposal_action(permissions: tuple[str, ...] = EDIT_PERMISSIONS) -> Callable[[ProposalAction], Any]:
    """A POST-only admin view of one proposal: 405 for other methods, 403 without `permissions`, 404 if unknown."""

    def wrap(view: ProposalAction) -> Callable[[admin.ModelAdmin, HttpRequest, int], HttpResponse]:
        @functools.wraps(view)
        def checked(model_admin: admin.ModelAdmin, request: HttpRequest, proposal_id: int) -> HttpResponse:
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            require(request, permissions)
            return view(model_admin, request, get_object_or_404(TaxonomyProposal, pk=proposal_id))

        return checked

    return wrap


def _done(model_admin: admin.ModelAdmin, request: HttpRequest, proposal: TaxonomyProposal, action: Any) -> HttpResponse:
    """Run a service call; its ValueError becomes an admin error message and nothing changes."""
    try:
        text = action()
    except ValueError as error:
        model_admin.message_user(request, str(error), messages.ERROR)
    else:
        model_admin.message_user(request, text, messages.SUCCESS)
    return HttpResponseRedirect(review_url(proposal))


@proposal_action()
def decide_view(model_admin: admin.ModelAdmin, request: HttpRequest, proposal: TaxonomyProposal) -> HttpResponse:
    if request.POST.get("all") == "accept":
        return _done(
            model_admin,
            request,
            proposal,
            lambda: f"{services.changes_accept_all(proposal=proposal)} changes accepted.",
        )
    change = get_object_or_404(ProposalChange, pk=db_id(request.POST.get("change", "")) or 0, proposal=proposal)
    decision = request.POST.get("decision", "")

    def decide() -> str:
        services.change_decide(change=change, decision=decision)
        return f"{change.get_decision_display()}: {change.summary}"

    return _done(model_admin, request, proposal, decide)


@proposal_action()
def rename_view(model_admin: admin.ModelAdmin, request: HttpRequest, proposal: TaxonomyProposal) -> HttpResponse:
    key, name = request.POST.get("key", ""), request.POST.get("name", "")

    def rename() -> str:
        services.proposal_node_rename(proposal=proposal, key=key, name=name)
        return f"The proposed node is now called “{' '.join(name.split())}”."

    return _done(model_admin, request, proposal, rename)


def apply_view(model_admin: admin.ModelAdmin, request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = get_object_or_404(TaxonomyProposal.objects.select_related("scope"), pk=proposal_id)
    if request.method != "POST":  # the confirmation page
        if not can_edit(request):
            raise PermissionDenied
        accepted = proposal.changes.filter(decision=ProposalChange.Decision.ACCEPTED)
        context = {
            **model_admin.admin_site.each_context(request),
            "title": f"Apply {proposal}?",
            "proposal": proposal,
            "opts": model_admin.model._meta,
            "accepted": list(accepted),
            "moving": sum(change.product_count for change in accepted),
        }
        return render(request, "admin/hierarchy/apply_confirm.html", context)
    require(request)

    def apply() -> str:
        applied = services.proposal_apply(proposal=proposal, user=request.user)
        notes = " ".join(applied.snapshot.get("notes", []))
        return (
            f"Applied: {len(applied.snapshot['created'])} categories created, "
            f"{len(applied.snapshot['products'])} products moved. Undo puts everything back. {notes}"
        ).strip()

    return _done(model_admin, request, proposal, apply)


@proposal_action(UNDO_PERMISSIONS)
def undo_view(model_admin: admin.ModelAdmin, request: HttpRequest, proposal: TaxonomyProposal) -> HttpResponse:

    def undo() -> str:
        services.proposal_undo(proposal=proposal)
        return "Undone: the category tree and the moved products are as they were before the apply."

    return _done(model_admin, request, proposal, undo)


@proposal_action()
def dismiss_view(model_admin: admin.ModelAdmin, request: HttpRequest, proposal: TaxonomyProposal) -> HttpResponse:
    return _done(model_admin, request, proposal, lambda: f"{services.proposal_dismiss(proposal=proposal)}.")
