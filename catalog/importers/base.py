"""Shared pieces of every importer: reading rows, the error report, batching, the import loop."""

import csv
import gzip
import io
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any, Protocol

from django.db import transaction
from tqdm import tqdm

from config.json_bounds import JSONTooDeep, json_loads_bounded

Row = dict[str, Any]
ProgressCallback = Callable[[float, str], None]

csv.field_size_limit(16 * 1024 * 1024)


@dataclass(frozen=True)
class RowError:
    file: str
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: row {self.row}, column {self.column!r}: {self.reason}"


@dataclass
class DataQuality:
    """What a product import brought: how many rows have a price and a brand, and which brands were rejected."""

    products: int = 0
    with_price: int = 0
    with_brand: int = 0
    brands_from_title: int = 0
    brands_rejected: int = 0  # brand values that were a colour or a fit ("Slim", "Regular", "Black")
    rejected_values: dict[str, int] = field(default_factory=dict)
    has_price_column: bool = True
    has_brand_column: bool = True
    placeholder_categories: int = 0  # rows whose category was only "missing", "nan", "unknown", ...

    def count(self, *, has_price: bool, brand: str, brand_note: str, rejected_value: str) -> None:
        self.products += 1
        self.with_price += has_price
        self.with_brand += bool(brand)
        self.brands_from_title += brand_note == "from_title"
        if rejected_value:
            self.brands_rejected += 1
            self.rejected_values[rejected_value] = self.rejected_values.get(rejected_value, 0) + 1

    def share(self, part: int) -> float:
        return round(part / self.products, 4) if self.products else 0.0

    def notes(self) -> list[str]:
        notes = []
        if self.products and not self.with_price:
            where = "the source has no price column" if not self.has_price_column else "no row has a price"
            notes.append(f"No prices ({where}): the shop and the API say “Price unavailable”.")
        if self.products and not self.with_brand:
            notes.append("No brands" + (" (the source has no brand column)." if not self.has_brand_column else "."))
        if self.brands_rejected:
            notes.append(
                f"{self.brands_rejected} brand values were a colour or a fit and were not used as brands; "
                f"{self.brands_from_title} brands were taken from the title instead."
            )
        if self.placeholder_categories:
            notes.append(
                f'{self.placeholder_categories} rows named a placeholder category ("missing", "nan", '
                '"unknown", ...) and were left uncategorised for the classifier.'
            )
        return notes

    def as_dict(self) -> dict[str, Any]:
        top = sorted(self.rejected_values.items(), key=lambda item: -item[1])[:10]
        return {
            **asdict(self),
            "rejected_values": dict(top),
            "price_completeness": self.share(self.with_price),
            "brand_completeness": self.share(self.with_brand),
            "notes": self.notes(),
        }


@dataclass
class ImportReport:
    file: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    # Imported anyway but worth a look (a SKU repeated inside the file: the later row won).
    warnings: list[RowError] = field(default_factory=list)
    seconds: float = 0.0
    quality: DataQuality | None = None  # product imports only

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self, max_errors: int = 100) -> dict[str, Any]:
        data = asdict(self)
        data["error_count"] = len(self.errors)
        data["errors"] = [asdict(error) for error in self.errors[:max_errors]]
        data["warning_count"] = len(self.warnings)
        data["warnings"] = [asdict(warning) for warning in self.warnings[:max_errors]]
        data["quality"] = self.quality.as_dict() if self.quality else None
        return data

    def summary(self) -> str:
        return (
            f"{self.file}: {self.rows} rows, {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.skipped} skipped, {len(self.errors)} errors"
            + (f", {len(self.warnings)} warnings" if self.warnings else "")
            + f" in {self.seconds:.1f}s"
            + (self.quality_summary(self.quality) if self.quality else "")
        )

    @staticmethod
    def quality_summary(quality: DataQuality) -> str:
        text = (
            f"; with price {quality.share(quality.with_price):.0%}, with brand {quality.share(quality.with_brand):.0%}"
        )
        return text + "".join(f"\n  {note}" for note in quality.notes())


class ImportAborted(Exception):
    """Raised by a strict import: nothing was written. Carries the report with every bad row."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        first = "; ".join(str(error) for error in report.errors[:3])
        super().__init__(f"{len(report.errors)} bad rows, nothing imported. {first}")


class RowInvalid(Exception):
    def __init__(self, column: str, reason: str) -> None:
        self.column, self.reason = column, reason
        super().__init__(f"{column}: {reason}")


def open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def read_rows(path: Path, *, fieldnames: list[str] | None = None) -> Iterator[tuple[int, Row]]:
    """Yield (row number, row) from a CSV (with header, or `fieldnames` for headerless) or JSONL file.

    Row numbers count data rows from 1, as a spreadsheet user would after the header.
    """
    name = path.name.removesuffix(".gz")
    with open_text(path) as handle:
        if name.endswith((".jsonl", ".ndjson")):
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    value = json_loads_bounded(line)
                except JSONTooDeep as deep:
                    yield number, {"__error__": f"invalid JSON: {deep}"}
                    continue
                except json.JSONDecodeError as error:
                    yield number, {"__error__": f"invalid JSON: {error.msg} at column {error.colno}"}
                    continue
                yield number, value if isinstance(value, dict) else {"__error__": "line is not a JSON object"}
        else:
            yield from read_csv_rows(handle, fieldnames=fieldnames)


class LineTracker:
    """The lines csv reads, remembered per record, so a broken record can be reported where it starts."""

    def __init__(self, handle: IO[str]) -> None:
        self.lines = iter(handle)
        self.number = 0  # physical lines read so far
        self.record: list[str] = []

    def __iter__(self) -> "LineTracker":
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.number += 1
        self.record.append(line)
        return line

    def start_record(self) -> int:
        self.record = []
        return self.number + 1


def unterminated_column(first_line: str, header: list[str]) -> str:
    """The column whose quoted value never closes: the last field csv finds on the record's first line."""
    fields = next(csv.reader([first_line]), [])
    index = max(len(fields) - 1, 0)
    return header[index] if index < len(header) else f"#{index + 1}"


def read_csv_rows(handle: IO[str], *, fieldnames: list[str] | None) -> Iterator[tuple[int, Row]]:
    """CSV rows in strict quoting: an unterminated quote is a bad row (file, row, column), not a title that
    swallows the rest of the file; the reader goes on after it."""
    lines = LineTracker(handle)
    reader = csv.DictReader(lines, fieldnames=fieldnames, strict=True)
    header = list(reader.fieldnames or [])
    number = 0
    while True:
        first_line = lines.start_record()
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            number += 1
            start = lines.record[0] if lines.record else ""
            spans = f"lines {first_line}-{lines.number}" if lines.number > first_line else f"line {first_line}"
            reason = f"unterminated or misplaced quote ({error}); {spans} of the file skipped"
            yield number, {"__error__": reason, "__error_column__": unterminated_column(start, header)}
            continue
        number += 1
        if None in row:
            row.pop(None)
            row["__error__"] = "more values than columns in the header"
        yield number, row


def nul_column(row: Row) -> str | None:
    """The first column holding a NUL byte anywhere in its value (or its name), else None. PostgreSQL's driver
    refuses NUL in text, so such a row would fail its whole batch with a traceback instead of one reported row."""
    for column, value in row.items():
        stack = [column, value]
        while stack:
            item = stack.pop()
            if isinstance(item, str) and "\x00" in item:
                return str(column).replace("\x00", "\\x00")
            if isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, list | tuple):
                stack.extend(item)
    return None


def check_row_text(row: Row) -> None:
    """RowInvalid for a row with a NUL byte (rows already marked bad by the reader keep their own reason)."""
    column = None if "__error__" in row else nul_column(row)
    if column is not None:
        raise RowInvalid(column, "contains a NUL byte (\\x00), which cannot be stored")


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# R's and some spreadsheet exports write non-ASCII characters as literal `<U+00AE>` escapes.
UNICODE_ESCAPE = re.compile(r"<U\+([0-9A-Fa-f]{4,6})>")


def _unescape(match: re.Match[str]) -> str:
    code = int(match.group(1), 16)
    return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else match.group(0)


def clean_text(value: Any) -> str:
    """The cell as text, trimmed, with literal `<U+00AE>` escapes turned back into their characters."""
    if value is None:
        return ""
    text = str(value).strip()
    return UNICODE_ESCAPE.sub(_unescape, text) if "<U+" in text else text


CURRENCY_CODE = re.compile(r"[A-Z]{3}")


def currency_code(value: str) -> str | None:
    """An ISO 4217 code in upper case ("eur" -> "EUR"), or None: three ASCII letters only ("ßßß" and "ÉÉÉ" are
    letters to `str.isalpha`, and "ß".upper() is two letters)."""
    code = value.strip().upper()
    return code if CURRENCY_CODE.fullmatch(code) else None


def parse_decimal(value: Any, column: str) -> Decimal | None:
    text = clean_text(value).replace(",", "")
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise RowInvalid(column, f"{text!r} is not a number") from None
    if not number.is_finite():
        raise RowInvalid(column, f"{text!r} is not a finite number")
    if number < 0:
        raise RowInvalid(column, "must not be negative")
    if number >= Decimal("1e10"):
        raise RowInvalid(column, "is too large")
    return number.quantize(Decimal("0.01"))


class BatchWriter(Protocol):
    """What one kind of import supplies to `run_import`: parse a row, write a batch, finish up."""

    batch_size: int

    def parse(self, number: int, row: Row) -> Any:
        """A record for one row, or RowInvalid(column, reason)."""

    def write(self, records: list[Any]) -> None:
        """Store a batch of parsed records and count them in the report."""

    def finish(self) -> None:
        """Called once after the last batch, inside the import's transaction when strict."""


def run_import(
    rows: Iterable[tuple[int, Row]],
    *,
    writer: BatchWriter,
    report: ImportReport,
    label: str,
    strict: bool = False,
    total: int | None = None,
    progress: ProgressCallback | None = None,
    show_progress_bar: bool = False,
) -> ImportReport:
    """The loop every importer shares: batches, per-row errors, progress, and strict all-or-nothing.

    Bad rows are reported (file, row, column, reason) and skipped; with `strict=True` any bad row
    aborts the whole import with ImportAborted and nothing is written.
    """
    started = time.monotonic()
    bar = tqdm(total=total, unit="rows", desc=f"{label} {report.file}", disable=not show_progress_bar)
    try:
        with transaction.atomic() if strict else nullcontext():
            for batch in batched(rows, writer.batch_size):
                records = []
                for number, row in batch:
                    try:
                        check_row_text(row)
                        records.append(writer.parse(number, row))
                    except RowInvalid as invalid:
                        report.errors.append(RowError(report.file, number, invalid.column, invalid.reason))
                report.rows += len(batch)
                if records and not (strict and report.errors):
                    with transaction.atomic():
                        writer.write(records)
                bar.update(len(batch))
                if progress and total:
                    progress(min(report.rows / total, 0.99), f"{report.rows} of {total} {label} rows")
            if strict and report.errors:
                report.created = report.updated = report.unchanged = 0
                raise ImportAborted(report)
            writer.finish()
    finally:
        bar.close()
    report.skipped += len(report.errors)
    report.seconds = time.monotonic() - started
    return report
