"""Product import: rows -> validated records -> brands, category paths, products, attribute values.

Re-running an import updates products by SKU and never duplicates them. Categories that staff
set by hand are kept; the importer's path is always stored in `source_category_path`.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from catalog.brand_rules import brand_is_suspect
from catalog.brands import brand_known_ids, brands_ensure
from catalog.importers.base import (
    DataQuality,
    ImportReport,
    ProgressCallback,
    Row,
    RowError,
    RowInvalid,
    clean_text,
    currency_code,
    parse_decimal,
    run_import,
)
from catalog.models import Product, ProductAttributeValue
from catalog.signals import products_imported
from taxonomy.models import AttributeNode
from taxonomy.services import (
    CategoryPathResolver,
    attribute_get_or_create,
    attribute_group_get_or_create,
    attribute_value_get_or_create,
)

PRODUCT_FIELDS = ("sku", "title", "description", "brand", "price", "currency", "image_url", "category_path")
UPDATE_FIELDS = [
    "title",
    "description",
    "brand",
    "price",
    "currency",
    "image_url",
    "category",
    "category_source",
    "source_category_path",
    "source",
    "updated_at",
]
validate_url = URLValidator(schemes=["http", "https"])


@dataclass
class AttributeColumn:
    name: str
    data_type: str = AttributeNode.DataType.TEXT


@dataclass
class ProductMapping:
    """Which source column feeds which product field; presets add a row transform."""

    columns: dict[str, str] = field(default_factory=lambda: {name: name for name in PRODUCT_FIELDS})
    category_separator: str = ">"
    attributes: dict[str, AttributeColumn] = field(default_factory=dict)
    attribute_group: str = "General"
    default_currency: str = "USD"
    source: str = ""
    transform: Callable[[Row], Row] | None = None


@dataclass
class ProductRecord:
    row: int
    sku: str
    title: str
    description: str
    brand: str
    price: Any
    currency: str
    image_url: str
    category_path: tuple[str, ...]
    attributes: dict[str, str]
    brand_note: str = ""  # "from_title" when the brand came from the title
    brand_rejected: str = ""  # the source's brand value when it was a colour or a fit


def _field(row: Row, mapping: ProductMapping, name: str) -> tuple[str, str]:
    column = mapping.columns.get(name, "")
    return column, clean_text(row.get(column)) if column else ""


ATTRIBUTES_COLUMN = "__attributes__"  # {name: value} a preset's transform (or a JSON line) adds to the columns


def extra_attributes(value: Any) -> dict[str, str]:
    """`{name: text or number}` as attribute values; RowInvalid for anything else (a list, nested objects)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RowInvalid(
            ATTRIBUTES_COLUMN, f"must be an object of attribute names and values, not {type(value).__name__}"
        )
    attributes = {}
    for name, raw in value.items():
        if raw is None or raw == "":
            continue
        if not isinstance(raw, str | int | float):  # bool is an int
            raise RowInvalid(ATTRIBUTES_COLUMN, f"the value of {str(name)[:80]!r} must be text or a number")
        text = ("true" if raw else "false") if isinstance(raw, bool) else clean_text(raw)[:1000]
        label = clean_text(name)[:255]
        if label and text:
            attributes[label] = text
    return attributes


# Category names a source writes for "no category": the path ends before them (no category called "missing").
PLACEHOLDER_CATEGORIES = frozenset({"missing", "nan", "none", "null", "n/a", "na", "undefined", "unknown", "-", "?"})


def category_path_until_placeholder(path: tuple[str, ...]) -> tuple[str, ...]:
    for depth, name in enumerate(path):
        if name.strip().lower() in PLACEHOLDER_CATEGORIES:
            return path[:depth]
    return path


def parse_product_row(number: int, row: Row, mapping: ProductMapping) -> ProductRecord:
    if "__error__" in row:
        raise RowInvalid(row.get("__error_column__", "(row)"), row["__error__"])
    if mapping.transform is not None:
        row = mapping.transform(row)
    sku_column, sku = _field(row, mapping, "sku")
    if not sku:
        raise RowInvalid(sku_column or "sku", "is required")
    if len(sku) > 64:
        raise RowInvalid(sku_column, "is longer than 64 characters")
    title_column, title = _field(row, mapping, "title")
    if not title:
        raise RowInvalid(title_column or "title", "is required")
    if len(title) > 1000:
        raise RowInvalid(title_column, "is longer than 1000 characters")
    price_column, price_text = _field(row, mapping, "price")
    price = parse_decimal(price_text, price_column)
    currency_column, currency = _field(row, mapping, "currency")
    code = currency_code(currency or mapping.default_currency)
    if code is None:
        raise RowInvalid(currency_column or "currency", f"{currency!r} is not a 3-letter currency code (A-Z)")
    currency = code
    image_column, image_url = _field(row, mapping, "image_url")
    if image_url:
        try:
            validate_url(image_url)
        except ValidationError:
            raise RowInvalid(image_column, f"{image_url[:80]!r} is not an http(s) URL") from None
    path_value = row.get(mapping.columns.get("category_path", ""), "")
    if isinstance(path_value, list | tuple):
        path = tuple(clean_text(part) for part in path_value if clean_text(part))
    else:
        path = tuple(p.strip() for p in clean_text(path_value).split(mapping.category_separator) if p.strip())
    path = category_path_until_placeholder(path)
    attributes = {
        spec.name: clean_text(row.get(column))[:1000]
        for column, spec in mapping.attributes.items()
        if clean_text(row.get(column))
    }
    attributes.update(extra_attributes(row.get("__attributes__")))
    brand = _field(row, mapping, "brand")[1][:255]
    original_brand = clean_text(row.get("__brand_original__", brand))
    rejected = original_brand if original_brand and brand_is_suspect(original_brand) else ""
    if brand and brand_is_suspect(brand):
        brand = ""
    return ProductRecord(
        row=number,
        sku=sku,
        title=title,
        description=_field(row, mapping, "description")[1],
        brand=brand,
        price=price,
        currency=currency,
        image_url=image_url,
        category_path=path,
        attributes=attributes,
        brand_note=clean_text(row.get("__brand_note__")),
        brand_rejected=rejected,
    )


class ProductWriter:
    """Writes batches of records; holds the caches that make a 20k-row import a few dozen queries."""

    def __init__(self, mapping: ProductMapping, report: ImportReport, *, strict: bool = False) -> None:
        self.batch_size = settings.IMPORT_BATCH_SIZE
        self.mapping = mapping
        self.report = report
        self.strict = strict
        self.sku_rows: dict[str, int] = {}  # the first row of each SKU in this file
        self.quality = report.quality = DataQuality(
            has_price_column=bool(mapping.columns.get("price")), has_brand_column=bool(mapping.columns.get("brand"))
        )
        self.resolver = CategoryPathResolver()
        self.brand_ids: dict[str, int] = brand_known_ids()
        self.attributes: dict[str, AttributeNode] = {}
        self.enum_values: dict[tuple[int, str], int] = {}
        self.product_ids: list[int] = []

    def brand_id(self, name: str) -> int | None:
        return self.brand_ids.get(name.casefold()) if name else None

    def ensure_brands(self, names: Iterable[str]) -> None:
        brands_ensure(names, self.brand_ids)

    def attribute(self, name: str) -> AttributeNode:
        if name not in self.attributes:
            spec = next((s for s in self.mapping.attributes.values() if s.name == name), AttributeColumn(name))
            group = attribute_group_get_or_create(name=self.mapping.attribute_group)
            self.attributes[name] = attribute_get_or_create(name=name, data_type=spec.data_type, group=group)
        return self.attributes[name]

    def value_node_id(self, attribute: AttributeNode, value: str) -> int | None:
        if attribute.data_type != AttributeNode.DataType.ENUM:
            return None
        key = (attribute.pk, value.casefold())
        if key not in self.enum_values:
            self.enum_values[key] = attribute_value_get_or_create(attribute=attribute, value=value).pk
        return self.enum_values[key]

    def parse(self, number: int, row: Row) -> ProductRecord:
        record = parse_product_row(number, row, self.mapping)
        self.check_repeated_sku(number, record.sku)
        raw_path = row.get(self.mapping.columns.get("category_path", ""), "")
        self.quality.placeholder_categories += bool(raw_path) and not record.category_path
        self.quality.count(
            has_price=record.price is not None,
            brand=record.brand,
            brand_note=record.brand_note,
            rejected_value=record.brand_rejected,
        )
        return record

    def check_repeated_sku(self, number: int, sku: str) -> None:
        """A SKU twice in one file: strict refuses the file; otherwise the later row wins and the report says so."""
        first = self.sku_rows.setdefault(sku, number)
        if first == number:
            return
        column = self.mapping.columns.get("sku", "sku")
        if self.strict:
            raise RowInvalid(column, f"SKU {sku!r} is also on row {first}; a SKU may appear once per file")
        reason = f"SKU {sku!r} is also on row {first}: this later row replaced it"
        self.report.warnings.append(RowError(self.report.file, number, column, reason))

    def finish(self) -> None:
        self.resolver.finish()

    def write(self, records: list[ProductRecord]) -> None:
        self.ensure_brands(r.brand for r in records)
        category_ids = self.resolver.resolve_many(r.category_path for r in records)
        existing = {
            sku: (pk, category_id, source)
            for sku, pk, category_id, source in Product.objects.filter(sku__in=[r.sku for r in records]).values_list(
                "sku", "pk", "category_id", "category_source"
            )
        }
        by_sku: dict[str, Product] = {}
        for record in records:
            category_id = category_ids.get(record.category_path)
            category_source = Product.CategorySource.IMPORTED if category_id else Product.CategorySource.NONE
            if record.sku in existing:
                _, current_category, current_source = existing[record.sku]
                if current_source in (Product.CategorySource.MANUAL, Product.CategorySource.AUTOMATIC) or (
                    category_id is None and current_category
                ):
                    category_id, category_source = current_category, current_source
            by_sku[record.sku] = Product(
                sku=record.sku,
                title=record.title,
                description=record.description,
                brand_id=self.brand_id(record.brand),
                price=record.price,
                currency=record.currency,
                image_url=record.image_url,
                category_id=category_id,
                category_source=category_source,
                source_category_path=" > ".join(record.category_path)[:1000],
                source=self.mapping.source,
            )
        # A SKU repeated inside one file: the last row wins, as in a spreadsheet upsert.
        Product.objects.bulk_create(
            list(by_sku.values()), update_conflicts=True, unique_fields=["sku"], update_fields=UPDATE_FIELDS
        )
        created = len(set(by_sku) - set(existing))
        self.report.created += created
        self.report.updated += len(by_sku) - created
        self.report.skipped += len(records) - len(by_sku)
        ids = dict(Product.objects.filter(sku__in=list(by_sku)).values_list("sku", "pk"))
        self.product_ids.extend(ids.values())
        self.write_attributes(records, ids)

    def write_attributes(self, records: list[ProductRecord], ids: dict[str, int]) -> None:
        values: dict[tuple[int, int], ProductAttributeValue] = {}
        applies_to: set[tuple[int, tuple[str, ...]]] = set()
        for record in records:
            for name, value in record.attributes.items():
                attribute = self.attribute(name)
                values[(ids[record.sku], attribute.pk)] = ProductAttributeValue(
                    product_id=ids[record.sku],
                    attribute=attribute,
                    value=value,
                    value_node_id=self.value_node_id(attribute, value),
                )
                if record.category_path:
                    applies_to.add((attribute.pk, record.category_path[:1]))
        if values:
            ProductAttributeValue.objects.bulk_create(
                list(values.values()),
                update_conflicts=True,
                unique_fields=["product", "attribute"],
                update_fields=["value", "value_node"],
            )
        if applies_to:
            roots = self.resolver.resolve_many(path for _, path in applies_to)
            through = AttributeNode.categories.through
            through.objects.bulk_create(
                [through(attributenode_id=a, category_id=roots[path]) for a, path in applies_to],
                ignore_conflicts=True,
            )


def import_products(
    rows: Iterable[tuple[int, Row]],
    *,
    mapping: ProductMapping,
    file_name: str = "",
    strict: bool = False,
    total: int | None = None,
    progress: ProgressCallback | None = None,
    show_progress_bar: bool = False,
) -> ImportReport:
    """Import product rows. Bad rows are reported (file, row, column, reason) and skipped;
    with `strict=True` any bad row aborts the whole import and nothing is written."""
    report = ImportReport(file=file_name)
    writer = ProductWriter(mapping, report, strict=strict)
    run_import(
        rows,
        writer=writer,
        report=report,
        label="product",
        strict=strict,
        total=total,
        progress=progress,
        show_progress_bar=show_progress_bar,
    )
    if writer.product_ids:
        transaction.on_commit(lambda: products_imported.send(sender=Product, product_ids=writer.product_ids))
    return report
