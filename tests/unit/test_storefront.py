"""Storefront pages as a shopper sees them."""

import pytest

from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_home_lists_top_categories_and_new_products(client, tree):
    product = ProductFactory(title="Linen shirt", category=tree["shirts"])

    page = client.get("/").content.decode()

    assert "Clothing" in page and "Electronics" in page and product.title in page


def test_category_page_has_breadcrumb_children_and_subtree_products(client, tree):
    ProductFactory(title="Oxford shirt", category=tree["shirts"])
    ProductFactory(title="Television", category=tree["electronics"])

    page = client.get(tree["men"].get_absolute_url()).content.decode()

    assert 'aria-current="page">Men<' in page
    assert "Shirts" in page and "Oxford shirt" in page and "Television" not in page


def test_category_page_is_paged(client, tree):
    ProductFactory.create_batch(30, category=tree["women"])

    first = client.get(tree["women"].get_absolute_url())
    second = client.get(tree["women"].get_absolute_url(), {"page": 2})

    assert len(first.context["page"].object_list) == 24 and len(second.context["page"].object_list) == 6


def test_a_wrong_slug_redirects_to_the_right_url(client, tree):
    response = client.get(f"/c/{tree['men'].pk}/wrong/")

    assert response.status_code == 301 and response["Location"] == tree["men"].get_absolute_url()


def test_product_page_shows_details_and_path(client, tree):
    product = ProductFactory(title="Oxford shirt", category=tree["shirts"], description="Soft cotton.")

    page = client.get(product.get_absolute_url()).content.decode()

    assert "Oxford shirt" in page and "Soft cotton." in page and ">Men</a>" in page


def test_hidden_and_unknown_products_are_404(client, tree):
    hidden = ProductFactory(is_active=False, category=tree["men"])

    assert client.get(hidden.get_absolute_url()).status_code == 404
    assert client.get("/p/999999/").status_code == 404


def test_search_finds_words_in_titles(client, tree):
    ProductFactory(title="Blue denim jacket", category=tree["men"])
    ProductFactory(title="Red dress", category=tree["women"])

    page = client.get("/search/", {"q": "denim"}).content.decode()

    assert "Blue denim jacket" in page and "Red dress" not in page
