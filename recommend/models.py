"""The model registry (one active version per kind) and the jobs that workers run."""

from django.conf import settings
from django.db import models

from catalog.models import Product
from taxonomy.models import Category


class ModelVersion(models.Model):
    class Kind(models.TextChoices):
        TEXT_ENCODER = "text_encoder", "Text encoder"
        CLASSIFIER = "classifier", "Classifier"
        HIERARCHY = "hierarchy", "Hierarchy builder"
        SIMILAR = "similar", "Similar items"
        SEQUENTIAL = "sequential", "Sequential recommender"
        BOUGHT_TOGETHER = "bought_together", "Bought together"
        DUPLICATE_SCORER = "duplicate_scorer", "Duplicate scorer"

    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        READY = "ready", "Ready"
        ACTIVE = "active", "Active"
        FAILED = "failed", "Failed"
        RETIRED = "retired", "Retired"

    # No `choices` on the column: capabilities add kinds without a migration; Kind lists the known ones.
    kind = models.CharField(max_length=32, db_index=True)
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRAINING)
    params = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    artifact_path = models.CharField(max_length=500, blank=True)
    artifact_checksum = models.CharField(max_length=64, blank=True)
    dataset_fingerprint = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    # The job whose run trained it (empty for versions trained outside a job): a version still "training" when
    # that job is claimed again or swept is an orphan of a dead worker and is marked failed (registry).
    job = models.ForeignKey("Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="model_versions")

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="model_version_unique"),
            models.UniqueConstraint(
                fields=["kind"], condition=models.Q(status="active"), name="one_active_model_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} v{self.version} ({self.status})"


class Job(models.Model):
    class Kind(models.TextChoices):
        IMPORT = "import", "Catalog import"
        REBUILD_TREE = "rebuild_tree", "Rebuild category tree"
        EMBED = "embed", "Embed products"
        TRAIN_CLASSIFIER = "train_classifier", "Train classifier"
        CLASSIFY = "classify", "Classify products"
        BUILD_SIMILAR = "build_similar", "Build similar items"
        BUILD_HIERARCHY = "build_hierarchy", "Build hierarchy proposal"
        CHECK_TAXONOMY_FIT = "check_taxonomy_fit", "Check taxonomy fit"
        PLACE_PRODUCTS = "place_products", "Place new products in the tree"
        TRAIN_RECOMMENDER = "train_recommender", "Train recommender"
        BUILD_BOUGHT_TOGETHER = "build_bought_together", "Build bought together"
        TRAIN_DUPLICATE_SCORER = "train_duplicate_scorer", "Train duplicate scorer"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    # No `choices` on the column: each capability registers its kinds (recommend.core.jobs.job_handler).
    kind = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    progress = models.FloatField(default=0.0)
    message = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Written by the running worker every few seconds; a sweep fails or re-queues jobs whose worker is gone.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Set by staff ("Cancel"); the running handler sees it at its next progress report and stops.
    cancel_requested = models.BooleanField(default=False)
    queue = models.CharField(max_length=32, blank=True)
    # Which runner claimed it last: the Celery worker's node name (`training@host`), or `pid@host` elsewhere.
    worker = models.CharField(max_length=255, blank=True)
    # Not run before this time: debounced follow-up work waits for a quiet period, re-armed by later edits.
    run_after = models.DateTimeField(null=True, blank=True)
    # When its message last went to the broker: a queued job whose message was lost (Redis restarted empty) is
    # sent again by the sweep once it waited DERIVED_WORK_RESEND_SECONDS past this (and past run_after).
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "kind"], name="job_status_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    def get_kind_display(self) -> str:
        from recommend.core.jobs import job_kind_label

        return job_kind_label(self.kind)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class SimilarItem(models.Model):
    """A precomputed neighbour of a product, for one strategy of one similar-items model version."""

    class Strategy(models.TextChoices):
        CONTENT = "content", "Content"
        BEHAVIOR = "behavior", "Behaviour"
        HYBRID = "hybrid", "Hybrid"

    class Signal(models.TextChoices):
        CONTENT = "content", "Content"
        BEHAVIOR = "behavior", "Behaviour"
        BOTH = "both", "Content and behaviour"

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="similar_items")
    strategy = models.CharField(max_length=16, choices=Strategy.choices)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    neighbor = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField()
    score = models.FloatField()
    signal = models.CharField(max_length=16, choices=Signal.choices)

    class Meta:
        ordering = ["model_version", "strategy", "product", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "strategy", "product", "rank"], name="similar_item_unique_rank"
            )
        ]

    def __str__(self) -> str:
        return f"{self.product_id} -> {self.neighbor_id} ({self.strategy} #{self.rank})"


class DuplicatePair(models.Model):
    """Two listings that look like the same product, for staff to merge or dismiss. left_id < right_id."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MERGED = "merged", "Merged"
        NOT_DUPLICATE = "not_duplicate", "Not a duplicate"

    left = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    right = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    model_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score"]
        constraints = [
            models.UniqueConstraint(fields=["left", "right"], name="duplicate_pair_unique"),
            models.CheckConstraint(condition=models.Q(left__lt=models.F("right")), name="duplicate_pair_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.left_id} ~ {self.right_id} ({self.score:.2f})"


class CategorySuggestion(models.Model):
    """One of the classifier's top-k category paths for a product, with the words it attended to."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="category_suggestions")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="category_suggestions")
    rank = models.PositiveSmallIntegerField()
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    confidence = models.FloatField()
    # [[word, weight], ...], the tokens the attention weighted most, for staff to see why.
    attention = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["product", "model_version", "rank"], name="category_suggestion_unique")
        ]

    def __str__(self) -> str:
        return f"{self.product_id} -> {self.category_id} ({self.confidence:.2f})"


class ReviewQueueProduct(Product):
    """Products the classifier was unsure about, as the admin's review queue (a proxy: no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "product to review"
        verbose_name_plural = "review queue"


# Sequential recommender feedback lives with its capability; imported here so Django registers it.
# Bought-together rules and pin/block overrides (recommend.bought_together).
from recommend.bought_together.models import AssociationRule, PairOverride  # noqa: E402, F401

# The product-vector store of the shared core (recommend.core.vectors).
from recommend.core.models import DerivedWork, Experiment, ProductVector  # noqa: E402, F401

# Taxonomy proposals and their changes (recommend.hierarchy).
from recommend.hierarchy.models import ProposalChange, TaxonomyProposal  # noqa: E402, F401
from recommend.sequential.models import RecommendationFeedback  # noqa: E402, F401
