"""Writes to the taxonomy: resolving category paths in bulk, moving and renaming nodes, undoing edits."""

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from mptt.exceptions import InvalidMove
from mptt.models import MPTTModel

from taxonomy.models import AttributeNode, Category, CategoryEdit
from taxonomy.signals import taxonomy_changed


def unique_slug(name: str, taken: set[str]) -> str:
    """Slug for `name` that is not in `taken` (siblings' slugs); records the result in `taken`."""
    base = slugify(name, allow_unicode=True)[:240] or "node"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


class CategoryPathResolver:
    """Maps category paths (lists of names) to Category ids, creating missing nodes in bulk.

    One instance serves a whole import: it loads the tree once, creates new nodes with MPTT
    updates disabled (parents before children, one bulk insert per depth) and rebuilds the
    tree fields once in `finish()`.
    """

    def __init__(self, *, source: str = Category.Source.IMPORTED) -> None:
        self.source = source
        self.by_key: dict[tuple[int | None, str], int] = {}
        self.slugs: dict[int | None, set[str]] = {}
        for pk, parent_id, name, slug in Category.objects.values_list("pk", "parent_id", "name", "slug"):
            self.by_key[(parent_id, name.casefold())] = pk
            self.slugs.setdefault(parent_id, set()).add(slug)
        self.created = 0

    def resolve_many(self, paths: Iterable[Sequence[str]]) -> dict[tuple[str, ...], int]:
        """Return {path: leaf category id} for every non-empty path, creating what is missing."""
        paths = {tuple(name.strip() for name in path if name.strip()) for path in paths}
        paths.discard(())
        result: dict[tuple[str, ...], int] = {}
        ids: dict[tuple[str, ...], int | None] = {(): None}
        max_depth = max((len(p) for p in paths), default=0)
        for depth in range(1, max_depth + 1):
            prefixes = sorted({p[:depth] for p in paths if len(p) >= depth})
            missing: list[tuple[tuple[str, ...], Category]] = []
            for prefix in prefixes:
                parent_id = ids[prefix[:-1]]
                key = (parent_id, prefix[-1].casefold())
                if key in self.by_key:
                    ids[prefix] = self.by_key[key]
                    continue
                taken = self.slugs.setdefault(parent_id, set())
                node = Category(
                    name=prefix[-1][:255],
                    slug=unique_slug(prefix[-1], taken),
                    parent_id=parent_id,
                    source=self.source,
                    lft=0,
                    rght=0,
                    tree_id=0,
                    level=depth - 1,
                )
                missing.append((prefix, node))
            if missing:
                with Category.objects.disable_mptt_updates():
                    Category.objects.bulk_create([node for _, node in missing], batch_size=1000)
                self.created += len(missing)
                for prefix, node in missing:
                    ids[prefix] = node.pk
                    self.by_key[(node.parent_id, prefix[-1].casefold())] = node.pk
        for path in paths:
            result[path] = ids[path]  # type: ignore[assignment]
        return result

    def finish(self) -> None:
        if self.created:
            Category.objects.rebuild()
            taxonomy_changed.send(sender=Category, reason="import", category_ids=None)


def category_create(*, name: str, parent: Category | None = None, description: str = "") -> Category:
    taken = set(Category.objects.filter(parent=parent).values_list("slug", flat=True))
    category = Category(name=name, parent=parent, description=description, slug=unique_slug(name, taken))
    category.full_clean()
    category.save()
    taxonomy_changed.send(sender=Category, reason="create", category_ids=[category.pk])
    return category


CHILD_POSITIONS = ("first-child", "last-child")


def _new_parent(target: MPTTModel | None, position: str) -> MPTTModel | None:
    if target is None or position in CHILD_POSITIONS:
        return target
    return target.parent  # "left" / "right": a sibling of target


@transaction.atomic
def tree_node_move(*, node: MPTTModel, target: MPTTModel | None, position: str = "last-child") -> MPTTModel:
    """Move a node of either tree (with its subtree) next to or under `target`.

    Refuses a move into the node's own subtree and one that would give two siblings the same slug
    (slugs are unique per parent, and the storefront URLs use them).
    """
    if position not in (*CHILD_POSITIONS, "left", "right"):
        raise ValueError(f"Unknown position {position!r}.")
    if target is not None and (target == node or target.is_descendant_of(node)):
        raise ValueError(f"A {node._meta.verbose_name} cannot be moved into itself or one of its descendants.")
    parent = _new_parent(target, position)
    clash = type(node)._default_manager.filter(parent=parent, slug=node.slug).exclude(pk=node.pk)
    if clash.exists():
        raise ValueError(
            f"Cannot move “{node}”: “{parent or 'the top level'}” already has a child with the slug "
            f"“{node.slug}”. Rename one of them first."
        )
    try:
        node.move_to(target, position)
    except InvalidMove as error:
        raise ValueError(str(error)) from None
    node.refresh_from_db()
    taxonomy_changed.send(sender=type(node), reason="move", category_ids=[node.pk])
    return node


def _position_of(node: MPTTModel) -> dict[str, Any]:
    """Where a node sits now: its parent and its left sibling (None when it is the first child)."""
    left = node.get_previous_sibling()
    return {"parent_id": node.parent_id, "left_sibling_id": left.pk if left else None}


def _move_back(node: Category, position: dict[str, Any]) -> None:
    left = Category.objects.filter(pk=position.get("left_sibling_id")).first()
    parent = Category.objects.filter(pk=position.get("parent_id")).first()
    if position.get("parent_id") and parent is None:
        raise ValueError("The former parent no longer exists.")
    if left is not None and left.parent_id == position.get("parent_id"):
        tree_node_move(node=node, target=left, position="right")
    elif parent is not None:
        tree_node_move(node=node, target=parent, position="first-child")
    else:
        first_root = Category.objects.root_nodes().exclude(pk=node.pk).order_by("tree_id").first()
        if node.parent_id is not None or first_root is None:
            tree_node_move(node=node, target=first_root, position="left")


@transaction.atomic
def category_move(
    *, category: Category, target: Category | None, position: str = "last-child", user: Any = None
) -> CategoryEdit:
    """Move a category (with its subtree) under `target`; the old place is recorded for undo."""
    before = _position_of(category)
    tree_node_move(node=category, target=target, position=position)
    where = category.parent.path_display if category.parent_id else "the top level"
    return CategoryEdit.objects.create(
        kind=CategoryEdit.Kind.MOVE,
        category=category,
        target=target,
        summary=f"Moved “{category.name}” to “{where}”",
        previous=before,
        user=user if getattr(user, "pk", None) else None,
    )


@transaction.atomic
def category_rename(*, category: Category, name: str, slug: str = "", user: Any = None) -> CategoryEdit:
    """Rename a category (and re-slug it unless `slug` is given); the old name is recorded for undo."""
    siblings = Category.objects.filter(parent_id=category.parent_id).exclude(pk=category.pk)
    taken = set(siblings.values_list("slug", flat=True))
    if slug in taken:  # a slug staff chose; a generated one (below) never clashes
        raise ValueError(f"A sibling already has the slug “{slug}”.")
    slug = slug or unique_slug(name, taken)
    edit = category_edit_record(
        category=category,
        kind=CategoryEdit.Kind.RENAME,
        summary=f"Renamed “{category.name}” to “{name}”",
        previous={"name": category.name, "slug": category.slug},
        user=user,
    )
    category.name, category.slug = name, slug
    category.save(update_fields=["name", "slug", "updated_at"])
    taxonomy_changed.send(sender=Category, reason="rename", category_ids=[category.pk])
    return edit


def category_edit_record(
    *,
    category: Category,
    kind: str,
    summary: str,
    previous: dict[str, Any],
    target: Category | None = None,
    user: Any = None,
) -> CategoryEdit:
    """Store an edit made elsewhere (the admin form, a merge in catalog) so it can be undone."""
    return CategoryEdit.objects.create(
        kind=kind,
        category=category,
        target=target,
        summary=summary[:500],
        previous=previous,
        user=user if getattr(user, "pk", None) else None,
    )


def category_edit_lock_for_undo(*, edit: CategoryEdit, missing: str = "The category no longer exists.") -> CategoryEdit:
    """The edit row locked for an undo (inside the caller's transaction); ValueError if it cannot be undone."""
    edit = CategoryEdit.objects.select_for_update().get(pk=edit.pk)
    if edit.undone_at is not None:
        raise ValueError("This change was already undone.")
    if edit.category is None:
        raise ValueError(missing)
    return edit


@transaction.atomic
def category_edit_undo(*, edit: CategoryEdit) -> CategoryEdit:
    """Put a moved or renamed category back as it was (merges are undone by catalog.services)."""
    edit = category_edit_lock_for_undo(edit=edit)
    category = edit.category
    if edit.kind == CategoryEdit.Kind.MOVE:
        _move_back(category, edit.previous)
    elif edit.kind == CategoryEdit.Kind.RENAME:
        siblings = Category.objects.filter(parent_id=category.parent_id).exclude(pk=category.pk)
        if siblings.filter(slug=edit.previous["slug"]).exists():
            raise ValueError(f"A sibling now has the slug “{edit.previous['slug']}”.")
        category.name, category.slug = edit.previous["name"], edit.previous["slug"]
        category.save(update_fields=["name", "slug", "updated_at"])
        taxonomy_changed.send(sender=Category, reason="rename", category_ids=[category.pk])
    else:
        raise ValueError(f"A {edit.get_kind_display().lower()} is undone by the service that made it.")
    return category_edit_mark_undone(edit=edit)


def category_edit_mark_undone(*, edit: CategoryEdit) -> CategoryEdit:
    edit.undone_at = timezone.now()
    edit.save(update_fields=["undone_at"])
    return edit


def attribute_get_or_create(
    *, name: str, data_type: str = AttributeNode.DataType.TEXT, group: AttributeNode | None = None
) -> AttributeNode:
    slug = slugify(name, allow_unicode=True)[:240] or "attribute"
    node = AttributeNode.objects.filter(parent=group, slug=slug).first()
    if node is None:
        node = AttributeNode.objects.create(
            kind=AttributeNode.Kind.ATTRIBUTE,
            name=name,
            slug=slug,
            parent=group,
            data_type=data_type,
            source=Category.Source.IMPORTED,
        )
    return node


def attribute_group_get_or_create(*, name: str) -> AttributeNode:
    slug = slugify(name, allow_unicode=True)[:240] or "group"
    node, _ = AttributeNode.objects.get_or_create(
        parent=None,
        slug=slug,
        defaults={"kind": AttributeNode.Kind.GROUP, "name": name, "source": Category.Source.IMPORTED},
    )
    return node


def attribute_value_get_or_create(*, attribute: AttributeNode, value: str) -> AttributeNode:
    slug = slugify(value, allow_unicode=True)[:240] or "value"
    node, _ = AttributeNode.objects.get_or_create(
        parent=attribute,
        slug=slug,
        defaults={"kind": AttributeNode.Kind.VALUE, "name": value[:255], "source": Category.Source.IMPORTED},
    )
    return node
