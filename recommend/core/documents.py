"""Product documents: the text that represents a product to the sentence encoder, one home for every capability."""

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from catalog.models import Product, ProductAttributeValue
from taxonomy.selectors import category_paths

MAX_ATTRIBUTES = 6
MAX_DESCRIPTION_CHARS = 300


@dataclass(frozen=True)
class ProductDocument:
    product_id: int
    title: str
    brand: str
    category_id: int | None
    category_path: tuple[str, ...]
    text: str

    @property
    def text_hash(self) -> bytes:
        return hashlib.blake2b(self.text.encode(), digest_size=16).digest()


def compose_text(
    *,
    title: str,
    brand: str = "",
    category_path: Iterable[str] = (),
    attributes: Iterable[str] = (),
    description: str = "",
) -> str:
    parts = [title.strip()]
    if brand and brand.casefold() not in title.casefold():
        parts.append(f"by {brand}")
    path = " > ".join(category_path)
    if path:
        parts.append(f"in {path}")
    attributes = list(attributes)[:MAX_ATTRIBUTES]
    if attributes:
        parts.append("; ".join(attributes))
    if description:
        parts.append(description.strip()[:MAX_DESCRIPTION_CHARS])
    return ". ".join(parts)


def product_documents(*, product_ids: Iterable[int] | None = None, active_only: bool = True) -> list[ProductDocument]:
    """Documents for many products in three queries (products, attribute values, category tree)."""
    queryset = Product.objects.filter(merged_into__isnull=True)
    if active_only:
        queryset = queryset.filter(is_active=True)
    if product_ids is not None:
        queryset = queryset.filter(pk__in=list(product_ids))
    rows = list(queryset.order_by("pk").values_list("pk", "title", "brand__name", "category_id", "description"))
    attributes: dict[int, list[str]] = defaultdict(list)
    values = ProductAttributeValue.objects.filter(product__in=queryset).order_by("product_id", "attribute__name")
    for product_id, name, value in values.values_list("product_id", "attribute__name", "value"):
        attributes[product_id].append(f"{name}: {value[:60]}")
    paths = category_paths()
    documents = []
    for pk, title, brand, category_id, description in rows:
        path = tuple(paths.get(category_id, ())) if category_id else ()
        text = compose_text(
            title=title, brand=brand or "", category_path=path, attributes=attributes[pk], description=description
        )
        documents.append(ProductDocument(pk, title, brand or "", category_id, path, text))
    return documents
