"""Tables of the shared core that are not the registry's: the product-vector store, model experiments, the
derived-work outbox.

Imported from `recommend/models.py` so Django registers them with the `recommend` app.
"""

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone


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


class Experiment(models.Model):
    """Staff split visitors between two model versions of one capability to promote a new model on evidence.

    A visitor's arm is a stable hash of the experiment and their visitor id (session key), so the same
    shopper always sees the same arm; `treatment_percent` of visitors get the treatment (arm B).
    """

    class Capability(models.TextChoices):
        SIMILAR = "similar", "Similar items"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=Capability.choices, default=Capability.SIMILAR)
    control = models.ForeignKey(
        "recommend.ModelVersion", on_delete=models.PROTECT, related_name="+", help_text="Arm A (usually the active)."
    )
    treatment = models.ForeignKey(
        "recommend.ModelVersion", on_delete=models.PROTECT, related_name="+", help_text="Arm B (the candidate)."
    )
    treatment_percent = models.PositiveSmallIntegerField(
        default=50, validators=[MinValueValidator(1), MaxValueValidator(99)], help_text="Share of visitors in arm B."
    )
    is_running = models.BooleanField(default=True)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "recommend"
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"], condition=models.Q(is_running=True), name="one_running_experiment_per_kind"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.control_id and self.control_id == self.treatment_id:
            errors["treatment"] = "Choose a different version from the control."
        for name in ("control", "treatment"):
            version = getattr(self, name) if getattr(self, f"{name}_id") else None
            if version is not None and version.kind != self.kind:
                errors[name] = f"This is a {version.kind} version; the experiment is on {self.kind}."
            elif version is not None and version.status not in ("ready", "active", "retired"):
                errors[name] = "Only a ready, active or retired version can serve shoppers."
        if errors:
            raise ValidationError(errors)


class DerivedWork(models.Model):
    """Outbox: one task a data change needs (classify, embed, place a saved product...), stored in the same
    transaction as the change, sent when it commits, and deleted by the worker when the task succeeded.

    A message the broker lost (Redis restarted empty, flushed, a crash between commit and send) leaves its row
    behind: the sweep sends it again once it has waited DERIVED_WORK_RESEND_SECONDS (recommend.core.outbox).
    The tasks are idempotent, so work sent twice is done twice, never wrongly.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)  # also the Celery task id
    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    queue = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)  # null: the creating process never sent it
    sends = models.PositiveIntegerField(default=0)
    given_up_at = models.DateTimeField(null=True, blank=True)  # sent DERIVED_WORK_MAX_SENDS times, never done

    class Meta:
        app_label = "recommend"
        indexes = [models.Index(fields=["given_up_at", "sent_at"], name="derived_work_pending")]

    def __str__(self) -> str:
        return f"{self.task}{self.args}"
