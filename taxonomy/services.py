"""Writes to the taxonomy: resolving category paths in bulk, moving and renaming nodes."""

from collections.abc import Iterable, Sequence

from django.db import transaction
from django.utils.text import slugify
from mptt.exceptions import InvalidMove
from mptt.models import MPTTModel

from taxonomy.models import AttributeNode, Category
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


def category_move(*, category: Category, target: Category | None, position: str = "last-child") -> Category:
    """Move a category (with its subtree) under `target`; refuses to move a node into itself."""
    return tree_node_move(node=category, target=target, position=position)


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
