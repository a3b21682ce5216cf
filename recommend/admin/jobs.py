"""Back office for jobs (what the workers do, with progress); model versions live in recommend.core.model_admin."""

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html

from recommend.core.jobs import job_create, job_retry
from recommend.forms import ImportJobForm
from recommend.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "progress_bar", "message", "created_at", "duration", "created_by"]
    list_filter = ["status", "kind"]
    readonly_fields = [f.name for f in Job._meta.fields] + ["progress_bar", "duration"]
    actions = ["retry"]
    change_list_template = "admin/recommend/job/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.method == "GET" or obj is None

    @admin.display(description="Progress")
    def progress_bar(self, job: Job) -> str:
        percent = round(job.progress * 100)
        return format_html('<progress value="{}" max="100" title="{}%"></progress> {}%', percent, percent, percent)

    @admin.display(description="Took")
    def duration(self, job: Job) -> str:
        seconds = job.duration_seconds
        return "—" if seconds is None else f"{seconds:.1f} s"

    @admin.action(description="Retry selected failed jobs")
    def retry(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        retried = 0
        for job in queryset.filter(status__in=[Job.Status.FAILED, Job.Status.CANCELLED]):
            job_retry(job=job)
            retried += 1
        self.message_user(request, f"{retried} jobs queued again.", messages.SUCCESS if retried else messages.WARNING)

    def get_urls(self) -> list:
        own = [path("import/", self.admin_site.admin_view(self.import_view), name="recommend_job_import")]
        return own + super().get_urls()

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("catalog.add_product"):
            self.message_user(request, "You need permission to add products to run an import.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:recommend_job_changelist"))
        form = ImportJobForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            params = {**form.cleaned_data, "data_dir": str(settings.SHOP_DATA_DIR)}
            job = job_create(kind=Job.Kind.IMPORT, params=params, user=request.user)
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
