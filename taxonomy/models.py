"""The category tree and the attribute tree (group > attribute > value). Knows nothing of products."""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from mptt.models import MPTTModel, TreeForeignKey


class Category(MPTTModel):
    class Source(models.TextChoices):
        MANUAL = "manual", "Manual"
        IMPORTED = "imported", "Imported"
        PROPOSED = "proposed", "Proposed"

    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=255, allow_unicode=True)
    parent = TreeForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANUAL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class MPTTMeta:
        order_insertion_by = ["name"]

    class Meta:
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["parent", "slug"], name="category_unique_slug_per_parent"),
            models.UniqueConstraint(
                fields=["slug"],
                condition=models.Q(parent__isnull=True),
                name="category_unique_root_slug",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("storefront:category", kwargs={"pk": self.pk, "slug": self.slug})

    @property
    def ancestry(self) -> list["Category"]:
        """Root to self: THE way to get a category's path (a list of nodes).

        One query per node, or none when `taxonomy.selectors.category_ancestries` prefetched a
        whole page of nodes in one query.
        """
        prefetched = getattr(self, "_prefetched_ancestry", None)
        if prefetched is not None:
            return prefetched
        return list(self.get_ancestors(include_self=True))

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        self.__dict__.pop("_prefetched_ancestry", None)  # a reload may follow a move
        super().refresh_from_db(*args, **kwargs)

    @property
    def path(self) -> list[str]:
        return [node.name for node in self.ancestry]

    @property
    def path_display(self) -> str:
        return " > ".join(self.path)


class AttributeNode(MPTTModel):
    class Kind(models.TextChoices):
        GROUP = "group", "Group"
        ATTRIBUTE = "attribute", "Attribute"
        VALUE = "value", "Value"

    class DataType(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        BOOL = "bool", "Yes/no"
        ENUM = "enum", "Choice"

    # Which kinds may sit under which: a value only under an attribute, an attribute under a group.
    ALLOWED_PARENT_KINDS = {
        Kind.GROUP: {None, Kind.GROUP},
        Kind.ATTRIBUTE: {None, Kind.GROUP},
        Kind.VALUE: {Kind.ATTRIBUTE},
    }

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=255, allow_unicode=True)
    parent = TreeForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    data_type = models.CharField(max_length=16, choices=DataType.choices, blank=True)
    unit = models.CharField(max_length=32, blank=True)
    categories = models.ManyToManyField(
        Category, blank=True, related_name="attributes", help_text="Categories this attribute applies to."
    )
    source = models.CharField(max_length=16, choices=Category.Source.choices, default=Category.Source.MANUAL)

    class MPTTMeta:
        order_insertion_by = ["name"]

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["parent", "slug"], name="attribute_unique_slug_per_parent"),
            models.UniqueConstraint(
                fields=["slug"],
                condition=models.Q(parent__isnull=True),
                name="attribute_unique_root_slug",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        parent_kind = self.parent.kind if self.parent_id else None
        if parent_kind not in self.ALLOWED_PARENT_KINDS.get(self.kind, set()):
            raise ValidationError({"parent": f"A {self.kind} cannot be placed under a {parent_kind or 'root'}."})
        if self.kind == self.Kind.ATTRIBUTE and not self.data_type:
            raise ValidationError({"data_type": "An attribute needs a data type."})
        if self.kind != self.Kind.ATTRIBUTE and self.data_type:
            raise ValidationError({"data_type": "Only attributes have a data type."})


class CategoryEdit(models.Model):
    """One staff change to the category tree with the state before it, so the admin can undo it.

    `previous` holds what an undo needs: for a move the old parent and left sibling, for a rename
    the old name and slug, for a merge (catalog.services) the children and products that moved.
    """

    class Kind(models.TextChoices):
        MOVE = "move", "Move"
        RENAME = "rename", "Rename"
        MERGE = "merge", "Merge"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    category = models.ForeignKey(Category, null=True, on_delete=models.SET_NULL, related_name="edits")
    target = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    summary = models.CharField(max_length=500)
    previous = models.JSONField(default=dict)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.summary
