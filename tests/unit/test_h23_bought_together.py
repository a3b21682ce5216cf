"""Issue 23 item 3: bought together shows complements with evidence, never same-type substitutes, or nothing.

A general store: Clothing > Shoes / Socks, Tech > Phones / Cases / Chargers, and a flat Groceries department
(as the demo imports it: every grocery in one category with no finer type).
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from catalog.models import Interaction
from recommend.bought_together.services import bought_together_build
from recommend.core import vectors
from recommend.core.model_cache import clear_model_caches
from tests.factories import CategoryFactory, ProductFactory
from tests.fakes import bag_of_words

pytestmark = pytest.mark.django_db
START = datetime(2025, 1, 1, tzinfo=UTC)


def _category(name, parent=None):
    category = CategoryFactory(name=name, slug=name.lower().replace(" ", "-"), parent=parent)
    category.refresh_from_db()
    return category


@pytest.fixture
def store(settings, monkeypatch):
    monkeypatch.setattr(vectors, "encode_texts", bag_of_words)
    settings.BOUGHT_TOGETHER = {**settings.BOUGHT_TOGETHER, "epochs": 2}
    clothing, tech, groceries = _category("Clothing"), _category("Tech"), _category("Groceries")
    shoes, socks = _category("Shoes", clothing), _category("Socks", clothing)
    phones, cases, chargers = _category("Phones", tech), _category("Cases", tech), _category("Chargers", tech)
    p = {
        "trail_shoe": ProductFactory(title="Trail running shoe", category=shoes),
        "road_shoe": ProductFactory(title="Road running shoe", category=shoes),
        "new_shoe": ProductFactory(title="Leather derby shoe", category=shoes),  # nobody bought it yet
        "sport_socks": ProductFactory(title="Sport socks 3 pack", category=socks),
        "wool_socks": ProductFactory(title="Wool hiking socks", category=socks),
        "phone": ProductFactory(title="Smartphone 128 GB", category=phones),
        "case": ProductFactory(title="Clear phone case", category=cases),
        "charger": ProductFactory(title="USB-C wall charger", category=chargers),  # never in an order
        "milk": ProductFactory(title="Whole milk organic 1 l", category=groceries),
        "milk_copy": ProductFactory(title="Organic whole milk 1 l", category=groceries),  # same text, reworded
        "rolls": ProductFactory(title="Rolls buns", category=groceries),
        "soda": ProductFactory(title="Soda", category=groceries),
    }
    orders = (
        [["trail_shoe", "sport_socks"]] * 5
        + [["road_shoe", "wool_socks"]] * 4
        + [["trail_shoe", "road_shoe"]] * 4  # a second pair of shoes: bought together, still a substitute
        + [["phone", "case"]] * 5
        + [["milk", "rolls"]] * 6
        + [["milk", "milk_copy"]] * 4
        + [["soda", "rolls"]] * 3
        + [["soda"]] * 2
    )
    rows = [
        Interaction(
            visitor_id=f"shopper-{number % 7}",
            product=p[key],
            event=Interaction.Event.PURCHASE,
            order_id=f"order-{number}",
            timestamp=START + timedelta(hours=number),
        )
        for number, basket in enumerate(orders)
        for key in basket
    ]
    Interaction.objects.bulk_create(rows)
    vectors.product_vectors(product_ids=[product.pk for product in p.values()])  # stored content vectors
    bought_together_build()
    clear_model_caches()
    return p


def _api(client, product, limit=4):
    response = client.get(reverse("api:product-bought-together", kwargs={"pk": product.pk}), {"limit": limit})
    assert response.status_code == 200
    return response.json()


def test_a_shoe_gets_socks_never_another_shoe(store, api_client):
    payload = _api(api_client, store["trail_shoe"], limit=10)
    ids = [item["id"] for item in payload["results"]]
    assert ids and ids[0] == store["sport_socks"].pk and payload["reason"] is None
    shoes = {store[key].pk for key in ("road_shoe", "new_shoe")}
    assert not shoes & set(ids)  # bought together four times, and still the same type
    assert {item["signal"] for item in payload["results"]} <= {"rules", "category"}


def test_a_shoe_nobody_bought_gets_the_complements_of_its_category(store, api_client):
    payload = _api(api_client, store["new_shoe"])
    assert {item["id"] for item in payload["results"]} == {store["sport_socks"].pk, store["wool_socks"].pk}
    assert {item["evidence"] for item in payload["results"]} == {"Shoppers who buy Shoes often add Socks"}


def test_no_evidence_hides_the_block_and_the_api_says_why(store, api_client, client):
    payload = _api(api_client, store["charger"])
    assert payload["results"] == [] and payload["reason"]
    page = client.get(store["charger"].get_absolute_url()).content.decode()
    assert "Frequently bought together" not in page
    response = api_client.post(reverse("api:basket-complete"), {"product_ids": [store["charger"].pk]}, format="json")
    assert response.json()["results"] == [] and response.json()["reason"]


def test_a_flat_department_keeps_its_pairs_but_never_a_near_duplicate(store, api_client):
    ids = [item["id"] for item in _api(api_client, store["milk"], limit=10)["results"]]
    assert store["rolls"].pk in ids  # both "Groceries": a flat department says nothing about type
    assert store["milk_copy"].pk not in ids  # the same product reworded, though bought together 4 times


def test_product_page_and_cart_show_only_complements(store, client):
    page = client.get(store["phone"].get_absolute_url()).content.decode()
    assert "Frequently bought together" in page and "Clear phone case" in page
    client.post(reverse("storefront:cart-add"), {"product_id": store["road_shoe"].pk})
    cart = client.get(reverse("storefront:cart")).content.decode()
    assert "Complete your basket" in cart and "Wool hiking socks" in cart
    assert "Trail running shoe" not in cart and "Leather derby shoe" not in cart
