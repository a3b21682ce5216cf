"""Admin: likely duplicate listings for staff to merge or dismiss."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import F, QuerySet
from django.db.models.functions import Abs
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from recommend.core.jobs import job_create, job_is_pending
from recommend.duplicates.group_admin import DuplicateGroupViews
from recommend.duplicates.matchers import active_matcher
from recommend.duplicates.services import duplicate_dismiss, duplicate_merge
from recommend.duplicates.training import duplicate_training_start
from recommend.models import DuplicatePair, Job


def product_cell(product: Any) -> str:
    url = reverse("admin:catalog_product_change", args=[product.pk])
    brand = product.brand.name if product.brand_id else "no brand"
    price = f"{product.currency} {product.price}" if product.price is not None else "no price"
    return format_html(
        '<a href="{}">{}</a><br><small>{} · {} · SKU {}</small>', url, product.title, brand, price, product.sku
    )


def review_thresholds() -> tuple[float, float]:
    """(decision threshold, high-precision threshold) of the scorer that gave the listed scores."""
    scorer = active_matcher().first
    high = scorer.meta.get("high_precision_threshold") or scorer.threshold + 0.5 * (1.0 - scorer.threshold)
    return float(scorer.threshold), float(max(high, scorer.threshold))


class ReviewViewFilter(admin.SimpleListFilter):
    """Which open pairs staff see: likely duplicates (default), uncertain ones first, or everything."""

    title = "view"
    parameter_name = "view"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("likely", "Likely duplicates (high-precision threshold)"),
            ("uncertain", "Uncertain first (each decision teaches the matcher most)"),
            ("all", "All pairs"),
        ]

    def choices(self, changelist: Any) -> Any:
        # "Likely" is the default, so the built-in "All" entry (no parameter) is dropped.
        for choice in super().choices(changelist):
            if choice["display"] != "All":
                choice["selected"] = choice["selected"] or (
                    self.value() is None and "=likely" in choice["query_string"]
                )
                yield choice

    def queryset(self, request: HttpRequest, queryset: QuerySet[DuplicatePair]) -> QuerySet[DuplicatePair]:
        view = self.value()
        # Actions are POSTs without the list's query string: they act on exactly the ticked rows.
        if view == "all" or (view is None and request.method != "GET"):
            return queryset
        if view == "uncertain":
            return queryset.filter(status=DuplicatePair.Status.OPEN)
        return queryset.filter(status=DuplicatePair.Status.OPEN, score__gte=review_thresholds()[1])


@admin.register(DuplicatePair)
class DuplicatePairAdmin(DuplicateGroupViews, admin.ModelAdmin):
    list_display = ["score_display", "left_product", "right_product", "status", "decided_by"]
    list_filter = [ReviewViewFilter, "status"]
    search_fields = ["left__title", "right__title", "left__sku", "right__sku"]
    list_select_related = ["left__brand", "right__brand", "decided_by"]
    actions = ["merge_keep_left", "merge_keep_right", "not_duplicate", "find_duplicates", "train_from_decisions"]
    readonly_fields = ["left", "right", "score", "status", "model_version", "decided_by", "decided_at", "created_at"]
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[DuplicatePair]:
        return super().get_queryset(request).select_related("left__brand", "right__brand")

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        if request.GET.get(ReviewViewFilter.parameter_name) == "uncertain":
            # Closest to the decision threshold first: the pairs the matcher is least sure of.
            return [Abs(F("score") - review_thresholds()[0]).asc(), "-score"]
        return ["-score"]

    def get_urls(self) -> list:
        return [*self.group_urls(), *super().get_urls()]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Score", ordering="score")
    def score_display(self, pair: DuplicatePair) -> str:
        return f"{pair.score:.2f}"

    @admin.display(description="Listing A (lower id)")
    def left_product(self, pair: DuplicatePair) -> str:
        return product_cell(pair.left)

    @admin.display(description="Listing B")
    def right_product(self, pair: DuplicatePair) -> str:
        return product_cell(pair.right)

    def _merge(self, request: HttpRequest, queryset: QuerySet[DuplicatePair], keep_left: bool) -> None:
        merged, refused = 0, []
        for pair in queryset.select_related("left", "right"):
            try:
                duplicate_merge(pair=pair, keep=pair.left if keep_left else pair.right, user=request.user)
                merged += 1
            except ValueError as error:
                refused.append(f"{pair}: {error}")
        if merged:
            self.message_user(request, f"Merged {merged} pairs; the old pages redirect.", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)

    @admin.action(description="Merge: keep listing A, B redirects to it", permissions=["merge"])
    def merge_keep_left(self, request: HttpRequest, queryset: QuerySet[DuplicatePair]) -> None:
        self._merge(request, queryset, keep_left=True)

    @admin.action(description="Merge: keep listing B, A redirects to it", permissions=["merge"])
    def merge_keep_right(self, request: HttpRequest, queryset: QuerySet[DuplicatePair]) -> None:
        self._merge(request, queryset, keep_left=False)

    @admin.action(description="Not a duplicate (remembered)", permissions=["change"])
    def not_duplicate(self, request: HttpRequest, queryset: QuerySet[DuplicatePair]) -> None:
        count = 0
        for pair in queryset.filter(status=DuplicatePair.Status.OPEN):
            duplicate_dismiss(pair=pair, user=request.user)
            count += 1
        self.message_user(request, f"{count} pairs marked as not duplicates.", messages.SUCCESS)

    @admin.action(description="Rebuild similar items and duplicate candidates (background job)", permissions=["change"])
    def find_duplicates(self, request: HttpRequest, queryset: QuerySet[DuplicatePair]) -> None:
        if job_is_pending(Job.Kind.BUILD_SIMILAR):
            self.message_user(request, "A rebuild is already queued or running.", messages.WARNING)
            return
        job = job_create(kind=Job.Kind.BUILD_SIMILAR, params={"reason": "admin"}, user=request.user)
        self.message_user(request, f"Rebuild job #{job.pk} queued; see Jobs for progress.", messages.SUCCESS)

    @admin.action(description="Train the matcher from the staff decisions (background job)", permissions=["change"])
    def train_from_decisions(self, request: HttpRequest, queryset: QuerySet[DuplicatePair]) -> None:
        if job_is_pending(Job.Kind.TRAIN_DUPLICATE_SCORER):
            self.message_user(request, "A matcher training is already queued or running.", messages.WARNING)
            return
        decided = DuplicatePair.objects.exclude(status=DuplicatePair.Status.OPEN).count()
        job = duplicate_training_start(source="decisions", user=request.user)
        self.message_user(
            request,
            f"Training job #{job.pk} queued on the training queue with {decided} decisions as labels; "
            "the new version goes live only if it beats the active one on held-out decisions.",
            messages.SUCCESS,
        )
