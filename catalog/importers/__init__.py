"""Catalog importers: generic CSV / JSONL with a column mapping, and presets for the demo datasets."""

from catalog.importers.base import ImportAborted, ImportReport, RowError
from catalog.importers.interactions import InteractionMapping, import_interactions
from catalog.importers.products import ProductMapping, import_products

__all__ = [
    "ImportAborted",
    "ImportReport",
    "InteractionMapping",
    "ProductMapping",
    "RowError",
    "import_interactions",
    "import_products",
]
