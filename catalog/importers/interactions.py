"""Interaction import: events keyed by shopper and product SKU, idempotent by `event_id`."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils.dateparse import parse_datetime

from catalog.importers.base import (
    ImportReport,
    ProgressCallback,
    Row,
    RowInvalid,
    clean_text,
    run_import,
)
from catalog.models import Interaction, Product
from catalog.signals import interactions_imported

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
    # An order export (order id and SKU per row): rows with an order id and no time get this time plus their row
    # number in microseconds (the file's order; set at import start when left None).
    import_time: datetime | None = None


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
        raise RowInvalid(row.get("__error_column__", "(row)"), row["__error__"])
    if mapping.transform is not None:
        row = mapping.transform(row)
    columns = mapping.columns

    def value(name: str) -> str:
        return clean_text(row.get(columns.get(name, ""))) if columns.get(name) else ""

    order_id = value("order_id")[:64]
    # An order export needs no shopper or time column: each order is its own shopper ("order:<id>"), a row is a
    # purchase, and it is stored once however often the file is imported (event id "order:<id>:<sku>").
    visitor_id = value("visitor_id") or (f"order:{order_id}" if order_id else "")
    if not visitor_id:
        raise RowInvalid(columns.get("visitor_id", "visitor_id"), "is required (or an order_id)")
    event = value("event") or (Interaction.Event.PURCHASE if order_id else mapping.default_event)
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
        order_id=order_id,
        event_id=value("event_id")[:128] or (f"order:{order_id}:{sku}"[:128] if order_id else None),
        timestamp=row_time(value("timestamp"), number, order_id, mapping),
    )


def row_time(raw: str, number: int, order_id: str, mapping: InteractionMapping) -> datetime:
    """The row's time; an order row without one gets the import time plus its row number in microseconds."""
    if not raw and order_id and mapping.import_time is not None:
        return mapping.import_time + timedelta(microseconds=number)
    return parse_timestamp(raw, mapping.columns.get("timestamp", "timestamp"), mapping.timestamp_format)


class InteractionWriter:
    """Stores batches of events; an event_id seen before (in the database or the batch) is unchanged."""

    def __init__(self, mapping: InteractionMapping, report: ImportReport) -> None:
        self.batch_size = settings.IMPORT_BATCH_SIZE * 2
        self.mapping = mapping
        if mapping.import_time is None:
            mapping.import_time = datetime.now(tz=UTC)
        self.report = report
        self.sku_ids = dict(Product.objects.values_list("sku", "pk"))
        self.created = self.purchases = 0

    def parse(self, number: int, row: Row) -> tuple[int, Interaction]:
        return number, parse_interaction_row(number, row, self.mapping, self.sku_ids)

    def write(self, records: list[tuple[int, Interaction]]) -> None:
        events = {event.event_id or f"row-{number}": event for number, event in records}
        with_ids = [key for key, event in events.items() if event.event_id]
        seen = set(Interaction.objects.filter(event_id__in=with_ids).values_list("event_id", flat=True))
        new = [event for event in events.values() if event.event_id not in seen]
        Interaction.objects.bulk_create(new, ignore_conflicts=True)
        self.report.created += len(new)
        self.report.unchanged += len(events) - len(new)
        self.created += len(new)
        self.purchases += sum(event.event == Interaction.Event.PURCHASE for event in new)

    def finish(self) -> None:
        if self.created:
            created, purchases = self.created, self.purchases
            transaction.on_commit(
                lambda: interactions_imported.send(sender=Interaction, created=created, purchases=purchases)
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
    return run_import(
        rows,
        writer=InteractionWriter(mapping, report),
        report=report,
        label="interaction",
        strict=strict,
        total=total,
        progress=progress,
        show_progress_bar=show_progress_bar,
    )
