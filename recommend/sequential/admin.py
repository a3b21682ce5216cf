"""Back office of recommendations: shoppers' "not interested" feedback and the "Train recommender" form."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse

from recommend.core.jobs import job_create
from recommend.core.permissions import MODEL_CHANGE_PERMISSION
from recommend.models import Job
from recommend.sequential.models import RecommendationFeedback


class TrainRecommenderForm(forms.Form):
    demo = forms.BooleanField(required=False, help_text="A short run (about a minute) for a first look.")
    force = forms.BooleanField(
        required=False, help_text="Activate even if not better than its baseline or the active one."
    )
    epochs = forms.IntegerField(required=False, min_value=1, max_value=1000)


def train_recommender_start(*, user: Any, demo: bool = False, force: bool = False, epochs: int | None = None) -> Job:
    params: dict[str, Any] = {"demo": demo, "force": force, "reason": "started in the admin"}
    if epochs:
        params["epochs"] = epochs
    return job_create(kind=Job.Kind.TRAIN_RECOMMENDER, params=params, user=user)


@admin.register(RecommendationFeedback)
class RecommendationFeedbackAdmin(admin.ModelAdmin):
    list_display = ["visitor_id", "product", "kind", "created_at"]
    list_filter = ["kind"]
    search_fields = ["visitor_id", "product__title", "product__sku"]
    raw_id_fields = ["product", "user"]
    list_select_related = ["product"]
    actions = ["train_with_feedback"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_train_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(MODEL_CHANGE_PERMISSION)

    def get_urls(self) -> list:
        own = [path("train/", self.admin_site.admin_view(self.train_view), name="recommend_train_recommender")]
        return own + super().get_urls()

    @admin.action(description="Train the recommender (uses all feedback)", permissions=["train"])
    def train_with_feedback(self, request: HttpRequest, queryset: QuerySet[RecommendationFeedback]) -> None:
        job = train_recommender_start(user=request.user)
        self.message_user(request, f"Training job #{job.pk} queued.", messages.SUCCESS)

    def train_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_train_permission(request):
            self.message_user(request, "You need permission to change model versions to train one.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:recommend_modelversion_changelist"))
        form = TrainRecommenderForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            job = train_recommender_start(user=request.user, **form.cleaned_data)
            self.message_user(request, f"Training job #{job.pk} queued; progress shows below.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:recommend_job_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Train the recommender",
            "form": form,
            "opts": self.model._meta,
        }
        return render(request, "admin/recommend/train_recommender.html", context)
