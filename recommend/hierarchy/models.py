"""Tables of taxonomy proposals: a built category tree for staff to review as changes against the live one.

They live in recommend (not taxonomy) because applying a proposal reassigns catalog products. Imported from
`recommend/models.py` so Django registers them with the `recommend` app.
"""

from django.conf import settings
from django.db import models

from taxonomy.models import Category


class TaxonomyProposal(models.Model):
    """One build of the hierarchy for the whole catalog or one subtree, and what became of it.

    `tree` holds the proposed nodes, coarse to fine: {key, parent_key, level, label, size, examples (three
    titles), cohesion, category_id (the matched live category or null), product_ids}. `attributes` holds the
    mined attribute tree ({groups: [{name, attributes: [{name, synonyms, data_type, unit, values, products}]}]})
    and `attribute_links` the category links ({attribute, node_key, category_id, coverage}).
    `snapshot` is what an undo needs (see recommend.hierarchy.apply).
    """

    class Status(models.TextChoices):
        BUILDING = "building", "Building"
        READY = "ready", "Ready for review"
        APPLIED = "applied", "Applied"
        UNDONE = "undone", "Undone"
        FAILED = "failed", "Failed"
        DISMISSED = "dismissed", "Dismissed"

    class Origin(models.TextChoices):
        MANUAL = "manual", "Started by staff"
        AUTOMATIC = "automatic", "Proposed automatically"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.BUILDING, db_index=True)
    scope = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Root of the subtree this proposal rebuilds; empty: the whole catalog.",
    )
    depth = models.PositiveSmallIntegerField(default=3)
    method = models.CharField(max_length=32, blank=True)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.MANUAL)
    reason = models.CharField(max_length=500, blank=True)
    tree = models.JSONField(default=list, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    attribute_links = models.JSONField(default=list, blank=True)
    stats = models.JSONField(default=dict, blank=True)
    job = models.ForeignKey("recommend.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True)
    snapshot = models.JSONField(default=dict, blank=True)

    class Meta:
        app_label = "recommend"
        ordering = ["-created_at", "-id"]
        verbose_name = "taxonomy proposal"

    def __str__(self) -> str:
        where = self.scope.name if self.scope_id and self.scope else "whole catalog"
        return f"Taxonomy proposal #{self.pk} ({where}, {self.get_status_display().lower()})"

    @property
    def nodes_by_key(self) -> dict[str, dict]:
        return {node["key"]: node for node in self.tree}


class ProposalChange(models.Model):
    """One difference between a proposal and the live tree, for staff to accept or drop before the apply.

    `moves` maps a proposed node key to the ids of the products this change puts into that node's category;
    `product_ids` is all of them (what the review page lists).
    """

    class Kind(models.TextChoices):
        NEW = "new", "New category"
        RENAME = "rename", "Rename"
        MOVE = "move", "Move"
        MERGE = "merge", "Merge"
        SPLIT = "split", "Split"

    class Decision(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DROPPED = "dropped", "Dropped"

    proposal = models.ForeignKey(TaxonomyProposal, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    node_key = models.CharField(max_length=32)
    target = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="A merge: the category merged away.",
    )
    name = models.CharField(max_length=255, blank=True, help_text="The new name (new and rename); staff may edit it.")
    summary = models.CharField(max_length=1000)
    product_count = models.PositiveIntegerField(default=0)
    product_ids = models.JSONField(default=list, blank=True)
    moves = models.JSONField(default=dict, blank=True)
    decision = models.CharField(max_length=16, choices=Decision.choices, default=Decision.PENDING)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        app_label = "recommend"
        ordering = ["proposal", "position", "id"]

    def __str__(self) -> str:
        return self.summary
