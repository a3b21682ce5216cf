"""Similar items are substitutes: same-category neighbours first, thin behaviour evidence never outranks content."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from recommend.ml.cooccurrence import merge_neighbors, pair_support, thinly_supported
from recommend.ml.grouped_search import fill_from, grouped_top_k
from tests.factories import BrandFactory, InteractionFactory, ProductFactory
from tests.unit.test_similarity import built, fake_encoder, neighbours  # noqa: F401

pytestmark = pytest.mark.django_db


def test_content_neighbours_of_the_same_category_come_before_closer_texts_elsewhere(tree):
    brand = BrandFactory(name="Hp")
    laptop = ProductFactory(title="Hp laptop 15 inch usb", category=tree["electronics"], brand=brand)
    other_laptop = ProductFactory(title="Notebook computer 14", category=tree["electronics"], brand=brand)
    drive = ProductFactory(title="Hp usb pen drive 15", category=tree["shirts"], brand=brand)  # closer words
    built()

    content = neighbours(laptop, "content")
    assert content[0] == other_laptop.pk
    assert drive.pk in content  # still there, after the substitutes


def visits(products, visitors, start=datetime(2025, 1, 1, tzinfo=UTC)):
    for visitor in range(visitors):
        for step, product in enumerate(products):
            InteractionFactory(visitor_id=f"v{visitor}", product=product, timestamp=start + timedelta(minutes=step))


def test_one_visitors_co_view_does_not_outrank_content_in_the_hybrid_list(tree, settings):
    settings.SIMILAR_TOP_K = 2
    shirt = ProductFactory(title="Red cotton shirt", category=tree["shirts"])
    twin = ProductFactory(title="Blue cotton shirt", category=tree["shirts"])
    cousin = ProductFactory(title="Green cotton shirt", category=tree["shirts"])
    radio = ProductFactory(title="Portable radio", category=tree["electronics"])
    visits([shirt, radio], visitors=1)
    built()

    assert neighbours(shirt, "behavior") == [radio.pk]  # the behaviour list still shows it
    assert set(neighbours(shirt, "hybrid")) == {twin.pk, cousin.pk}


def test_co_views_of_several_visitors_do_enter_the_hybrid_list(tree, settings):
    settings.SIMILAR_TOP_K = 2
    shirt = ProductFactory(title="Red cotton shirt", category=tree["shirts"])
    ProductFactory(title="Blue cotton shirt", category=tree["shirts"])
    radio = ProductFactory(title="Portable radio", category=tree["electronics"])
    visits([shirt, radio], visitors=3)
    built()

    assert radio.pk in neighbours(shirt, "hybrid")


def test_grouped_top_k_searches_only_inside_each_group():
    vectors = np.array([[1, 0], [0.9, 0.1], [0.99, 0.01], [0, 1]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids, scores = grouped_top_k(vectors, np.array([0, 0, 1, -1]), 2)

    assert ids[0].tolist() == [1, -1] and ids[1].tolist() == [0, -1]
    assert ids[2].tolist() == [-1, -1] and ids[3].tolist() == [-1, -1]  # alone in its group / no group
    assert np.isneginf(scores[0, 1])


def test_fill_from_keeps_order_and_skips_repeats():
    assert fill_from([(1, 0.9)], [(1, 0.95), (2, 0.8), (3, 0.7)], 2) == [(1, 0.9), (2, 0.8)]


def test_pair_support_counts_visitors_not_repeats():
    support = pair_support([["a", "b", "a", "b"], ["b", "a"], ["a", "c"]], window=3)

    assert support[("a", "b")] == 2 and support[("a", "c")] == 1
    assert thinly_supported("a", [("b", 1.0), ("c", 0.5)], support, 2) == {"c"}


def test_weak_behaviour_only_items_rank_after_content():
    merged = merge_neighbors([("x", 0.5)], [("w", 1.0)], k=2, weak={"w"}, normalization="rank")

    assert [n.item for n in merged] == ["x", "w"]
