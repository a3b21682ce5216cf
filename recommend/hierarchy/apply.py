"""Apply a reviewed proposal in one transaction, and undo it exactly.

The apply writes parents with MPTT updates disabled and rebuilds the tree once. Before it, every category's
row (parent, name, slug, is_active and its tree position: lft, rght, tree_id, level) and every moved product's
category and review flag go into the proposal's snapshot, so an undo writes them back as they were and deletes
the categories the apply created. An undo is refused once the tree changed after the apply (a fingerprint of
every category's parent, name, slug and activity), because writing old rows over a later edit would lose it.
"""

import hashlib
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from catalog.models import Product
from catalog.signals import products_changed
from recommend.core.registry import model_version_activate, model_version_mark
from recommend.hierarchy.models import ProposalChange, TaxonomyProposal
from recommend.models import ModelVersion
from taxonomy.models import Category, CategoryEdit
from taxonomy.services import unique_slug
from taxonomy.signals import taxonomy_changed

TREE_FIELDS = ("parent_id", "name", "slug", "is_active", "lft", "rght", "tree_id", "level")
# Product sources the review queue lists (the classifier's own); staff's and imported labels are not re-queued.
REVIEW_SOURCES = (Product.CategorySource.NONE, Product.CategorySource.AUTOMATIC)


def tree_fingerprint() -> str:
    digest = hashlib.sha256()
    for row in Category.objects.order_by("pk").values_list("pk", "parent_id", "name", "slug", "is_active"):
        digest.update(repr(row).encode())
    return digest.hexdigest()


def category_rows() -> list[list[Any]]:
    return [list(row) for row in Category.objects.order_by("pk").values_list("pk", *TREE_FIELDS)]


class _Applier:
    """One apply: resolves each proposed node to a live category, creating the accepted new ones."""

    def __init__(self, proposal: TaxonomyProposal) -> None:
        self.proposal = proposal
        self.nodes = proposal.nodes_by_key
        self.accepted = list(proposal.changes.filter(decision=ProposalChange.Decision.ACCEPTED))
        self.resolved: dict[str, int] = {key: n["category_id"] for key, n in self.nodes.items() if n.get("category_id")}
        self.categories = {c.pk: c for c in Category.objects.all()}
        self.created: list[int] = []
        self.touched: set[int] = set()
        self.notes: list[str] = []
        self.merged_sources: list[int] = []

    def parent_for(self, key: str) -> int | None:
        """The category a node's category goes under: its parent node's, or the nearest one resolved above."""
        parent_key = self.nodes[key]["parent_key"]
        while parent_key is not None:
            if parent_key in self.resolved:
                return self.resolved[parent_key]
            parent_key = self.nodes[parent_key]["parent_key"]
        return self.proposal.scope_id

    def siblings_slugs(self, parent_id: int | None, exclude: int | None = None) -> set[str]:
        return {c.slug for c in self.categories.values() if c.parent_id == parent_id and c.pk != exclude}

    def keep_slug(self, category: Category, parent_id: int | None) -> str:
        """The category's slug unless a sibling under `parent_id` has it (slugs are unique per parent)."""
        taken = self.siblings_slugs(parent_id, exclude=category.pk)
        return category.slug if category.slug not in taken else unique_slug(category.name, taken)

    def save(self, category: Category, *fields: str) -> None:
        category.save(update_fields=[*fields, "updated_at"])
        self.touched.add(category.pk)

    def create_new(self) -> None:
        new = [c for c in self.accepted if c.kind == ProposalChange.Kind.NEW]
        for change in sorted(new, key=lambda c: self.nodes[c.node_key]["level"]):
            parent_id = self.parent_for(change.node_key)
            name = change.name or self.nodes[change.node_key]["label"]
            category = Category(
                name=name[:255],
                slug=unique_slug(name, self.siblings_slugs(parent_id)),
                parent_id=parent_id,
                source=Category.Source.PROPOSED,
                lft=0,
                rght=0,
                tree_id=0,
                level=0,
            )
            category.save()
            self.categories[category.pk] = category
            self.resolved[change.node_key] = category.pk
            self.created.append(category.pk)
            self.touched.add(category.pk)

    def move_and_merge(self) -> None:
        for change in self.accepted:
            category = self.categories.get(change.target_id) if change.target_id else None
            if change.kind == ProposalChange.Kind.MOVE and category is not None:
                parent_key = self.nodes[change.node_key]["parent_key"]
                if parent_key is not None and parent_key not in self.resolved:
                    label = self.nodes[parent_key]["label"]
                    self.notes.append(f"“{category.name}” stayed: the new “{label}” it was to go under was dropped.")
                    continue
                parent_id = self.parent_for(change.node_key)
                if parent_id == category.pk or self._is_below(parent_id, category.pk):
                    self.notes.append(f"“{category.name}” was not moved into its own subtree.")
                    continue
                category.parent_id = parent_id
                category.slug = self.keep_slug(category, parent_id)
                self.save(category, "parent", "slug")
            elif change.kind == ProposalChange.Kind.MERGE and category is not None and change.source_id:
                self._merge(self.categories[change.source_id], category)

    def _is_below(self, category_id: int | None, ancestor_id: int) -> bool:
        while category_id is not None:
            if category_id == ancestor_id:
                return True
            category_id = self.categories[category_id].parent_id
        return False

    def _merge(self, source: Category, into: Category) -> None:
        """The merged category's remaining subcategories go under the target; it is hidden once it is empty."""
        for child in [c for c in self.categories.values() if c.parent_id == source.pk]:
            if child.pk == into.pk or self._is_below(into.pk, child.pk):
                continue
            child.parent_id = into.pk
            child.slug = self.keep_slug(child, into.pk)
            self.save(child, "parent", "slug")
        self.merged_sources.append(source.pk)

    def rename(self) -> None:
        for change in self.accepted:
            category = self.categories.get(change.target_id) if change.target_id else None
            if change.kind != ProposalChange.Kind.RENAME or category is None or not change.name:
                continue
            category.name = change.name[:255]
            category.slug = unique_slug(change.name, self.siblings_slugs(category.parent_id, exclude=category.pk))
            self.save(category, "name", "slug")

    def product_moves(self) -> dict[int, list[int]]:
        """{target category id: product ids} of the accepted changes whose node has a category now."""
        targets: dict[int, list[int]] = {}
        for change in self.accepted:
            for key, ids in (change.moves or {}).items():
                if key in self.resolved:
                    targets.setdefault(self.resolved[key], []).extend(ids)
                else:
                    self.notes.append(
                        f"{len(ids)} products of “{self.nodes[key]['label']}” stayed: its category was dropped."
                    )
        return targets


def _move_products(targets: dict[int, list[int]]) -> list[list[Any]]:
    """Reassign products; returns [id, previous category, previous review flag, new category] per moved product."""
    moved = []
    now = timezone.now()
    for category_id, ids in targets.items():
        rows = Product.objects.filter(pk__in=ids).exclude(category_id=category_id)
        previous = list(rows.values_list("pk", "category_id", "needs_review", "category_source"))
        moved += [[pk, before, review, category_id] for pk, before, review, _ in previous]
        changed = [pk for pk, *_ in previous]
        Product.objects.filter(pk__in=changed).update(category_id=category_id, updated_at=now)
        Product.objects.filter(pk__in=changed, category_source__in=REVIEW_SOURCES).update(needs_review=True)
    return moved


def _hide_empty(category_ids: Iterable[int]) -> list[int]:
    hidden = []
    for pk in category_ids:
        category = Category.objects.get(pk=pk)
        below = category.get_descendants(include_self=True)
        if not Product.objects.filter(category__in=below, is_active=True).exists():
            Category.objects.filter(pk=pk).update(is_active=False, updated_at=timezone.now())
            hidden.append(pk)
    return hidden


def _proposal_version(proposal: TaxonomyProposal) -> ModelVersion | None:
    """The hierarchy model version holding the proposal's centroids (made by its build)."""
    version_id = (proposal.stats or {}).get("model_version")
    return ModelVersion.objects.filter(pk=version_id).first() if version_id else None


def _activate_centroids(proposal: TaxonomyProposal) -> int | None:
    """The proposal's centroids become the active hierarchy (new products are placed with them)."""
    previous = ModelVersion.objects.filter(kind=ModelVersion.Kind.HIERARCHY, status=ModelVersion.Status.ACTIVE).first()
    version = _proposal_version(proposal)
    if version is not None and version.status != ModelVersion.Status.FAILED:
        model_version_activate(version=version)
    return previous.pk if previous else None


def _tell_others(category_ids: list[int], product_ids: list[int]) -> None:
    """One tree signal (the classifier retrains once, similar items and search re-embed once) and the products."""
    taxonomy_changed.send(sender=Category, reason="move", category_ids=category_ids or None)
    if product_ids:
        transaction.on_commit(lambda: products_changed.send(sender=Product, product_ids=product_ids))


@transaction.atomic
def proposal_apply(*, proposal: TaxonomyProposal, user: Any = None) -> TaxonomyProposal:
    """Apply the accepted changes; ValueError (nothing changed) when the proposal is not ready or has none."""
    proposal = TaxonomyProposal.objects.select_for_update().get(pk=proposal.pk)
    if proposal.status != TaxonomyProposal.Status.READY:
        raise ValueError(
            f"Only a proposal ready for review can be applied; this one is {proposal.get_status_display().lower()}."
        )
    if not proposal.changes.filter(decision=ProposalChange.Decision.ACCEPTED).exists():
        raise ValueError("No change is accepted: accept the changes to apply first.")
    before = category_rows()
    applier = _Applier(proposal)
    with Category.objects.disable_mptt_updates():
        applier.create_new()
        applier.move_and_merge()
        applier.rename()
    Category.objects.rebuild()
    moved = _move_products(applier.product_moves())
    hidden = _hide_empty(applier.merged_sources)
    previous_version = _activate_centroids(proposal)
    proposal.snapshot = {
        "categories": before,
        "created": applier.created,
        "products": moved,
        "hidden": hidden,
        "node_categories": applier.resolved,
        "fingerprint": tree_fingerprint(),
        "previous_version": previous_version,
        "notes": list(dict.fromkeys(applier.notes)),
    }
    proposal.status = TaxonomyProposal.Status.APPLIED
    proposal.applied_at, proposal.applied_by = timezone.now(), user if getattr(user, "pk", None) else None
    proposal.save()
    _tell_others(sorted(applier.touched | set(hidden)), [row[0] for row in moved])
    return proposal


def undo_refusal(proposal: TaxonomyProposal) -> str:
    """Why this proposal cannot be undone now, in words ("" when it can)."""
    if proposal.status != TaxonomyProposal.Status.APPLIED:
        return f"Only an applied proposal can be undone; this one is {proposal.get_status_display().lower()}."
    if tree_fingerprint() != proposal.snapshot.get("fingerprint"):
        later = CategoryEdit.objects.filter(created_at__gt=proposal.applied_at).first()
        what = f" (latest: “{later.summary}”)" if later else ""
        return (
            "The category tree was edited after this proposal was applied" + what + ". Undoing it would overwrite "
            "those edits: undo them first, or reorganise by hand."
        )
    created = proposal.snapshot.get("created", [])
    moved_ids = {row[0] for row in proposal.snapshot.get("products", [])}
    strangers = Product.objects.filter(category_id__in=created).exclude(pk__in=moved_ids).count()
    if strangers:
        return f"{strangers} products were put into the proposal's new categories since: move them out first."
    return ""


@transaction.atomic
def proposal_undo(*, proposal: TaxonomyProposal) -> TaxonomyProposal:
    """Put the tree and the moved products back exactly as before the apply; ValueError when refused."""
    proposal = TaxonomyProposal.objects.select_for_update().get(pk=proposal.pk)
    refusal = undo_refusal(proposal)
    if refusal:
        raise ValueError(refusal)
    snapshot = proposal.snapshot
    restored = []
    for pk, before, review, after in snapshot.get("products", []):
        # A product staff moved again since keeps its new place.
        if Product.objects.filter(pk=pk, category_id=after).update(category_id=before, needs_review=review):
            restored.append(pk)
    rows = {row[0]: row[1:] for row in snapshot["categories"]}
    with Category.objects.disable_mptt_updates():
        _restore(rows)
        Category.objects.filter(pk__in=snapshot.get("created", [])).delete()
        _restore(rows)  # a delete may close the gaps it leaves in lft/rght: the positions are written again
    previous_id = snapshot.get("previous_version")
    previous = ModelVersion.objects.filter(pk=previous_id).first() if previous_id else None
    if previous is not None:
        model_version_activate(version=previous)
    else:
        current = _proposal_version(proposal)
        if current is not None:
            model_version_mark(version=current, status=ModelVersion.Status.RETIRED)
    proposal.status, proposal.undone_at = TaxonomyProposal.Status.UNDONE, timezone.now()
    proposal.save(update_fields=["status", "undone_at"])
    _tell_others(sorted(rows), restored)
    return proposal


def _restore(rows: dict[int, list[Any]]) -> None:
    categories = list(Category.objects.filter(pk__in=list(rows)))
    for category in categories:
        for name, value in zip(TREE_FIELDS, rows[category.pk], strict=True):
            setattr(category, name, value)
    Category.objects.bulk_update(categories, list(TREE_FIELDS), batch_size=500)
