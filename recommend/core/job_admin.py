"""Back office for jobs: what the workers do, with progress; Retry, Cancel and "Import a dataset"."""

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html

from recommend.core.jobs import (
    embedded_runner_ensure,
    job_cancel,
    job_create,
    job_enqueue_failed,
    job_kind_label,
    job_retry,
)
from recommend.forms import ImportJobForm
from recommend.models import Job

ACTIVE = (Job.Status.QUEUED, Job.Status.RUNNING)


class JobKindFilter(admin.SimpleListFilter):
    """Filter by kind, named by each handler's registered label (the column has no `choices` to name them)."""

    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        kinds = Job.objects.order_by("kind").values_list("kind", flat=True).distinct()
        return [(kind, job_kind_label(kind)) for kind in kinds]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Job]) -> QuerySet[Job]:
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "kind_label",
        "status",
        "progress_bar",
        "message",
        "attempts",
        "worker",
        "created_at",
        "duration",
    ]
    list_filter = ["status", JobKindFilter]
    readonly_fields = [f.name for f in Job._meta.fields] + ["progress_bar", "duration"]
    actions = ["retry", "cancel"]
    change_list_template = "admin/recommend/job/change_list.html"
    change_form_template = "admin/recommend/job/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Job pages are read-only; "change" is the permission to retry and cancel (the actions and button).
        return obj is None and super().has_change_permission(request)

    @admin.display(description="Kind", ordering="kind")
    def kind_label(self, job: Job) -> str:
        return job_kind_label(job.kind)

    @admin.display(description="Progress")
    def progress_bar(self, job: Job) -> str:
        percent = round(job.progress * 100)
        return format_html('<progress value="{}" max="100" title="{}%"></progress> {}%', percent, percent, percent)

    @admin.display(description="Took")
    def duration(self, job: Job) -> str:
        seconds = job.duration_seconds
        return "—" if seconds is None else f"{seconds:.1f} s"

    @admin.action(description="Retry selected failed jobs", permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        retried = [job_retry(job=job) for job in queryset.filter(status__in=[Job.Status.FAILED, Job.Status.CANCELLED])]
        self.message_user(
            request, f"{len(retried)} jobs queued again.", messages.SUCCESS if retried else messages.WARNING
        )

    @admin.action(description="Cancel selected jobs", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        cancelled = [job_cancel(job=job) for job in queryset.filter(status__in=ACTIVE)]
        stopping = sum(job.status == Job.Status.RUNNING for job in cancelled)
        self.message_user(
            request,
            f"{len(cancelled) - stopping} jobs cancelled; {stopping} running jobs stop at their next progress report.",
            messages.SUCCESS if cancelled else messages.WARNING,
        )

    def get_urls(self) -> list:
        own = [
            path("import/", self.admin_site.admin_view(self.import_view), name="recommend_job_import"),
            path("<id:pk>/cancel/", self.admin_site.admin_view(self.cancel_view), name="recommend_job_cancel"),
        ]
        return own + super().get_urls()

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        # Embedded mode: jobs queued by another process (setup_demo) or before a restart start running now.
        embedded_runner_ensure()
        return super().changelist_view(request, extra_context)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        extra = {**(extra_context or {}), "can_cancel": self.has_change_permission(request)}
        return super().change_view(request, object_id, form_url, extra)

    def cancel_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        job = get_object_or_404(Job, pk=pk)
        if not self.has_change_permission(request):
            self.message_user(request, "You need permission to change jobs to cancel one.", messages.ERROR)
        elif job.status not in ACTIVE:
            self.message_user(request, f"{job} has already ended.", messages.WARNING)
        else:
            job = job_cancel(job=job)
            done = "cancelled" if job.status == Job.Status.CANCELLED else "stops at its next progress report"
            self.message_user(request, f"{job}: {done}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:recommend_job_change", args=[pk]))

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("catalog.add_product"):
            self.message_user(request, "You need permission to add products to run an import.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:recommend_job_changelist"))
        form = ImportJobForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            params = {**form.cleaned_data, "data_dir": str(settings.SHOP_DATA_DIR)}
            job = job_create(kind=Job.Kind.IMPORT, params=params, user=request.user)
            job.refresh_from_db()
            if job_enqueue_failed(job):
                self.message_user(request, f"Import job #{job.pk} not started: {job.message}", messages.ERROR)
            else:
                self.message_user(request, f"Import job #{job.pk} queued; progress shows below.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:recommend_job_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a dataset",
            "form": form,
            "opts": self.model._meta,
            "data_dir": settings.SHOP_DATA_DIR,
        }
        return render(request, "admin/recommend/job/import.html", context)
