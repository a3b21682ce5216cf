"""The lexical search index (writes): SQLite FTS5 rows kept in step with the catalog.

PostgreSQL needs no index table here (its full-text search reads the product table directly).
"""

from collections.abc import Sequence

from django.db import connection, transaction

from recommend.core.documents import ProductDocument
from recommend.ml.text_segment import segment_cjk


def fts_available() -> bool:
    return connection.vendor == "sqlite"


def fts_row(document: ProductDocument) -> tuple[int, str, str, str]:
    # CJK titles are segmented into words (jieba): FTS5 would index "苹果手机12" as one token.
    title, category = segment_cjk(document.title), segment_cjk(" ".join(document.category_path))
    return (document.product_id, title, document.brand, category)


def search_index_rebuild(documents: Sequence[ProductDocument]) -> None:
    if not fts_available():
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM recommend_product_fts")
        cursor.executemany(
            "INSERT INTO recommend_product_fts(rowid, title, brand, category) VALUES (%s, %s, %s, %s)",
            [fts_row(d) for d in documents],
        )


def search_index_update(documents: Sequence[ProductDocument]) -> None:
    if not fts_available() or not documents:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany("DELETE FROM recommend_product_fts WHERE rowid = %s", [(d.product_id,) for d in documents])
        cursor.executemany(
            "INSERT INTO recommend_product_fts(rowid, title, brand, category) VALUES (%s, %s, %s, %s)",
            [fts_row(d) for d in documents],
        )
