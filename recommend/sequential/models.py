"""Shopper feedback on recommendations (registered through recommend.models)."""

from django.conf import settings
from django.db import models

from catalog.models import Product


class RecommendationFeedback(models.Model):
    """'Not interested' on a recommended product: hidden for that visitor at once, a negative for training."""

    class Kind(models.TextChoices):
        NOT_INTERESTED = "not_interested", "Not interested"

    visitor_id = models.CharField(max_length=64, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="recommendation_feedback")
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.NOT_INTERESTED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "recommend"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["visitor_id", "product", "kind"], name="recommendation_feedback_unique")
        ]

    def __str__(self) -> str:
        return f"{self.visitor_id} {self.kind} {self.product_id}"
