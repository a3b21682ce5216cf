"""Search API contract (issue 15 point 9): a total, paging, and a relevance cutoff that gives an honest
empty result. The sentence encoder is a hashed bag of words here (see tests/unit/test_similarity.py)."""

import pytest

from recommend.core import vectors
from recommend.similarity.services import similarity_build
from tests.factories import ProductFactory
from tests.fakes import bag_of_words

pytestmark = pytest.mark.django_db


@pytest.fixture
def shirts(monkeypatch, tree):
    monkeypatch.setattr(vectors, "encode_texts", lambda texts, progress=None: bag_of_words(texts))
    products = [ProductFactory(title=f"Cotton shirt model {n}", category=tree["shirts"]) for n in range(7)]
    ProductFactory(title="Portable radio", category=tree["electronics"])
    similarity_build(progress=lambda fraction, message: None)
    return products


def test_search_reports_the_total_and_pages_through_it(client, shirts):
    first = client.get("/api/v1/search", {"q": "cotton shirt", "page_size": 3}).json()
    third = client.get("/api/v1/search", {"q": "cotton shirt", "page_size": 3, "page": 3}).json()

    assert first["total"] == 7 and first["total_capped"] is False
    assert len(first["results"]) == 3 and len(third["results"]) == 1
    seen = {hit["id"] for hit in first["results"]} | {hit["id"] for hit in third["results"]}
    assert seen <= {p.pk for p in shirts} and len(seen) == 4


def test_a_meaningless_query_gets_an_honest_empty_result(client, shirts):
    body = client.get("/api/v1/search", {"q": "xyzzyqwerty"}).json()

    assert (body["total"], body["results"]) == (0, [])


def test_the_search_page_says_nothing_matched_and_pages_results(client, shirts):
    empty = client.get("/search/", {"q": "xyzzyqwerty"}).content.decode()
    found = client.get("/search/", {"q": "cotton shirt"}).content.decode()

    assert "No product matches" in empty
    assert "7 products" in found
