"""Presets for the four demo datasets in SHOP_DATA_DIR (see ../shared/data/raw/*/SOURCE.md).

Each preset is a list of steps (a product import or an interaction import over one file) with
the column mapping and the row transform that dataset needs.
"""

import csv
import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from catalog.brand_rules import KnownBrands
from catalog.flipkart import flipkart_brand, flipkart_category_path, flipkart_specifications
from catalog.importers.base import Row, open_text, read_rows
from catalog.importers.interactions import InteractionMapping
from catalog.importers.products import AttributeColumn, ProductMapping
from taxonomy.models import AttributeNode

ENUM = AttributeNode.DataType.ENUM


@dataclass
class ImportStep:
    kind: str  # "products" or "interactions"
    path: Path
    mapping: ProductMapping | InteractionMapping
    rows: Callable[[], Iterator[tuple[int, Row]]]
    total: int


def count_rows(path: Path, header: bool = True) -> int:
    with open_text(path) as handle:
        return sum(1 for _ in csv.reader(handle)) - (1 if header else 0)


# The most rows a `limit` may ask for: far past any file here, and well inside islice's range (a limit of 1e30
# was accepted by the API and failed in the worker).
IMPORT_LIMIT_MAX = 1_000_000_000


def limited(rows: Iterator[tuple[int, Row]], limit: int | None) -> Iterator[tuple[int, Row]]:
    return islice(rows, limit) if limit else rows


# --- Flipkart -------------------------------------------------------------------------------


def _flipkart_details(data_dir: Path) -> dict[str, Row]:
    """Description, image and specifications exist for the first 999 products only."""
    path = data_dir / "flipkart_ecommerce_sample" / "flipkart_all15cols_first999rows.csv"
    if not path.exists():
        return {}
    return {row["uniq_id"]: row for _, row in read_rows(path) if row.get("uniq_id")}


def flipkart(data_dir: Path, limit: int | None = None) -> list[ImportStep]:
    path = data_dir / "flipkart_ecommerce_sample" / "flipkart_20k_joined.csv"
    details = _flipkart_details(data_dir)

    known_brands: list[KnownBrands] = []  # read on first use: the brand column's real brands

    def transform(row: Row) -> Row:
        extra = details.get(row.get("uniq_id", ""), {})
        images = extra.get("image", "")
        image = re.search(r"https?://[^\"\s,\]]+", images) if images else None
        if not known_brands:
            known_brands.append(KnownBrands(r.get("brand", "") for _, r in read_rows(path)))
        brand, brand_note = flipkart_brand(row.get("brand", ""), row.get("product_name", ""), known_brands[0])
        return {
            **row,
            "brand": brand,
            "__brand_note__": brand_note,
            "__brand_original__": row.get("brand", ""),
            "category_path": flipkart_category_path(row.get("product_category_tree", ""), row.get("product_name", "")),
            "price": row.get("discounted_price") or row.get("retail_price"),
            "description": extra.get("description", ""),
            "image_url": image.group(0) if image else "",
            "__attributes__": flipkart_specifications(extra.get("product_specifications", "")),
        }

    mapping = ProductMapping(
        columns={
            "sku": "uniq_id",
            "title": "product_name",
            "brand": "brand",
            "price": "price",
            "description": "description",
            "image_url": "image_url",
            "category_path": "category_path",
        },
        attribute_group="Specifications",
        default_currency="INR",
        source="flipkart",
        transform=transform,
    )
    total = min(limit or 10**9, 20000) if path.exists() else 0
    return [ImportStep("products", path, mapping, lambda: limited(read_rows(path), limit), total)]


# --- Fashion (Myntra styles) ----------------------------------------------------------------


def fashion(data_dir: Path, limit: int | None = None) -> list[ImportStep]:
    path = data_dir / "fashion_product_styles" / "styles_joined.csv"

    def transform(row: Row) -> Row:
        path_parts = [row.get("masterCategory", ""), row.get("subCategory", ""), row.get("articleType", "")]
        return {**row, "sku": f"myntra-{row.get('id', '')}" if row.get("id") else "", "category_path": path_parts}

    mapping = ProductMapping(
        columns={"sku": "sku", "title": "productDisplayName", "category_path": "category_path"},
        attributes={
            "gender": AttributeColumn("Gender", ENUM),
            "baseColour": AttributeColumn("Colour", ENUM),
            "season": AttributeColumn("Season", ENUM),
            "usage": AttributeColumn("Usage", ENUM),
            "year": AttributeColumn("Year", AttributeNode.DataType.NUMBER),
        },
        attribute_group="Style",
        default_currency="INR",
        source="fashion",
        transform=transform,
    )
    total = min(limit or 10**9, 44446) if path.exists() else 0
    return [ImportStep("products", path, mapping, lambda: limited(read_rows(path), limit), total)]


# --- Amazon Beauty --------------------------------------------------------------------------


def beauty_item_row(row: Row) -> Row:
    # A few items have no title in the source; they still need to exist for the shoppers who bought them.
    title = html.unescape(row.get("title", "")).strip() or f"Beauty item {row.get('asin', '')}"
    return {**row, "title": title, "category_path": ["Beauty"]}


def beauty(data_dir: Path, limit: int | None = None) -> list[ImportStep]:
    folder = data_dir / "amazon_beauty_5core"
    items, events = folder / "beauty_items.csv", folder / "beauty_interactions.csv.gz"
    product_mapping = ProductMapping(
        columns={"sku": "asin", "title": "title", "category_path": "category_path"},
        source="beauty",
        transform=beauty_item_row,
    )
    # A review in this dataset means the shopper bought the item: it is imported as a purchase.
    interaction_mapping = InteractionMapping(
        columns={"visitor_id": "user_id", "sku": "asin", "timestamp": "timestamp", "event_id": "event_id"},
        default_event="purchase",
        transform=lambda row: {**row, "event_id": f"beauty:{row.get('user_id')}:{row.get('seq_pos')}"},
    )
    interaction_limit = limit * 16 if limit else None
    return [
        ImportStep("products", items, product_mapping, lambda: limited(read_rows(items), limit), limit or 12101),
        ImportStep(
            "interactions",
            events,
            interaction_mapping,
            lambda: limited(read_rows(events), interaction_limit),
            interaction_limit or 198502,
        ),
    ]


# --- Groceries baskets ----------------------------------------------------------------------

GROCERY_COLUMNS = ["member", "date", "item"]


def grocery_sku(item: str) -> str:
    return "grocery-" + re.sub(r"[^a-z0-9]+", "-", item.casefold()).strip("-")


def groceries(data_dir: Path, limit: int | None = None) -> list[ImportStep]:
    path = data_dir / "groceries_basket" / "Groceries_dataset_noheader.csv"

    def product_rows() -> Iterator[tuple[int, Row]]:
        seen: set[str] = set()
        for number, row in limited(read_rows(path, fieldnames=GROCERY_COLUMNS), limit):
            item = row.get("item", "").strip()
            if item and item not in seen:
                seen.add(item)
                yield number, {"sku": grocery_sku(item), "title": item.capitalize(), "category_path": ["Groceries"]}

    def interaction_rows() -> Iterator[tuple[int, Row]]:
        occurrences: dict[tuple[str, str, str], int] = {}
        for number, row in limited(read_rows(path, fieldnames=GROCERY_COLUMNS), limit):
            key = (row.get("member", ""), row.get("date", ""), row.get("item", ""))
            occurrences[key] = occurrences.get(key, 0) + 1
            yield (
                number,
                {
                    "visitor_id": f"member-{key[0]}" if key[0] else "",
                    "sku": grocery_sku(key[2]) if key[2] else "",
                    "timestamp": key[1],
                    "order_id": f"{key[0]}-{key[1]}",
                    "event_id": f"groceries:{key[0]}:{key[1]}:{key[2]}:{occurrences[key]}",
                },
            )

    product_mapping = ProductMapping(source="groceries", default_currency="EUR")
    interaction_mapping = InteractionMapping(default_event="purchase", timestamp_format="%d-%m-%Y")
    total = limit or 38765
    return [
        ImportStep("products", path, product_mapping, product_rows, 167),
        ImportStep("interactions", path, interaction_mapping, interaction_rows, total),
    ]


PRESETS: dict[str, Callable[[Path, int | None], list[ImportStep]]] = {
    "flipkart": flipkart,
    "fashion": fashion,
    "beauty": beauty,
    "groceries": groceries,
}
