"""Tables of bought together: the mined rules of each model version, and staff's pin/block overrides.

Imported from `recommend/models.py` so Django registers them with the `recommend` app.
"""

from django.conf import settings
from django.db import models

from catalog.models import Product


class AssociationRule(models.Model):
    """antecedent -> consequent as mined by one model version: shoppers with the first also bought the second."""

    model_version = models.ForeignKey("recommend.ModelVersion", on_delete=models.CASCADE, related_name="rules")
    antecedent = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    consequent = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    baskets = models.PositiveIntegerField(help_text="orders holding both products")
    support = models.FloatField(help_text="share of all orders holding both")
    confidence = models.FloatField(help_text="share of the antecedent's orders that also hold the consequent")
    lift = models.FloatField(help_text="confidence / the consequent's share of orders (above 1: bought together)")

    class Meta:
        app_label = "recommend"
        ordering = ["-lift"]
        constraints = [
            models.UniqueConstraint(fields=["model_version", "antecedent", "consequent"], name="association_rule_pair")
        ]
        indexes = [models.Index(fields=["model_version", "antecedent", "-confidence"], name="rule_version_antecedent")]

    def __str__(self) -> str:
        return f"{self.antecedent_id} -> {self.consequent_id} (lift {self.lift:.2f})"


class PairOverride(models.Model):
    """Merchandising: always show (pin) or never show (block) `other` with `product`; wins over any model."""

    class Action(models.TextChoices):
        PIN = "pin", "Pin: always show"
        BLOCK = "block", "Block: never show"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+", verbose_name="shown with it")
    action = models.CharField(max_length=8, choices=Action.choices)
    both_ways = models.BooleanField(default=True, help_text="also applies with the two products swapped")
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "recommend"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["product", "other"], name="pair_override_unique"),
            models.CheckConstraint(condition=~models.Q(product=models.F("other")), name="pair_override_two_products"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display().split(':')[0]} {self.product_id} + {self.other_id}"
