"""Admin: browse the active version's rules (sort by lift, confidence, support; filter), pin or block pairs."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse

from recommend.bought_together.models import AssociationRule, PairOverride
from recommend.bought_together.services import pair_overrides_from_rules
from recommend.core.jobs import job_create, job_is_pending
from recommend.core.permissions import MODEL_CHANGE_PERMISSION
from recommend.core.registry import active_version_id
from recommend.models import Job, ModelVersion
from taxonomy.models import Category

# Pinning or blocking a pair writes a PairOverride (created, or changed when the pair already has one).
OVERRIDE_PERMISSIONS = ("recommend.add_pairoverride", "recommend.change_pairoverride")


class VersionFilter(admin.SimpleListFilter):
    """The active version's rules unless staff pick another version."""

    title = "model version"
    parameter_name = "version"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        versions = ModelVersion.objects.filter(kind=ModelVersion.Kind.BOUGHT_TOGETHER).order_by("-version")[:20]
        return [(str(version.pk), str(version)) for version in versions]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        chosen = self.value() or active_version_id(ModelVersion.Kind.BOUGHT_TOGETHER)
        return queryset.filter(model_version_id=chosen) if chosen else queryset.none()


class CategoryFilter(admin.SimpleListFilter):
    """Rules whose first product sits anywhere under a top-level category."""

    title = "category of the first product"
    parameter_name = "category"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        roots = Category.objects.filter(parent__isnull=True, is_active=True).order_by("name")[:100]
        return [(str(root.tree_id), root.name) for root in roots]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value():
            return queryset
        return queryset.filter(antecedent__category__tree_id=self.value())


@admin.register(AssociationRule)
class AssociationRuleAdmin(admin.ModelAdmin):
    list_display = ["antecedent", "consequent", "baskets", "support_percent", "confidence_percent", "lift_rounded"]
    list_filter = [VersionFilter, CategoryFilter]
    search_fields = ["antecedent__title", "antecedent__sku", "consequent__title", "consequent__sku"]
    list_select_related = ["antecedent", "consequent"]
    ordering = ["-lift"]
    actions = ["pin_pairs", "block_pairs"]
    show_full_result_count = False

    @admin.display(description="support", ordering="support")
    def support_percent(self, rule: AssociationRule) -> str:
        return f"{rule.support:.2%}"

    @admin.display(description="confidence", ordering="confidence")
    def confidence_percent(self, rule: AssociationRule) -> str:
        return f"{rule.confidence:.1%}"

    @admin.display(description="lift", ordering="lift")
    def lift_rounded(self, rule: AssociationRule) -> str:
        return f"{rule.lift:.2f}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_override_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(OVERRIDE_PERMISSIONS)

    def has_build_permission(self, request: HttpRequest) -> bool:
        """A build trains a new bought-together version: the permission the other "Train" pages check."""
        return request.user.has_perm(MODEL_CHANGE_PERMISSION)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        context = {"can_build": self.has_build_permission(request), **(extra_context or {})}
        return super().changelist_view(request, context)

    def get_urls(self) -> list:
        build = path("build/", self.admin_site.admin_view(self.build_view), name="recommend_associationrule_build")
        return [build, *super().get_urls()]

    def build_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_build_permission(request):
            raise PermissionDenied("You need permission to change model versions to build one.")
        if job_is_pending(Job.Kind.BUILD_BOUGHT_TOGETHER):
            messages.info(request, "A bought-together build is already queued or running.")
        else:
            job = job_create(kind=Job.Kind.BUILD_BOUGHT_TOGETHER, params={"reason": "admin"}, user=request.user)
            messages.success(request, f"Bought-together build queued (job #{job.pk}).")
        return HttpResponseRedirect(reverse("admin:recommend_associationrule_changelist"))

    @admin.action(description="Pin selected pairs (always show)", permissions=["override"])
    def pin_pairs(self, request: HttpRequest, queryset: QuerySet[AssociationRule]) -> None:
        count = pair_overrides_from_rules(rules=queryset, action=PairOverride.Action.PIN, user=request.user)
        messages.success(request, f"Pinned {count} pair(s); shoppers see them now.")

    @admin.action(description="Block selected pairs (never show)", permissions=["override"])
    def block_pairs(self, request: HttpRequest, queryset: QuerySet[AssociationRule]) -> None:
        count = pair_overrides_from_rules(rules=queryset, action=PairOverride.Action.BLOCK, user=request.user)
        messages.success(request, f"Blocked {count} pair(s); shoppers no longer see them.")


@admin.register(PairOverride)
class PairOverrideAdmin(admin.ModelAdmin):
    list_display = ["product", "other", "action", "both_ways", "note", "created_by", "created_at"]
    list_filter = ["action", "both_ways"]
    search_fields = ["product__title", "product__sku", "other__title", "other__sku"]
    autocomplete_fields = ["product", "other"]
    list_select_related = ["product", "other", "created_by"]
    exclude = ["created_by"]

    def save_model(self, request: HttpRequest, obj: PairOverride, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
