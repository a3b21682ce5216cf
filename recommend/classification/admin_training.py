"""The admin's "Train classifier" page: defaults that fit a time budget, an estimate before start, live progress
with an ETA, and Cancel. Wired into the review queue admin's URLs (`ReviewQueueAdmin.get_urls`)."""

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from recommend.classification.evaluation import is_heldout, labelled_rows
from recommend.classification.forms import TrainClassifierForm
from recommend.classification.services import train_classifier_start
from recommend.classification.training_plan import DEFAULT_BUDGET_SECONDS, limit_for_budget, training_estimate
from recommend.core.jobs import job_cancel
from recommend.core.permissions import MODEL_CHANGE_PERMISSION
from recommend.models import Job

TRAIN_PERMISSION = MODEL_CHANGE_PERMISSION
ACTIVE = (Job.Status.QUEUED, Job.Status.RUNNING)


def trainable_products() -> int:
    """Labelled products outside the fixed held-out set: what a training without a limit learns from."""
    return sum(1 for _, _, title in labelled_rows() if not is_heldout(title))


def form_defaults(available: int) -> dict[str, Any]:
    """The form's initial values: the largest label-balanced sample that trains within the time budget."""
    limit = limit_for_budget(available=available)
    return {"limit": limit} if limit else {}


def train_page(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(TRAIN_PERMISSION):
        model_admin.message_user(request, "You need permission to change model versions to train one.", messages.ERROR)
        return HttpResponseRedirect(reverse("admin:recommend_modelversion_changelist"))
    available = trainable_products()
    defaults = form_defaults(available)
    form = TrainClassifierForm(request.POST or None, initial=defaults)
    if request.method == "POST" and form.is_valid():
        params = {key: value for key, value in form.cleaned_data.items() if value not in (None, "", False)}
        estimate = training_estimate(available=available, limit=params.get("limit"), epochs=params.get("epochs"))
        job = train_classifier_start(user=request.user, **params)
        model_admin.message_user(
            request,
            f"Training job #{job.pk} queued: {estimate.text()}. Progress, the time left and Cancel show below.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:recommend_train_classifier"))
    jobs = list(Job.objects.filter(kind=Job.Kind.TRAIN_CLASSIFIER, status__in=ACTIVE).order_by("created_at"))
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Train the classifier",
        "form": form,
        "opts": model_admin.model._meta,
        "default_estimate": training_estimate(available=available, limit=defaults.get("limit")).text(),
        "full_estimate": training_estimate(available=available).text(),
        "budget_minutes": round(DEFAULT_BUDGET_SECONDS / 60),
        "jobs": [(job, round(job.progress * 100)) for job in jobs],
        "can_cancel": request.user.has_perm("recommend.change_job") or request.user.has_perm(TRAIN_PERMISSION),
    }
    return render(request, "admin/recommend/train_classifier.html", context)


def cancel_training(model_admin: admin.ModelAdmin, request: HttpRequest, job_id: int) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    job = get_object_or_404(Job, pk=job_id, kind=Job.Kind.TRAIN_CLASSIFIER)
    allowed = request.user.has_perm("recommend.change_job") or request.user.has_perm(TRAIN_PERMISSION)
    if not allowed:
        model_admin.message_user(request, "You need permission to change jobs to cancel one.", messages.ERROR)
    elif job.status not in ACTIVE:
        model_admin.message_user(request, f"{job} has already ended.", messages.WARNING)
    else:
        job = job_cancel(job=job)
        done = "cancelled" if job.status == Job.Status.CANCELLED else "stops at its next progress report"
        model_admin.message_user(request, f"Training job #{job.pk}: {done}.", messages.SUCCESS)
    return HttpResponseRedirect(reverse("admin:recommend_train_classifier"))
