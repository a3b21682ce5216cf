"""Interaction import: events keyed by shopper and product SKU, idempotent by `event_id`."""

import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from catalog.importers.base import (
    ImportError_,
    ImportReport,
    ProgressCallback,
    Row,
    RowError,
    RowInvalid,
    batched,
    clean_text,
)
from catalog.models import Interaction, Product

EVENTS = set(Interaction.Event.values)


@dataclass
class InteractionMapping:
    columns: dict[str, str] = field(
        default_factory=lambda: {
            name: name for name in ("visitor_id", "sku", "event", "timestamp", "order_id", "event_id", "query")
        }
    )
    default_event: str = Interaction.Event.VIEW
    timestamp_format: str = ""  # strptime format; empty means unix seconds or ISO 8601
    transform: Callable[[Row], Row] | None = None


def parse_timestamp(value: str, column: str, fmt: str) -> datetime:
    if not value:
        raise RowInvalid(column, "is required")
    try:
        if fmt:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        if value.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(value), tz=UTC)
        parsed = parse_datetime(value)
    except (ValueError, OverflowError, OSError):
        parsed = None
    if parsed is None:
        raise RowInvalid(column, f"{value!r} is not a unix time or ISO 8601 date-time")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_interaction_row(number: int, row: Row, mapping: InteractionMapping, sku_ids: dict[str, int]) -> Interaction:
    if "__error__" in row:
        raise RowInvalid("(row)", row["__error__"])
    if mapping.transform is not None:
        row = mapping.transform(row)
    columns = mapping.columns

    def value(name: str) -> str:
        return clean_text(row.get(columns.get(name, ""))) if columns.get(name) else ""

    visitor_id = value("visitor_id")
    if not visitor_id:
        raise RowInvalid(columns.get("visitor_id", "visitor_id"), "is required")
    event = value("event") or mapping.default_event
    if event not in EVENTS:
        raise RowInvalid(columns.get("event", "event"), f"{event!r} is not one of {', '.join(sorted(EVENTS))}")
    sku = value("sku")
    product_id = sku_ids.get(sku) if sku else None
    if sku and product_id is None:
        raise RowInvalid(columns.get("sku", "sku"), f"unknown SKU {sku!r}")
    query = value("query")
    if event == Interaction.Event.SEARCH and not query:
        raise RowInvalid(columns.get("query", "query"), "a search event needs a query")
    if event != Interaction.Event.SEARCH and product_id is None:
        raise RowInvalid(columns.get("sku", "sku"), f"a {event} event needs a product SKU")
    return Interaction(
        visitor_id=visitor_id[:64],
        product_id=product_id,
        event=event,
        query=query[:500],
        order_id=value("order_id")[:64],
        event_id=value("event_id")[:128] or None,
        timestamp=parse_timestamp(value("timestamp"), columns.get("timestamp", "timestamp"), mapping.timestamp_format),
    )


def import_interactions(
    rows: Iterable[tuple[int, Row]],
    *,
    mapping: InteractionMapping,
    file_name: str = "",
    strict: bool = False,
    total: int | None = None,
    progress: ProgressCallback | None = None,
    show_progress_bar: bool = False,
) -> ImportReport:
    """Import interaction rows. Rows whose event_id already exists are counted as unchanged."""
    report = ImportReport(file=file_name)
    started = time.monotonic()
    sku_ids = dict(Product.objects.values_list("sku", "pk"))
    bar = tqdm(total=total, unit="rows", desc=f"interactions {file_name}", disable=not show_progress_bar)
    with transaction.atomic() if strict else nullcontext():
        for batch in batched(rows, settings.IMPORT_BATCH_SIZE * 2):
            events: dict[str | int, Interaction] = {}
            for number, row in batch:
                try:
                    interaction = parse_interaction_row(number, row, mapping, sku_ids)
                except RowInvalid as invalid:
                    report.errors.append(RowError(file_name, number, invalid.column, invalid.reason))
                    continue
                events[interaction.event_id or f"row-{number}"] = interaction
            report.rows += len(batch)
            if events and not (strict and report.errors):
                with transaction.atomic():
                    with_ids = [key for key, event in events.items() if event.event_id]
                    seen = set(Interaction.objects.filter(event_id__in=with_ids).values_list("event_id", flat=True))
                    new = [event for event in events.values() if event.event_id not in seen]
                    Interaction.objects.bulk_create(new, ignore_conflicts=True)
                report.created += len(new)
                report.unchanged += len(events) - len(new)
            bar.update(len(batch))
            if progress and total:
                progress(min(report.rows / total, 0.99), f"{report.rows} of {total} interaction rows")
        if strict and report.errors:
            report.created = report.unchanged = 0
            bar.close()
            raise ImportError_(report)
    bar.close()
    report.skipped = len(report.errors)
    report.seconds = time.monotonic() - started
    return report
