"""The shop as a shopper uses it: facets, the "did you mean" category line, placeholders, empty catalog."""

from decimal import Decimal

import numpy as np
import pytest
from django.http import QueryDict

from catalog.facets import facet_filter, facet_selection, facets_for
from catalog.models import Product, ProductAttributeValue
from tests.factories import AttributeFactory, BrandFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shirts(tree):
    acme, zed = BrandFactory(name="Acme"), BrandFactory(name="Zed")
    colour = AttributeFactory(name="Colour")
    items = {
        "red_acme": ProductFactory(title="Red shirt", brand=acme, price=Decimal("300"), category=tree["shirts"]),
        "blue_acme": ProductFactory(title="Blue shirt", brand=acme, price=Decimal("1500"), category=tree["shirts"]),
        "red_zed": ProductFactory(title="Red tee", brand=zed, price=Decimal("700"), category=tree["shirts"]),
        "dress": ProductFactory(title="Red dress", brand=zed, price=Decimal("900"), category=tree["women"]),
    }
    for key, value in [("red_acme", "Red"), ("blue_acme", "Blue"), ("red_zed", "Red"), ("dress", "Red")]:
        ProductAttributeValue.objects.create(product=items[key], attribute=colour, value=value)
    return {**items, "acme": acme, "zed": zed, "colour": colour}


def options(facets, group):
    found = next(g for g in facets["groups"] if g["name"] == group)
    return {o["label"]: (o["count"], o["selected"]) for o in found["options"]}


def test_facets_count_each_group_over_the_other_selections(shirts, tree):
    params = QueryDict(f"brand={shirts['acme'].pk}")
    selection = facet_selection(params)
    base = Product.objects.filter(category=tree["shirts"])

    facets = facets_for(base, selection, params)

    # Brand counts ignore the brand choice (so Zed still shows 1); the others respect it.
    assert options(facets, "Brand") == {"Acme": (2, True), "Zed": (1, False)}
    assert options(facets, "Colour") == {"Red": (1, False), "Blue": (1, False)}
    assert options(facets, "Price") == {"Under 500": (1, False), "1,000 – 2,000": (1, False)}
    assert facets["selected"] == [{"group": "Brand", "label": "Acme", "query": ""}]
    assert set(facet_filter(base, selection)) == {shirts["red_acme"], shirts["blue_acme"]}


def test_attribute_values_or_within_and_across_groups(shirts, tree):
    token = f"{shirts['colour'].pk}:Red"
    selection = facet_selection(QueryDict(f"a={token}&price=500-1000&price=0-500&brand=x&price=bogus"))
    base = Product.objects.filter(category=tree["shirts"])

    assert selection.brands == frozenset() and selection.prices == {"500-1000", "0-500"}
    assert set(facet_filter(base, selection)) == {shirts["red_acme"], shirts["red_zed"]}


def test_category_page_filters_by_facet_links_without_javascript(client, shirts, tree):
    url = tree["clothing"].get_absolute_url()
    page = client.get(url).content.decode()
    assert 'data-facet="Brand"' in page and 'data-facet="Colour"' in page
    assert f'href="?brand={shirts["zed"].pk}"' in page

    filtered = client.get(url, {"brand": shirts["zed"].pk, "a": f"{shirts['colour'].pk}:Red"}).content.decode()

    assert "Red tee" in filtered and "Red dress" in filtered and "Blue shirt" not in filtered
    assert 'class="chip-remove"' in filtered and "Brand: Zed" in filtered and "Clear all" in filtered


def test_filters_that_match_nothing_say_so_and_offer_to_clear(client, shirts, tree):
    page = client.get(tree["women"].get_absolute_url(), {"brand": shirts["acme"].pk}).content.decode()

    assert "No products match these filters" in page


def test_search_has_facets_and_a_category_suggestion_from_the_top_hits(client, shirts, tree):
    page = client.get("/search/", {"q": "shirt"}).content.decode()

    assert 'data-facet="Price"' in page and 'data-facet="Colour"' in page
    assert f'data-category="{tree["shirts"].pk}"' in page and "Looking for a category?" in page

    filtered = client.get("/search/", {"q": "red", "brand": shirts["zed"].pk}).content.decode()
    assert "Red tee" in filtered and "Red dress" in filtered and "Red shirt" not in filtered


def test_pictures_are_lazy_and_fall_back_to_a_placeholder(client, tree):
    ProductFactory(title="Pictured", image_url="https://img.example/x.jpg", category=tree["shirts"])
    ProductFactory(title="Bare", image_url="", category=tree["shirts"])

    page = client.get(tree["shirts"].get_absolute_url()).content.decode()

    # The swap to the placeholder is static/js/shop.js (the Content-Security-Policy refuses inline handlers).
    assert 'loading="lazy"' in page and "js/shop.js" in page and "onerror=" not in page
    assert page.count('class="initial"') == 2  # behind the picture, and alone where there is none


@pytest.mark.parametrize("path", ["/", "/search/?q=shirt", "/cart/"])
def test_an_empty_catalog_says_so_and_staff_get_a_link_to_the_admin(client, staff, path):
    shopper_page = client.get(path).content.decode()
    client.force_login(staff)
    staff_page = client.get(path).content.decode()

    assert any(text in shopper_page for text in ("catalog is empty", "No product matches", "cart is empty"))
    if path == "/":
        assert "/admin/recommend/job/import/" in staff_page and "/admin/" not in shopper_page.split("<main")[1]


def test_an_empty_category_says_so(client, tree):
    page = client.get(tree["electronics"].get_absolute_url()).content.decode()

    assert "This category has no products yet." in page


def test_query_embeddings_are_cached_by_normalised_query(monkeypatch):
    from recommend.core import vectors

    calls = []

    def encode(texts, progress=None):
        calls.append(list(texts))
        return np.ones((len(texts), 4), dtype=np.float32)

    monkeypatch.setattr(vectors, "encode_texts", encode)

    first = vectors.encode_query("Red  Shirt")
    again = vectors.encode_query(" red shirt ")
    vectors.encode_query("blue shirt")

    assert calls == [["red shirt"], ["blue shirt"]] and again is first and first.shape == (1, 4)


def test_an_old_category_slug_redirects_with_its_filters(client, tree):
    response = client.get(f"/c/{tree['men'].pk}/old-name/", {"price": "0-500"})

    assert response.status_code == 301 and response["Location"] == tree["men"].get_absolute_url() + "?price=0-500"
