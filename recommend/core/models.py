"""Tables of the shared core that are not the registry's: the product-vector store.

Imported from `recommend/models.py` so Django registers them with the `recommend` app.
"""

from django.db import models


class ProductVector(models.Model):
    """One embedding of one product text by one encoder; products with the same text share it.

    Keyed by (encoder, text hash), not by product: a product is embedded again only when its text
    changes, and every capability (similar items, duplicates, hierarchy, ...) reads the same rows.
    """

    encoder = models.CharField(max_length=100)
    text_hash = models.BinaryField(max_length=16)
    dimension = models.PositiveIntegerField()
    vector = models.BinaryField(help_text="float32 little-endian, `dimension` values")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "recommend"
        constraints = [models.UniqueConstraint(fields=["encoder", "text_hash"], name="product_vector_unique")]

    def __str__(self) -> str:
        return f"{self.encoder}:{bytes(self.text_hash).hex()}"
