"""Back office for staff: the category and attribute trees, products, brands, interactions."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from catalog import block_admin  # noqa: F401  (registers BlockStatAdmin)
from catalog.forms import MoveToCategoryForm
from catalog.models import Brand, Interaction, Product, ProductAttributeValue
from catalog.selectors import products_in_subtree, suspect_brand_ids
from catalog.services import categories_merge, category_merge_undo, products_set_active, products_set_category
from taxonomy.admin import AttributeNodeAdminBase, CategoryAdminBase
from taxonomy.models import AttributeNode, Category, CategoryEdit


@admin.register(Category)
class CategoryAdmin(CategoryAdminBase):
    list_display = [
        "tree_actions",
        "indented_title",
        "path_column",
        "open_children",
        "product_count",
        "slug",
        "is_active",
        "source",
    ]
    actions = ["move_to", "merge_into"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        queryset = super().get_queryset(request)
        if request.path.endswith("/autocomplete/"):  # search-as-you-type shows paths, not counts
            return queryset
        # One query: products counted per node including every descendant.
        return Category.objects.add_related_count(queryset, Product, "category", "products_total", cumulative=True)

    @admin.display(description="Products (incl. subcategories)")
    def product_count(self, category: Category) -> int:
        return getattr(category, "products_total", 0)

    def undo_edit(self, edit: CategoryEdit) -> None:
        if edit.kind == CategoryEdit.Kind.MERGE:
            category_merge_undo(edit=edit)
        else:
            super().undo_edit(edit)

    @admin.action(description="Merge selected categories into…", permissions=["change"])
    def merge_into(self, request: HttpRequest, queryset: QuerySet[Category]) -> HttpResponse | None:
        form, page = self.target_step(request, queryset, action="merge_into", verb="Merge", allow_top_level=False)
        if page is not None:
            return page
        try:
            edits = categories_merge(sources=list(queryset), target=form.cleaned_data["target"], user=request.user)
        except ValueError as error:
            self.message_user(request, f"Nothing merged: {error}", messages.ERROR)
            return None
        for edit in edits:
            self.report_edit(request, edit)
        return None


@admin.register(AttributeNode)
class AttributeNodeAdmin(AttributeNodeAdminBase):
    list_display = ["tree_actions", "indented_title", "kind", "data_type", "unit", "product_count"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AttributeNode]:
        queryset = super().get_queryset(request)
        queryset = AttributeNode.objects.add_related_count(
            queryset, ProductAttributeValue, "attribute", "attribute_uses", cumulative=True
        )
        return AttributeNode.objects.add_related_count(
            queryset, ProductAttributeValue, "value_node", "value_uses", cumulative=False
        )

    @admin.display(description="Products")
    def product_count(self, node: AttributeNode) -> int:
        if node.kind == AttributeNode.Kind.VALUE:
            return getattr(node, "value_uses", 0)
        return getattr(node, "attribute_uses", 0)


class CategorySubtreeFilter(admin.SimpleListFilter):
    """Drill down the tree: the choices are the selected node's path and children, not 10,000 nodes."""

    title = "category (with subcategories)"
    parameter_name = "category_subtree"

    def selected(self) -> Category | None:
        value = self.value()
        return Category.objects.filter(pk=value).first() if value and value.isdigit() else None

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        selected = self.selected()
        if selected is None:
            nodes = list(Category.objects.root_nodes())
            return [(str(c.pk), c.name) for c in nodes]
        path = [(str(c.pk), "› " * c.level + c.name) for c in selected.ancestry]
        children = [(str(c.pk), "› " * c.level + c.name) for c in selected.get_children()]
        return path + children

    def queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> QuerySet[Product]:
        selected = self.selected()
        return products_in_subtree(queryset, selected) if selected else queryset


class BrandFilter(admin.SimpleListFilter):
    title = "brand"
    parameter_name = "brand"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        top = Brand.objects.annotate(n=Count("products")).order_by("-n")[:40]
        choices = [(str(b.pk), f"{b.name} ({b.n})") for b in top]
        value = self.value()
        if value and value.isdigit() and value not in {c[0] for c in choices}:
            brand = Brand.objects.filter(pk=value).first()
            if brand:
                choices.insert(0, (value, brand.name))
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> QuerySet[Product]:
        value = self.value()
        return queryset.filter(brand_id=value) if value and value.isdigit() else queryset


class DataQualityFilter(admin.SimpleListFilter):
    """Products whose data is incomplete or doubtful, as the import report counts them."""

    title = "data quality"
    parameter_name = "quality"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("no_price", "No price"),
            ("no_brand", "No brand"),
            ("suspect_brand", "Suspect brand (a colour or fit)"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> QuerySet[Product]:
        value = self.value()
        if value == "no_price":
            return queryset.filter(price__isnull=True)
        if value == "no_brand":
            return queryset.filter(brand__isnull=True)
        if value == "suspect_brand":
            return queryset.filter(brand_id__in=suspect_brand_ids())
        return queryset


class AttributeValueInline(admin.TabularInline):
    model = ProductAttributeValue
    extra = 1
    raw_id_fields = ["attribute", "value_node"]
    fields = ["attribute", "value", "value_node"]


def move_to_category_step(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Product],
    move: Callable[..., int],
) -> HttpResponse | None:
    """The bulk "move to category" action: ask for a category, then `move(product_ids=, category=)`."""
    form = MoveToCategoryForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        category = form.cleaned_data["category"]
        count = move(product_ids=list(queryset.values_list("pk", flat=True)), category=category)
        model_admin.message_user(request, f"Moved {count} products to “{category.path_display}”.", messages.SUCCESS)
        return None
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Move products to a category",
        "form": form,
        "products": queryset[:50],
        "count": queryset.count(),
        "selected_ids": queryset.values_list("pk", flat=True),
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "opts": model_admin.model._meta,
    }
    return render(request, "admin/catalog/move_to_category.html", context)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "title", "brand", "price_display", "category_display", "category_source", "is_active"]
    list_display_links = ["sku", "title"]
    list_filter = [CategorySubtreeFilter, BrandFilter, DataQualityFilter, "category_source", "is_active", "source"]
    search_fields = ["sku", "title", "brand__name"]
    list_select_related = ["brand", "category"]
    autocomplete_fields = ["brand", "category"]  # search-as-you-type; categories show their path
    readonly_fields = ["source_category_path", "source", "created_at", "updated_at"]
    inlines = [AttributeValueInline]
    actions = ["move_to_category", "activate", "deactivate"]
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ["sku", "title", "brand", "description", "image_url", "is_active"]}),
        ("Price", {"fields": ["price", "currency"]}),
        ("Category", {"fields": ["category", "category_source", "source_category_path"]}),
        ("Record", {"fields": ["source", "created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    @admin.display(description="Price", ordering="price")
    def price_display(self, product: Product) -> str:
        return f"{product.currency} {product.price}" if product.price is not None else "Price unavailable"

    @admin.display(description="Category", ordering="category__name")
    def category_display(self, product: Product) -> str:
        return product.category.name if product.category else "—"

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        if "category" in form.changed_data:
            obj.category_source = Product.CategorySource.MANUAL if obj.category else Product.CategorySource.NONE
        super().save_model(request, obj, form, change)

    @admin.action(description="Move selected products to a category…", permissions=["change"])
    def move_to_category(self, request: HttpRequest, queryset: QuerySet[Product]) -> HttpResponse | None:
        return move_to_category_step(self, request, queryset, products_set_category)

    @admin.action(description="Show selected products in the shop", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        count = products_set_active(product_ids=list(queryset.values_list("pk", flat=True)), is_active=True)
        self.message_user(request, f"{count} products shown.", messages.SUCCESS)

    @admin.action(description="Hide selected products from the shop", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        count = products_set_active(product_ids=list(queryset.values_list("pk", flat=True)), is_active=False)
        self.message_user(request, f"{count} products hidden.", messages.SUCCESS)


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "product_count"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Brand]:
        return super().get_queryset(request).annotate(n=Count("products"))

    @admin.display(description="Products", ordering="n")
    def product_count(self, brand: Brand) -> int:
        return brand.n  # type: ignore[attr-defined]


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    """Read-only: events come from the shop and importers, never from hand edits."""

    list_display = ["timestamp", "visitor_id", "event", "product", "order_id", "query"]
    list_filter = ["event"]
    search_fields = ["visitor_id", "order_id", "product__sku", "event_id"]
    list_select_related = ["product"]
    date_hierarchy = "timestamp"
    show_full_result_count = False
    list_per_page = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
