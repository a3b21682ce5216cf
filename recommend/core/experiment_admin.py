"""Back office for model experiments: start one, read the evidence per arm, stop it or promote the treatment."""

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from recommend.core.experiments import experiment_results, forget_running_experiments
from recommend.core.models import Experiment
from recommend.core.permissions import MODEL_CHANGE_PERMISSION
from recommend.core.registry import model_version_activate


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "control", "treatment", "treatment_percent", "is_running", "started_at"]
    list_filter = ["kind", "is_running"]
    readonly_fields = ["results"]
    actions = ["stop", "promote_treatment"]
    fields = ["name", "kind", "control", "treatment", "treatment_percent", "is_running", "results"]

    @admin.display(description="Evidence per arm")
    def results(self, experiment: Experiment) -> SafeString:
        if experiment.pk is None:
            return mark_safe("Shown once the experiment is saved and shoppers see it.")
        context = experiment_results(experiment)
        return mark_safe(render_to_string("admin/recommend/experiment/_results.html", context))

    def save_model(self, request: HttpRequest, obj: Experiment, form: Any, change: bool) -> None:
        if not obj.is_running and obj.ended_at is None:
            obj.ended_at = timezone.now()
        super().save_model(request, obj, form, change)
        transaction.on_commit(forget_running_experiments)

    def has_promote_permission(self, request: HttpRequest) -> bool:
        """Promoting activates the treatment's version: the experiment's and the model registry's change permission."""
        return self.has_change_permission(request) and request.user.has_perm(MODEL_CHANGE_PERMISSION)

    @admin.action(description="Stop the selected experiments", permissions=["change"])
    def stop(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        stopped = queryset.filter(is_running=True).update(is_running=False, ended_at=timezone.now())
        transaction.on_commit(forget_running_experiments)
        self.message_user(request, f"Stopped {stopped} experiment(s); every visitor now sees the active version.")

    @admin.action(description="Promote the treatment (activate arm B's version) and stop", permissions=["promote"])
    def promote_treatment(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        for experiment in queryset.select_related("treatment"):
            try:
                with transaction.atomic():
                    model_version_activate(version=experiment.treatment)
                    Experiment.objects.filter(pk=experiment.pk).update(is_running=False, ended_at=timezone.now())
            except ValueError as error:
                self.message_user(request, f"{experiment}: {error}", messages.ERROR)
                continue
            self.message_user(request, f"{experiment}: {experiment.treatment} is now active.", messages.SUCCESS)
        transaction.on_commit(forget_running_experiments)
