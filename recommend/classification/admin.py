"""Back office for classification: the review queue of unsure predictions and the "Train classifier" form."""

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from catalog.admin import move_to_category_step
from catalog.models import Product
from recommend.classification.admin_training import cancel_training, train_page
from recommend.classification.selectors import CLASSIFIER_OWNED_SOURCES, live_categories
from recommend.classification.services import (
    review_accept_suggestion,
    review_accept_top_suggestions,
    review_set_category,
)
from recommend.core.jobs import job_create, job_enqueue_failed
from recommend.core.registry import active_version_id
from recommend.models import CategorySuggestion, Job, ModelVersion, ReviewQueueProduct

DESCRIPTION_WORDS = 30  # enough to tell a phone case from a phone without opening the product


@admin.register(ReviewQueueProduct)
class ReviewQueueAdmin(admin.ModelAdmin):
    """Products whose best prediction was below the threshold: staff accept a suggestion or choose a category."""

    # The SKU, image and description start sit in the product cell, so the suggestions keep their room.
    list_display = ["product_title", "top_confidence", "current_category", "suggestions"]
    list_display_links = None
    list_filter = ["source", "category_source"]
    search_fields = ["sku", "title", "brand__name"]
    actions = ["accept_top_suggestion", "move_to_category", "classify_again"]
    list_per_page = 50
    change_list_template = "admin/recommend/reviewqueueproduct/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReviewQueueProduct]:
        # Suggestions below the floor are noise (3-5 % guesses): not shown, no Accept button.
        suggestions = (
            CategorySuggestion.objects.filter(confidence__gte=settings.REVIEW_SUGGESTION_FLOOR)
            .select_related("category")
            .order_by("rank")
        )
        best = CategorySuggestion.objects.filter(product=OuterRef("pk")).order_by("rank").values("confidence")[:1]
        # Not super(): it would order by `get_ordering` before the annotation that ordering names exists.
        return (
            self.model._default_manager.get_queryset()
            .filter(needs_review=True, category_source__in=CLASSIFIER_OWNED_SOURCES)
            .annotate(best_confidence=Subquery(best))
            .select_related("brand", "category")
            .prefetch_related(Prefetch("category_suggestions", queryset=suggestions))
        )

    def get_ordering(self, request: HttpRequest) -> list[str]:
        # Most promising first: a confident top suggestion is one keystroke; the doubtful ones come last.
        return ["-best_confidence", "pk"]

    # Staff who may change products may work the queue; nobody adds to or deletes from it here.
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("catalog.change_product") or request.user.has_perm("catalog.view_product")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("catalog.change_product")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        context = {
            "threshold_percent": round(settings.CLASSIFIER_CONFIDENCE_THRESHOLD * 100),
            "floor_percent": round(settings.REVIEW_SUGGESTION_FLOOR * 100),
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        # Live paths for every suggestion on the page in two queries: moved or renamed nodes show where they are now.
        ids = {s.category_id for product in changelist.result_list for s in product.category_suggestions.all()}
        paths = {pk: names for pk, (_, names) in live_categories(ids).items()}
        for product in changelist.result_list:
            for suggestion in product.category_suggestions.all():
                suggestion.path_names = paths.get(suggestion.category_id, [suggestion.category.name])
        return changelist

    @admin.display(description="Product", ordering="title")
    def product_title(self, product: Product) -> str:
        url = reverse("admin:catalog_product_change", args=[product.pk])
        brand = f" · {product.brand.name}" if product.brand_id and product.brand else ""
        image = (
            format_html('<img src="{}" alt="" loading="lazy" class="review-thumb">', product.image_url)
            if product.image_url
            else ""
        )
        description = Truncator(product.description).words(DESCRIPTION_WORDS) if product.description else ""
        return format_html(
            '<div class="review-product">{}<div><a href="{}">{}</a><span class="quiet">{}<br>SKU {}</span>'
            '<p class="review-description">{}</p></div></div>',
            image,
            url,
            product.title,
            brand,
            product.sku,
            description,
        )

    @admin.display(description="Confidence", ordering="best_confidence")
    def top_confidence(self, product: Product) -> str:
        best = getattr(product, "best_confidence", None)
        return "—" if best is None else f"{round(best * 100)}%"

    @admin.display(description="Now in")
    def current_category(self, product: Product) -> str:
        if not product.category_id:
            return "—"
        return format_html(
            "{}<br><span class='quiet'>automatic, {}%</span>",
            product.category.name,
            round((product.category_confidence or 0) * 100),
        )

    @admin.display(description="Suggestions (confidence; the words behind each)")
    def suggestions(self, product: Product) -> str:
        rows = []
        for number, suggestion in enumerate(product.category_suggestions.all(), start=1):
            accept_url = reverse("admin:recommend_reviewqueue_accept", args=[suggestion.pk])
            words = ", ".join(str(word) for word, _ in suggestion.attention[:5])
            rows.append(
                (
                    " › ".join(getattr(suggestion, "path_names", [suggestion.category.name])),
                    round(suggestion.confidence * 100),
                    words or "—",
                    accept_url,
                    number,
                )
            )
        if not rows:
            return format_html('<span class="quiet">No suggestion above {}%</span>', self.floor_percent())
        # The buttons submit the changelist form (and its CSRF token) to the accept view; keys 1-3 press them.
        items = format_html_join(
            "",
            '<li><strong>{}</strong> {}% <span class="quiet">({})</span> '
            '<button type="submit" class="button review-accept" formaction="{}" formmethod="post" '
            'data-key="{}">Accept</button></li>',
            rows,
        )
        return format_html('<ol class="classifier-suggestions">{}</ol>', items)

    @staticmethod
    def floor_percent() -> int:
        return round(settings.REVIEW_SUGGESTION_FLOOR * 100)

    def get_urls(self) -> list:
        own = [
            path(
                "accept/<id:suggestion_id>/",
                self.admin_site.admin_view(self.accept_view),
                name="recommend_reviewqueue_accept",
            ),
            path("train/", self.admin_site.admin_view(self.train_view), name="recommend_train_classifier"),
            path(
                "train/<id:job_id>/cancel/",
                self.admin_site.admin_view(self.train_cancel_view),
                name="recommend_train_classifier_cancel",
            ),
        ]
        return own + super().get_urls()

    def accept_view(self, request: HttpRequest, suggestion_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            self.message_user(request, "You need permission to change products.", messages.ERROR)
        else:
            suggestion = get_object_or_404(
                CategorySuggestion.objects.select_related("category", "product"), pk=suggestion_id
            )
            review_accept_suggestion(suggestion=suggestion)
            self.message_user(
                request,
                f"“{suggestion.product.title}” is now in “{suggestion.category.path_display}”.",
                messages.SUCCESS,
            )
        return HttpResponseRedirect(reverse("admin:recommend_reviewqueueproduct_changelist"))

    def train_view(self, request: HttpRequest) -> HttpResponse:
        return train_page(self, request)

    def train_cancel_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        return cancel_training(self, request, job_id)

    @admin.action(description="Accept the top suggestion", permissions=["change"])
    def accept_top_suggestion(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        accepted = review_accept_top_suggestions(product_ids=ids)
        level = messages.SUCCESS if accepted == len(ids) else messages.WARNING
        self.message_user(request, f"Accepted the top suggestion for {accepted} of {len(ids)} products.", level)

    @admin.action(description="Move selected products to a category…", permissions=["change"])
    def move_to_category(self, request: HttpRequest, queryset: QuerySet[Product]) -> HttpResponse | None:
        return move_to_category_step(self, request, queryset, review_set_category)

    @admin.action(description="Classify again with the active model", permissions=["change"])
    def classify_again(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        """Queued as a classify job on the inference queue: inference never runs inside the admin request."""
        if active_version_id(ModelVersion.Kind.CLASSIFIER) is None:
            self.message_user(request, "No classifier is active yet: train one first.", messages.ERROR)
            return
        ids = sorted(queryset.values_list("pk", flat=True))
        job = job_create(kind=Job.Kind.CLASSIFY, params={"product_ids": ids}, user=request.user)
        job.refresh_from_db()
        if job_enqueue_failed(job):
            self.message_user(request, f"Classify job #{job.pk} not started: {job.message}", messages.ERROR)
            return
        jobs_url = reverse("admin:recommend_job_change", args=[job.pk])
        self.message_user(
            request,
            format_html(
                'Classifying {} products again: <a href="{}">job #{}</a> is queued.', len(ids), jobs_url, job.pk
            ),
            messages.SUCCESS,
        )
