"""Search on PostgreSQL: the stored GIN-indexed tsvector is filled by the build and read by search."""

import pytest
from django.db import connection

from catalog.models import Product
from recommend.core import vectors
from recommend.core.documents import product_documents
from recommend.search.selectors import lexical_ids, product_search_page
from recommend.search.services import search_index_update
from recommend.similarity.services import similarity_build
from tests.factories import BrandFactory, ProductFactory
from tests.fakes import bag_of_words

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_stored_tsvector_is_indexed_filled_and_searched(real_services, tree, monkeypatch):
    monkeypatch.setattr(vectors, "encode_texts", bag_of_words)
    acme = BrandFactory(name="Acme")
    shirt = ProductFactory(title="Oxford cotton shirt", brand=acme, category=tree["shirts"])
    radio = ProductFactory(title="Portable radio", category=tree["electronics"])
    similarity_build(progress=lambda fraction, message: None)

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'recommend_product_search'")
        indexes = " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("SELECT count(*) FROM recommend_product_search")
        rows = cursor.fetchone()[0]

    assert "USING gin (document)" in indexes and rows == 2
    assert lexical_ids("shirts", 10) == [shirt.pk]  # stemmed, as English full-text search does
    assert lexical_ids("acme", 10) == [shirt.pk] and lexical_ids("radio oxford", 10) != []
    assert product_search_page(query="portable radio")["hits"][0]["product"] == radio

    Product.objects.filter(pk=shirt.pk).update(title="Linen shirt")
    search_index_update(product_documents(product_ids=[shirt.pk]))  # what the inference task does after a save
    assert lexical_ids("linen", 10) == [shirt.pk] and lexical_ids("oxford", 10) == []
