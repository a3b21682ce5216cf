"""Catalog and taxonomy clean-ups of issue 8: one home for product writes, paths, Flipkart parsing."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.flipkart import flipkart_category_parts
from catalog.models import Brand, Product
from catalog.services import product_create, product_update, products_set_active
from taxonomy.models import Category
from taxonomy.selectors import category_ancestries
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

AUTOCOMPLETE = {"app_label": "catalog", "model_name": "product", "field_name": "category"}


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def _autocomplete_queries(client, term):
    with CaptureQueriesContext(connection) as queries:
        results = client.get("/admin/autocomplete/", {**AUTOCOMPLETE, "term": term}).json()["results"]
    return len(queries), results


def test_category_autocomplete_loads_paths_in_one_query_per_page(admin_client, tree, django_assert_num_queries):
    for index in range(12):
        CategoryFactory(name=f"Shoes {index}", parent=tree["women"])
    few, _ = _autocomplete_queries(admin_client, "shirts")

    # session, user, count, the page, and ONE query for the paths of every answer on it
    with django_assert_num_queries(few):
        results = admin_client.get("/admin/autocomplete/", {**AUTOCOMPLETE, "term": "shoes"}).json()["results"]

    assert len(results) == 12
    assert results[0]["text"].startswith("Clothing > Women > Shoes")


def test_ancestries_for_many_nodes_come_from_one_query(tree, django_assert_num_queries):
    nodes = list(Category.objects.filter(pk__in=[tree["shirts"].pk, tree["women"].pk, tree["electronics"].pk]))

    with django_assert_num_queries(1):
        category_ancestries(categories=nodes)
        paths = {node.name: node.path for node in nodes}

    assert paths == {
        "Shirts": ["Clothing", "Men", "Shirts"],
        "Women": ["Clothing", "Women"],
        "Electronics": ["Electronics"],
    }


def test_product_create_makes_the_brand_once_and_marks_a_given_category_manual(tree):
    Brand.objects.create(name="Acme", slug="acme")

    product = product_create(data={"sku": "A-1", "title": "Anvil", "brand": "acme", "category": tree["men"]})

    assert product.brand.name == "Acme" and Brand.objects.count() == 1
    assert product.category_source == Product.CategorySource.MANUAL


def test_product_update_changes_only_the_given_fields(tree):
    product = ProductFactory(title="Old", category=tree["men"], category_source="imported")

    product_update(product=product, data={"title": "New"})

    product.refresh_from_db()
    assert (product.title, product.category_source) == ("New", "imported")


@pytest.mark.parametrize("method", ["patch", "put"])
def test_patch_and_put_share_one_update(staff_api_client, tree, method):
    product = ProductFactory(sku="P-1", title="Old")
    body = {"title": "New", "brand": "Zeta"} if method == "patch" else {"sku": "P-1", "title": "New", "brand": "Zeta"}

    response = getattr(staff_api_client, method)(f"/api/v1/products/{product.pk}/", body, format="json")

    assert response.status_code == 200
    assert (response.json()["title"], response.json()["brand"]) == ("New", "Zeta")


def test_show_and_hide_actions_go_through_the_service(admin_client, tree):
    products = ProductFactory.create_batch(2)
    url = reverse("admin:catalog_product_changelist")

    admin_client.post(url, {"action": "deactivate", "_selected_action": [p.pk for p in products]})

    assert not Product.objects.filter(is_active=True).exists()
    assert products_set_active(product_ids=[products[0].pk], is_active=True) == 1


def test_flipkart_tree_is_parsed_in_one_place():
    tree = '["Clothing >> Women\'s Clothing >> Lingerie >> Shorts"]'

    assert flipkart_category_parts(tree) == ["Clothing", "Women's Clothing", "Lingerie", "Shorts"]
    assert flipkart_category_parts("not json [") == ["not json ["]
    assert flipkart_category_parts("") == []


def test_a_product_without_price_says_price_unavailable_on_every_card(client, tree):
    product = ProductFactory(title="Rose soap", price=None, category=tree["women"])

    category_page = client.get(tree["women"].get_absolute_url()).content.decode()
    product_page = client.get(product.get_absolute_url()).content.decode()

    assert "Price unavailable" in category_page and "Price unavailable" in product_page
