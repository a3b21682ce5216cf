"""The lexical search index (writes): rows kept in step with the catalog by the similar-items build and saves.

SQLite: an FTS5 table (`recommend_product_fts`, migration 0003). PostgreSQL: a stored tsvector per
product (`recommend_product_search`, GIN-indexed, migration 0011), so a query reads the index
instead of computing to_tsvector over every product row. Title weighs A, brand B, category C.
"""

from collections.abc import Sequence

from django.db import connection, transaction

from recommend.core.documents import ProductDocument
from recommend.ml.text_segment import segment_cjk

PG_UPSERT = (
    "INSERT INTO recommend_product_search(product_id, document) VALUES (%s, "
    "setweight(to_tsvector('english', %s), 'A') || setweight(to_tsvector('english', %s), 'B')"
    " || setweight(to_tsvector('english', %s), 'C'))"
    " ON CONFLICT (product_id) DO UPDATE SET document = EXCLUDED.document"
)


def fts_available() -> bool:
    return connection.vendor == "sqlite"


def pg_index_available() -> bool:
    return connection.vendor == "postgresql"


def fts_row(document: ProductDocument) -> tuple[int, str, str, str]:
    # CJK titles are segmented into words (jieba): FTS5 would index "苹果手机12" as one token.
    title, category = segment_cjk(document.title), segment_cjk(" ".join(document.category_path))
    return (document.product_id, title, document.brand, category)


def search_index_rebuild(documents: Sequence[ProductDocument]) -> None:
    if fts_available():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM recommend_product_fts")
            cursor.executemany(
                "INSERT INTO recommend_product_fts(rowid, title, brand, category) VALUES (%s, %s, %s, %s)",
                [fts_row(d) for d in documents],
            )
    elif pg_index_available():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM recommend_product_search")
            cursor.executemany(PG_UPSERT, [fts_row(d) for d in documents])


def search_index_update(documents: Sequence[ProductDocument]) -> None:
    if not documents:
        return
    if fts_available():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(
                "DELETE FROM recommend_product_fts WHERE rowid = %s", [(d.product_id,) for d in documents]
            )
            cursor.executemany(
                "INSERT INTO recommend_product_fts(rowid, title, brand, category) VALUES (%s, %s, %s, %s)",
                [fts_row(d) for d in documents],
            )
    elif pg_index_available():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(PG_UPSERT, [fts_row(d) for d in documents])
