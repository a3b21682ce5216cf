"""A shopper sees "Similar items" on a product page and follows one, in a real browser."""

import pytest

from recommend.core import vectors
from recommend.similarity.services import similarity_build
from tests.factories import ProductFactory
from tests.fakes import bag_of_words

pytestmark = pytest.mark.django_db(transaction=True)


def test_similar_items_block_links_to_a_neighbour(live_server, page, screenshot, tree, monkeypatch):
    monkeypatch.setattr(vectors, "encode_texts", bag_of_words)
    shirt = ProductFactory(title="Red oxford cotton shirt", category=tree["shirts"])
    twin = ProductFactory(title="Blue oxford cotton shirt", category=tree["shirts"])
    ProductFactory(title="Portable radio", category=tree["electronics"])
    similarity_build(progress=lambda fraction, message: None)

    page.goto(f"{live_server.url}{shirt.get_absolute_url()}")
    block = page.get_by_role("region", name="Similar items")
    assert block.is_visible()
    screenshot("similar-items")
    block.get_by_role("link", name="Blue oxford cotton shirt").click()

    assert page.get_by_role("heading", level=1).inner_text() == twin.title
