"""Products, brands, attribute values and shopper interactions."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse

from taxonomy.models import AttributeNode, Category


class Brand(models.Model):
    name = models.CharField(max_length=255, unique=True)
    slug = models.SlugField(max_length=255, unique=True, allow_unicode=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    class CategorySource(models.TextChoices):
        NONE = "", "None"
        IMPORTED = "imported", "Imported"
        MANUAL = "manual", "Set by staff"
        AUTOMATIC = "automatic", "Set by classifier"

    sku = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=1000)
    description = models.TextField(blank=True)
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")
    price = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, default="INR")
    image_url = models.URLField(max_length=1000, blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")
    category_source = models.CharField(max_length=16, choices=CategorySource.choices, blank=True, default="")
    # The path the importer saw, kept apart from the live category so re-imports and the
    # classifier can compare against the original label after staff reorganise the tree.
    source_category_path = models.CharField(max_length=1000, blank=True)
    # Confidence of the classifier when it set the category automatically (None for other sources).
    category_confidence = models.FloatField(null=True, blank=True)
    # Set when the classifier was unsure: the product waits in the admin review queue.
    needs_review = models.BooleanField(default=False, db_index=True)
    source = models.CharField(max_length=32, blank=True, help_text="Dataset or feed this product came from.")
    # A listing merged into another one (duplicates): its page redirects there and it is hidden.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_listings"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["category", "is_active"], name="product_category_active"),
            models.Index(fields=["brand", "is_active"], name="product_brand_active"),
            models.Index(fields=["price"], name="product_price"),
            models.Index(fields=["updated_at"], name="product_updated"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("storefront:product", kwargs={"pk": self.pk})


class ProductAttributeValue(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="attribute_values")
    attribute = models.ForeignKey(
        AttributeNode,
        on_delete=models.CASCADE,
        related_name="product_values",
        limit_choices_to={"kind": AttributeNode.Kind.ATTRIBUTE},
    )
    value_node = models.ForeignKey(
        AttributeNode,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="product_value_uses",
        limit_choices_to={"kind": AttributeNode.Kind.VALUE},
    )
    value = models.CharField(max_length=1000)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["product", "attribute"], name="one_value_per_product_attribute")]

    def __str__(self) -> str:
        return f"{self.attribute.name}: {self.value}"


class Interaction(models.Model):
    class Event(models.TextChoices):
        VIEW = "view", "View"
        CLICK = "click", "Click"
        ADD_TO_CART = "add_to_cart", "Add to cart"
        PURCHASE = "purchase", "Purchase"
        SEARCH = "search", "Search"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions"
    )
    # A stable shopper key: an external customer id from a feed, or a storefront visitor id (catalog/visitors.py).
    visitor_id = models.CharField(max_length=64, db_index=True)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.CASCADE, related_name="interactions")
    event = models.CharField(max_length=16, choices=Event.choices)
    query = models.CharField(max_length=500, blank=True)
    order_id = models.CharField(max_length=64, blank=True, db_index=True)
    event_id = models.CharField(max_length=128, null=True, blank=True, unique=True)
    timestamp = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-timestamp"]
        # Staff who may name a shopper (`?visitor=` on the recommendations API) read that shopper's history.
        permissions = [("view_visitor_history", "Can read a named shopper's history and recommendations")]
        indexes = [
            models.Index(fields=["visitor_id", "timestamp"], name="interaction_visitor_time"),
            models.Index(fields=["product", "event"], name="interaction_product_event"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(event="search") | models.Q(product__isnull=False),
                name="interaction_product_unless_search",
            )
        ]

    def __str__(self) -> str:
        return f"{self.visitor_id} {self.event} {self.product_id or self.query}"


class BlockStat(models.Model):
    """Impressions and clicks of one storefront recommendation block on one day (for click-through in the admin).

    `variant` is the experiment arm the visitor saw ("" outside experiments).
    """

    day = models.DateField()
    block = models.CharField(max_length=32)
    variant = models.CharField(max_length=32, blank=True, default="")
    impressions = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day", "block"]
        constraints = [models.UniqueConstraint(fields=["day", "block", "variant"], name="one_block_stat_per_day")]
        verbose_name = "recommendation block statistic"

    def __str__(self) -> str:
        return f"{self.block} {self.day}"

    @property
    def click_through(self) -> float | None:
        return self.clicks / self.impressions if self.impressions else None


class VisitorPreference(models.Model):
    """What is known about one visitor id (catalog/visitors.py): the shopper's privacy choice (with
    personalisation off no new events are stored for it and recommendations ignore its history), the account
    it was linked to at sign-in (export, erase and opt-out cover every id of the person), and whether it was
    erased ("forget me": an erased id never stores an event again; the browser got a new id)."""

    visitor_id = models.CharField(max_length=64, unique=True)
    personalised = models.BooleanField(default=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="visitor_ids"
    )
    erased = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.visitor_id}: personalisation {'on' if self.personalised else 'off'}"
