"""Writes to the catalog: product create/update, imports, bulk category and visibility changes, ingest."""

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from catalog.brands import brand_known_ids, brands_ensure
from catalog.importers import ImportReport, InteractionMapping, ProductMapping, import_interactions, import_products
from catalog.importers.base import ProgressCallback, read_rows
from catalog.importers.presets import PRESETS, ImportStep
from catalog.models import Brand, Interaction, Product, VisitorPreference
from catalog.selectors import of_person
from catalog.signals import interactions_imported, products_changed
from taxonomy.models import Category, CategoryEdit
from taxonomy.services import (
    category_edit_lock_for_undo,
    category_edit_mark_undone,
    category_edit_record,
    tree_node_move,
)
from taxonomy.signals import taxonomy_changed


def import_steps(
    steps: Sequence[ImportStep],
    *,
    strict: bool = False,
    progress: ProgressCallback | None = None,
    show_progress_bar: bool = False,
) -> list[ImportReport]:
    """Run import steps in order; progress is spread over the steps by their row counts."""
    for step in steps:
        if not step.path.exists():
            raise FileNotFoundError(f"Data file not found: {step.path}")
    grand_total = sum(step.total for step in steps) or 1
    done = 0
    reports = []
    for step in steps:

        def step_progress(fraction: float, message: str, offset: int = done, size: int = step.total) -> None:
            if progress:
                progress((offset + fraction * size) / grand_total, message)

        importer = import_products if step.kind == "products" else import_interactions
        reports.append(
            importer(
                step.rows(),
                mapping=step.mapping,  # type: ignore[arg-type]
                file_name=step.path.name,
                strict=strict,
                total=step.total,
                progress=step_progress,
                show_progress_bar=show_progress_bar,
            )
        )
        done += step.total
    return reports


def import_preset(
    *, name: str, data_dir: Path, limit: int | None = None, strict: bool = False, **kwargs: Any
) -> list[ImportReport]:
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}; choose one of {', '.join(PRESETS)}.")
    return import_steps(PRESETS[name](data_dir, limit), strict=strict, **kwargs)


def import_file(
    *,
    path: Path,
    kind: str,
    mapping: ProductMapping | InteractionMapping,
    strict: bool = False,
    limit: int | None = None,
    **kwargs: Any,
) -> ImportReport:
    from catalog.importers.presets import count_rows, limited

    is_jsonl = path.name.removesuffix(".gz").endswith((".jsonl", ".ndjson"))
    total = sum(1 for _ in read_rows(path)) if is_jsonl else count_rows(path)
    step = ImportStep(kind, path, mapping, lambda: limited(read_rows(path), limit), min(total, limit or total))
    return import_steps([step], strict=strict, **kwargs)[0]


def brand_get_or_create(*, name: str) -> Brand | None:
    """The brand called `name` ignoring case (created on first use), as the importers resolve it; None for blank."""
    name = name.strip()
    if not name:
        return None
    existing = Brand.objects.filter(name=name).first()
    if existing is not None:
        return existing
    known = brands_ensure([name], brand_known_ids())
    return Brand.objects.get(pk=known[name.casefold()])


def _product_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Field values from validated input: a brand given by name, a category given by staff is manual."""
    fields = dict(data)
    if "brand" in fields:
        fields["brand"] = brand_get_or_create(name=fields["brand"] or "")
    if "category" in fields:
        fields["category_source"] = Product.CategorySource.MANUAL if fields["category"] else ""
    return fields


@transaction.atomic
def product_create(*, data: dict[str, Any]) -> Product:
    """Create a product from validated fields (`brand` is a name, `category` a Category or None)."""
    return Product.objects.create(**_product_fields(data))


@transaction.atomic
def product_update(*, product: Product, data: dict[str, Any]) -> Product:
    """Change the given fields only (a partial update passes fewer keys); the same rules as create."""
    for key, value in _product_fields(data).items():
        setattr(product, key, value)
    product.save()
    return product


def products_set_active(*, product_ids: Sequence[int], is_active: bool) -> int:
    """Show or hide products in the shop. Returns how many rows changed."""
    return Product.objects.filter(pk__in=product_ids).update(is_active=is_active, updated_at=timezone.now())


@transaction.atomic
def products_set_category(*, product_ids: Sequence[int], category: Category | None) -> int:
    """Staff put products into a category: the choice is manual and the classifier will not undo it."""
    updated = Product.objects.filter(pk__in=product_ids).update(
        category=category,
        category_source=Product.CategorySource.MANUAL if category else Product.CategorySource.NONE,
        updated_at=timezone.now(),
    )
    transaction.on_commit(lambda: products_changed.send(sender=Product, product_ids=list(product_ids)))
    return updated


def interactions_ingest(*, events: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Store validated events (dicts with product, event, visitor_id, timestamp, ...).

    Events whose event_id is already stored are skipped, so a client can safely resend a batch.
    """
    event_ids = [e["event_id"] for e in events if e.get("event_id")]
    seen = set(Interaction.objects.filter(event_id__in=event_ids).values_list("event_id", flat=True))
    declined = personalisation_declined({event["visitor_id"] for event in events})
    new: dict[str, Interaction] = {}
    for index, event in enumerate(events):
        if event["visitor_id"] in declined or (event.get("event_id") and event["event_id"] in seen):
            continue
        key = event.get("event_id") or f"#{index}"
        new[key] = Interaction(
            visitor_id=event["visitor_id"],
            user_id=event.get("user_id"),
            product=event.get("product"),
            event=event["event"],
            query=event.get("query", ""),
            order_id=event.get("order_id", ""),
            event_id=event.get("event_id") or None,
            timestamp=event.get("timestamp") or timezone.now(),
        )
    with transaction.atomic():
        stored = _interactions_insert(list(new.values()))
        purchases = sum(item.event == Interaction.Event.PURCHASE for item in stored)
        if stored:
            transaction.on_commit(
                lambda: interactions_imported.send(sender=Interaction, created=len(stored), purchases=purchases)
            )
    refused = sum(event["visitor_id"] in declined for event in events)
    return {"created": len(stored), "duplicates": len(events) - len(stored) - refused, "declined": refused}


def _interactions_insert(rows: list[Interaction]) -> list[Interaction]:
    """Insert the rows and return those actually stored.

    The event ids were checked just before, but another request may store the same id in between (a client
    resending a batch at once): then the one bulk insert fails on the unique event_id and the rows go in one
    at a time, each in its own savepoint, so exactly the rows this call stored are counted as created.
    """
    try:
        with transaction.atomic():
            Interaction.objects.bulk_create(rows)
        return rows
    except IntegrityError:
        for row in rows:
            row.pk = None  # a batch inserted before the failing one was rolled back with it
    plain = [row for row in rows if not row.event_id]
    Interaction.objects.bulk_create(plain)
    stored = list(plain)
    for row in rows:
        if not row.event_id:
            continue
        try:
            with transaction.atomic():
                row.save(force_insert=True)
            stored.append(row)
        except IntegrityError:
            continue  # another writer stored this event id first: a duplicate
    return stored


def personalisation_declined(visitor_ids: set[str]) -> set[str]:
    """The ids among these whose events are not stored: personalisation switched off, or erased ("forget me")."""
    rows = VisitorPreference.objects.filter(Q(personalised=False) | Q(erased=True), visitor_id__in=list(visitor_ids))
    return set(rows.values_list("visitor_id", flat=True))


def visitor_personalisation_set(*, visitor_ids: Sequence[str], enabled: bool, user: Any = None) -> None:
    """Switch personalisation for these ids (and, for a signed-in shopper, every id linked to the account)."""
    linked = VisitorPreference.objects.filter(user=user) if user is not None else VisitorPreference.objects.none()
    for visitor_id in {*visitor_ids, *linked.values_list("visitor_id", flat=True)}:
        defaults = {"personalised": enabled, **({"user": user} if user is not None else {})}
        VisitorPreference.objects.update_or_create(visitor_id=visitor_id, defaults=defaults)


@transaction.atomic
def visitor_link(*, visitor_id: str, user: Any) -> None:
    """At sign-in: this browser's id joins the account, so its events, export, erase and opt-out follow the
    person. An opt-out made on any of the person's ids (before or after signing in) applies to all of them."""
    preference, _ = VisitorPreference.objects.get_or_create(visitor_id=visitor_id, defaults={"user": user})
    if preference.erased:
        return
    if preference.user_id != user.pk:
        preference.user = user
        preference.save(update_fields=["user", "updated_at"])
    Interaction.objects.filter(visitor_id=visitor_id, user__isnull=True).update(user=user)
    linked = VisitorPreference.objects.filter(user=user)
    if linked.filter(personalised=False).exists():
        linked.update(personalised=False)


def visitor_history_erase(*, visitor_ids: Sequence[str], user: Any = None) -> int:
    """Delete every event of these visitor ids and of the account ("forget me"); the ids are marked erased, so
    an event still on its way (a web process's buffer) is never stored. Returns the events deleted."""
    deleted, _ = Interaction.objects.filter(of_person(visitor_ids, user)).delete()
    for visitor_id in visitor_ids:
        VisitorPreference.objects.update_or_create(visitor_id=visitor_id, defaults={"erased": True, "user": None})
    return deleted


def interactions_expire(*, days: int, batch: int = 5000) -> int:
    """Delete events not linked to an account that were stored more than `days` ago (retention); 0 keeps all."""
    if days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    total = 0
    while True:
        ids = list(
            Interaction.objects.filter(user__isnull=True, created_at__lt=cutoff).values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return total
        total += Interaction.objects.filter(pk__in=ids).delete()[0]


@transaction.atomic
def products_merge(*, source: Product, target: Product) -> Product:
    """Merge a duplicate listing into another: its interactions move over, it is hidden and redirects."""
    if source.pk == target.pk:
        raise ValueError("A product cannot be merged into itself.")
    if target.merged_into_id:
        raise ValueError("The product to keep was itself merged into another one.")
    Interaction.objects.filter(product=source).update(product=target)
    Product.objects.filter(merged_into=source).update(merged_into=target)
    source.merged_into, source.is_active = target, False
    source.save(update_fields=["merged_into", "is_active", "updated_at"])
    transaction.on_commit(lambda: products_changed.send(sender=Product, product_ids=[source.pk, target.pk]))
    return target


def _merge_one(*, source: Category, target: Category, user: Any) -> CategoryEdit:
    if source.pk == target.pk or target.is_descendant_of(source):
        raise ValueError(f"“{source}” cannot be merged into itself or one of its subcategories.")
    children = list(source.get_children())
    taken = set(target.get_children().values_list("slug", flat=True))
    clashes = sorted(child.slug for child in children if child.slug in taken)
    if clashes:
        raise ValueError(f"“{target}” already has subcategories {', '.join(clashes)}; merge those first.")
    products = list(Product.objects.filter(category=source).values_list("pk", "category_source"))
    previous = {"children": [child.pk for child in children], "products": products, "is_active": source.is_active}
    for child in children:
        tree_node_move(node=child, target=target, position="last-child")
    products_set_category(product_ids=[pk for pk, _ in products], category=target)
    source.is_active = False
    source.save(update_fields=["is_active", "updated_at"])
    taxonomy_changed.send(sender=Category, reason="merge", category_ids=[source.pk, target.pk])
    summary = f"Merged “{source.path_display}” into “{target.path_display}” ({len(products)} products)"
    return category_edit_record(
        category=source, kind=CategoryEdit.Kind.MERGE, summary=summary, previous=previous, target=target, user=user
    )


@transaction.atomic
def categories_merge(*, sources: Sequence[Category], target: Category, user: Any = None) -> list[CategoryEdit]:
    """Merge categories into `target`: their products and subcategories move there and they are hidden.

    Each merge is recorded (the products with their old category source, the subcategories) so
    `category_merge_undo` can put everything back.
    """
    return [_merge_one(source=source, target=target, user=user) for source in sources]


@transaction.atomic
def category_merge_undo(*, edit: CategoryEdit) -> CategoryEdit:
    """Undo a merge: the subcategories and products go back and the category is shown again."""
    edit = category_edit_lock_for_undo(edit=edit, missing="The merged category no longer exists.")
    source = edit.category
    for child in Category.objects.filter(pk__in=edit.previous["children"]).order_by("tree_id", "lft"):
        tree_node_move(node=child, target=source, position="last-child")
    by_source: dict[str, list[int]] = {}
    for pk, category_source in edit.previous["products"]:
        by_source.setdefault(category_source, []).append(pk)
    for category_source, ids in by_source.items():
        Product.objects.filter(pk__in=ids).update(
            category=source, category_source=category_source, updated_at=timezone.now()
        )
    source.is_active = edit.previous.get("is_active", True)
    source.save(update_fields=["is_active", "updated_at"])
    product_ids = [pk for pk, _ in edit.previous["products"]]
    transaction.on_commit(lambda: products_changed.send(sender=Product, product_ids=product_ids))
    taxonomy_changed.send(sender=Category, reason="merge", category_ids=[source.pk])
    return category_edit_mark_undone(edit=edit)
