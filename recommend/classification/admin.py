"""Back office for classification: the review queue of unsure predictions and the "Train classifier" form."""

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from catalog.admin import move_to_category_step
from catalog.models import Product
from recommend.classification.forms import TrainClassifierForm
from recommend.classification.selectors import CLASSIFIER_OWNED_SOURCES, active_classifier, live_categories
from recommend.classification.services import (
    products_classify,
    review_accept_suggestion,
    review_accept_top_suggestions,
    review_set_category,
    train_classifier_start,
)
from recommend.models import CategorySuggestion, ReviewQueueProduct


@admin.register(ReviewQueueProduct)
class ReviewQueueAdmin(admin.ModelAdmin):
    """Products whose best prediction was below the threshold: staff accept a suggestion or choose a category."""

    list_display = ["product_title", "current_category", "suggestions"]  # the SKU sits under the title
    list_display_links = None
    list_filter = ["source", "category_source"]
    search_fields = ["sku", "title", "brand__name"]
    actions = ["accept_top_suggestion", "move_to_category", "classify_again"]
    list_per_page = 50
    change_list_template = "admin/recommend/reviewqueueproduct/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReviewQueueProduct]:
        suggestions = CategorySuggestion.objects.select_related("category").order_by("rank")
        return (
            super()
            .get_queryset(request)
            .filter(needs_review=True, category_source__in=CLASSIFIER_OWNED_SOURCES)
            .select_related("brand", "category")
            .prefetch_related(Prefetch("category_suggestions", queryset=suggestions))
        )

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
        threshold = round(settings.CLASSIFIER_CONFIDENCE_THRESHOLD * 100)
        return super().changelist_view(request, {"threshold_percent": threshold, **(extra_context or {})})

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
        return format_html(
            '<a href="{}">{}</a><span class="quiet">{}<br>SKU {}</span>', url, product.title, brand, product.sku
        )

    @admin.display(description="Now in")
    def current_category(self, product: Product) -> str:
        if not product.category_id:
            return "—"
        return format_html(
            "{}<br><span class='quiet'>automatic, {}%</span>",
            product.category.name,
            round((product.category_confidence or 0) * 100),
        )

    @admin.display(description="Suggestions (confidence; words the model attended to)")
    def suggestions(self, product: Product) -> str:
        rows = []
        for suggestion in product.category_suggestions.all():
            accept_url = reverse("admin:recommend_reviewqueue_accept", args=[suggestion.pk])
            words = ", ".join(str(word) for word, _ in suggestion.attention[:5])
            rows.append(
                (
                    " › ".join(getattr(suggestion, "path_names", [suggestion.category.name])),
                    round(suggestion.confidence * 100),
                    words or "—",
                    accept_url,
                )
            )
        if not rows:
            return "—"
        # The buttons submit the changelist form (and its CSRF token) to the accept view.
        items = format_html_join(
            "",
            '<li><strong>{}</strong> {}% <span class="quiet">({})</span> '
            '<button type="submit" class="button" formaction="{}" formmethod="post">Accept</button></li>',
            rows,
        )
        return format_html('<ol class="classifier-suggestions">{}</ol>', items)

    def get_urls(self) -> list:
        own = [
            path(
                "accept/<int:suggestion_id>/",
                self.admin_site.admin_view(self.accept_view),
                name="recommend_reviewqueue_accept",
            ),
            path("train/", self.admin_site.admin_view(self.train_view), name="recommend_train_classifier"),
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
        if not request.user.has_perm("recommend.change_modelversion"):
            self.message_user(request, "You need permission to change model versions to train one.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:recommend_modelversion_changelist"))
        form = TrainClassifierForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            params = {key: value for key, value in form.cleaned_data.items() if value not in (None, "")}
            job = train_classifier_start(user=request.user, **params)
            self.message_user(request, f"Training job #{job.pk} queued; progress shows below.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:recommend_job_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Train the classifier",
            "form": form,
            "opts": self.model._meta,
        }
        return render(request, "admin/recommend/train_classifier.html", context)

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
        if active_classifier() is None:
            self.message_user(request, "No classifier is active yet: train one first.", messages.ERROR)
            return
        counts = products_classify(product_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            f"Classified {counts['classified']}: {counts['automatic']} set automatically, "
            f"{counts['review']} still need review.",
            messages.SUCCESS,
        )
