"""Back office for the model registry: read-only version pages, side-by-side metrics, Activate and Roll back.

Versions are written only by training code; staff read them and choose which one serves. Activation and
rollback go through `recommend.core.registry` (one transaction each) and are logged as admin LogEntries.
"""

import json
from dataclasses import dataclass
from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse

from catalog.selectors import db_ids
from recommend.core.evaluation import (
    EVALUATION_KEY,
    NOT_ACTIVATED_KEY,
    beats_baseline,
    evaluation_chart,
    evaluation_sentence,
)
from recommend.core.permissions import MODEL_CHANGE_PERMISSION
from recommend.core.registry import model_version_activate, model_version_rollback
from recommend.models import ModelVersion

# The metric that best sums a version up, per kind; other kinds fall back to the first key that looks like one.
HEADLINE_METRICS: dict[str, str] = {
    "classifier": "heldout.path_accuracy",
}
HEADLINE_HINTS = ("path_accuracy", "hit_at_10", "ndcg_at_10", "f1", "accuracy")
# Metrics measured on the candidate's fixed evaluation set for the version that was active at training time.
COMPARED_PREFIX = "compared_with."
COMPARE_LIMIT = 12
ACTIVATE_PERMISSION = MODEL_CHANGE_PERMISSION


def metric_display(value: Any) -> str:
    """A metric as staff read it: 4 decimals for fractions, separators for counts, yes/no for flags."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)[:200]
    return str(value) if value not in (None, "") else "—"


def headline_key(version: ModelVersion) -> str | None:
    preferred = HEADLINE_METRICS.get(version.kind)
    if preferred and preferred in version.metrics:
        return preferred
    for hint in HEADLINE_HINTS:
        for key in sorted(version.metrics):
            if key.endswith(hint) and not key.startswith(COMPARED_PREFIX):
                return key
    return None


def evaluation_label(version: ModelVersion) -> str:
    """Which fixed evaluation set the metrics come from (training code stores it in params["evaluation"])."""
    evaluation = version.params.get("evaluation") or {}
    if not evaluation:
        return "—"
    fingerprint = str(evaluation.get("fingerprint", ""))[:10]
    size = evaluation.get("size")
    return f"{fingerprint} ({size:,} items)" if isinstance(size, int) else fingerprint or "—"


@dataclass(frozen=True)
class MetricRow:
    key: str
    values: list[str]
    differs: bool


def metric_rows(versions: list[ModelVersion]) -> list[MetricRow]:
    """One row per metric key over `versions` (own metrics; `compared_with.*` stay on each version's page)."""
    shown_apart = (COMPARED_PREFIX, EVALUATION_KEY, NOT_ACTIVATED_KEY)  # each has its own block on the page
    keys = sorted({key for v in versions for key in v.metrics if not key.startswith(shown_apart)})
    rows = []
    for key in keys:
        values = [metric_display(v.metrics[key]) if key in v.metrics else "—" for v in versions]
        rows.append(MetricRow(key=key, values=values, differs=len(set(values)) > 1))
    return rows


def comparison_rows(version: ModelVersion) -> list[tuple[str, str, str]]:
    """(metric, this version, the then-active version) for metrics both were scored on, on the same set."""
    rows = []
    for key in sorted(version.metrics):
        if not key.startswith(COMPARED_PREFIX) or key == f"{COMPARED_PREFIX}version":
            continue
        name = key.removeprefix(COMPARED_PREFIX)
        own = next((version.metrics[k] for k in (name, f"heldout.{name}") if k in version.metrics), None)
        rows.append((name, metric_display(own), metric_display(version.metrics[key])))
    return rows


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["kind", "version", "status", "headline_metric", "evaluation_set", "created_at", "activated_at"]
    list_filter = ["kind", "status"]
    actions = ["compare_selected"]
    change_form_template = "admin/recommend/modelversion/change_form.html"
    change_list_template = "admin/recommend/modelversion/change_list.html"
    fields = ("kind", "version", "status", "created_at", "activated_at", "evaluation_set", "artifact_path", "job")
    readonly_fields = fields

    # Training code writes versions; staff only read them and pick the one that serves.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and obj.status != ModelVersion.Status.ACTIVE and super().has_delete_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("recommend.view_modelversion") or request.user.has_perm(ACTIVATE_PERMISSION)

    @admin.display(description="Key metric")
    def headline_metric(self, version: ModelVersion) -> str:
        key = headline_key(version)
        if key is None:
            return "—"
        return f"{key.split('.')[-1]} {metric_display(version.metrics[key])}"

    @admin.display(description="Evaluation set")
    def evaluation_set(self, version: ModelVersion) -> str:
        return evaluation_label(version)

    def get_urls(self) -> list:
        own = [
            path(
                "<id:version_id>/activate/",
                self.admin_site.admin_view(self.activate_view),
                name="recommend_modelversion_activate",
            ),
            path(
                "rollback/<str:kind>/",
                self.admin_site.admin_view(self.rollback_view),
                name="recommend_modelversion_rollback",
            ),
            path(
                "compare/<str:kind>/",
                self.admin_site.admin_view(self.compare_view),
                name="recommend_modelversion_compare",
            ),
        ]
        return own + super().get_urls()

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        version = self.get_object(request, object_id)
        context: dict[str, Any] = {**(extra_context or {})}
        if version is not None:
            context.update(
                {
                    "metric_rows": metric_rows([version]),
                    "evaluation_sentence": evaluation_sentence(version),
                    "evaluation_chart": evaluation_chart(version),
                    "beats_baseline": beats_baseline(version),
                    "not_activated_because": version.metrics.get(NOT_ACTIVATED_KEY, ""),
                    "comparison_rows": comparison_rows(version),
                    "compared_version": version.metrics.get(f"{COMPARED_PREFIX}version"),
                    "param_rows": [(key, metric_display(value)) for key, value in sorted(version.params.items())],
                    "can_activate": request.user.has_perm(ACTIVATE_PERMISSION)
                    and version.status in (ModelVersion.Status.READY, ModelVersion.Status.RETIRED),
                    "can_rollback": request.user.has_perm(ACTIVATE_PERMISSION)
                    and version.status == ModelVersion.Status.ACTIVE
                    and ModelVersion.objects.filter(kind=version.kind, status=ModelVersion.Status.RETIRED).exists(),
                }
            )
        return super().change_view(request, object_id, form_url, context)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        kinds = sorted(set(ModelVersion.objects.values_list("kind", flat=True)))
        return super().changelist_view(request, {"compare_kinds": kinds, **(extra_context or {})})

    def activate_view(self, request: HttpRequest, version_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        version = get_object_or_404(ModelVersion, pk=version_id)
        back = reverse("admin:recommend_modelversion_change", args=[version.pk])
        if not request.user.has_perm(ACTIVATE_PERMISSION):
            self.message_user(request, "You need permission to change model versions to activate one.", messages.ERROR)
            return HttpResponseRedirect(back)
        previous = ModelVersion.objects.filter(kind=version.kind, status=ModelVersion.Status.ACTIVE).first()
        try:
            # The switch and its log entry commit together: no activation without a record of who did it.
            with transaction.atomic():
                model_version_activate(version=version)
                was = f" (was v{previous.version})" if previous and previous.pk != version.pk else ""
                self.log_change(request, version, f"Activated {version.kind} v{version.version}{was}.")
        except ValueError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(back)
        self.message_user(request, f"{version.kind} v{version.version} is now active{was}.", messages.SUCCESS)
        return HttpResponseRedirect(back)

    def rollback_view(self, request: HttpRequest, kind: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        changelist = reverse("admin:recommend_modelversion_changelist")
        if not request.user.has_perm(ACTIVATE_PERMISSION):
            self.message_user(request, "You need permission to change model versions to roll back.", messages.ERROR)
            return HttpResponseRedirect(changelist)
        current = ModelVersion.objects.filter(kind=kind, status=ModelVersion.Status.ACTIVE).first()
        try:
            with transaction.atomic():
                restored = model_version_rollback(kind=kind)
                was = f" (was v{current.version})" if current else ""
                self.log_change(request, restored, f"Rolled {kind} back to v{restored.version}{was}.")
        except ValueError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(changelist)
        self.message_user(request, f"Rolled {kind} back to v{restored.version}{was}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:recommend_modelversion_change", args=[restored.pk]))

    def compare_view(self, request: HttpRequest, kind: str) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        queryset = ModelVersion.objects.filter(kind=kind).order_by("-version")
        ids = db_ids(request.GET.get("ids", ""))
        if ids:
            queryset = queryset.filter(pk__in=ids)
        versions = list(queryset[:COMPARE_LIMIT])
        evaluations = {evaluation_label(v) for v in versions if v.params.get("evaluation")}
        context = {
            **self.admin_site.each_context(request),
            "title": f"Compare {kind} versions",
            "opts": self.model._meta,
            "kind": kind,
            "versions": versions,
            "rows": metric_rows(versions),
            "headline": [metric_display(v.metrics.get(headline_key(v) or "", "")) for v in versions],
            "evaluations": [evaluation_label(v) for v in versions],
            "mixed_evaluations": len(evaluations) > 1,
            "can_activate": request.user.has_perm(ACTIVATE_PERMISSION),
        }
        return render(request, "admin/recommend/modelversion/compare.html", context)

    @admin.action(description="Compare selected versions side by side")
    def compare_selected(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> HttpResponse | None:
        kinds = set(queryset.values_list("kind", flat=True))
        if len(kinds) != 1:
            self.message_user(request, "Select versions of one kind to compare them.", messages.WARNING)
            return None
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        url = reverse("admin:recommend_modelversion_compare", args=[kinds.pop()])
        return HttpResponseRedirect(f"{url}?ids={ids}")
