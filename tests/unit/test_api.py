"""REST API: filters, pagination, errors, permissions, idempotent ingest, query counts."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.models import Interaction, Product
from tests.factories import AttributeFactory, BrandFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def products(tree):
    acme = BrandFactory(name="Acme")
    return {
        "shirt": ProductFactory(title="Blue cotton shirt", category=tree["shirts"], brand=acme, price=Decimal("20")),
        "dress": ProductFactory(title="Red summer dress", category=tree["women"], price=Decimal("60")),
        "phone": ProductFactory(title="Smart phone", category=tree["electronics"], brand=acme, price=Decimal("300")),
    }


def ids(response):
    return sorted(item["id"] for item in response.json()["results"])


def test_category_filter_includes_the_whole_subtree(api_client, products, tree):
    response = api_client.get("/api/v1/products/", {"category": tree["clothing"].pk})

    assert ids(response) == sorted([products["shirt"].pk, products["dress"].pk])


def test_brand_price_and_text_filters_combine(api_client, products):
    acme = products["shirt"].brand_id
    response = api_client.get("/api/v1/products/", {"brand": acme, "min_price": 10, "max_price": 100, "q": "shirt"})

    assert ids(response) == [products["shirt"].pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"min_price": "cheap"}, "min_price"),
        ({"min_price": 50, "max_price": 10}, "max_price"),
        ({"category": 999999}, "category"),
        ({"brand": "x"}, "brand"),
    ],
)
def test_bad_filters_are_400_with_the_field_named(api_client, products, params, field):
    response = api_client.get("/api/v1/products/", params)

    assert response.status_code == 400
    assert field in response.json()


def test_page_size_is_capped(api_client, tree):
    ProductFactory.create_batch(205, category=tree["men"])

    response = api_client.get("/api/v1/products/", {"page_size": 1000})

    assert len(response.json()["results"]) == 200
    assert response.json()["count"] == 205


def test_list_query_count_does_not_grow_with_the_page(api_client, tree, django_assert_num_queries):
    ProductFactory.create_batch(30, category=tree["shirts"])

    with django_assert_num_queries(2):  # count + page, brand and category joined
        response = api_client.get("/api/v1/products/", {"page_size": 30})
    assert response.status_code == 200


def test_detail_has_category_path_and_attributes(api_client, products):
    attribute = AttributeFactory(name="Fabric")
    products["shirt"].attribute_values.create(attribute=attribute, value="Cotton")

    data = api_client.get(f"/api/v1/products/{products['shirt'].pk}/").json()

    assert [node["name"] for node in data["category_path"]] == ["Clothing", "Men", "Shirts"]
    assert data["attributes"] == [
        {"attribute_id": attribute.pk, "attribute": "Fabric", "value": "Cotton", "value_id": None}
    ]


def test_unknown_product_is_404(api_client, db):
    assert api_client.get("/api/v1/products/424242/").status_code == 404


def test_category_tree_and_depth(api_client, tree):
    full = api_client.get("/api/v1/categories/").json()
    shallow = api_client.get("/api/v1/categories/", {"depth": 1}).json()

    assert [n["name"] for n in full[0]["children"]] == ["Men", "Women"]
    assert shallow[0]["children"] == []
    assert api_client.get("/api/v1/categories/", {"depth": 0}).status_code == 400


def test_category_detail_has_path_and_children(api_client, tree):
    data = api_client.get(f"/api/v1/categories/{tree['men'].pk}/").json()

    assert [n["name"] for n in data["path"]] == ["Clothing", "Men"]
    assert [c["name"] for c in data["children"]] == ["Shirts"]


def test_attribute_tree_is_public(api_client, db):
    AttributeFactory(name="Colour", data_type="enum")

    assert api_client.get("/api/v1/attributes/").json()[0]["name"] == "Colour"


def test_anonymous_cannot_create_products(api_client, tree):
    response = api_client.post("/api/v1/products/", {"sku": "N1", "title": "New"}, format="json")

    assert response.status_code == 401


def test_staff_creates_a_product_with_a_manual_category(staff_api_client, tree):
    payload = {"sku": "N1", "title": "New shirt", "brand": "Acme", "price": "9.50", "category": tree["shirts"].pk}
    response = staff_api_client.post("/api/v1/products/", payload, format="json")

    assert response.status_code == 201
    product = Product.objects.get(sku="N1")
    assert (product.brand.name, product.category_source) == ("Acme", "manual")


def test_product_create_errors_name_each_field(staff_api_client, products):
    payload = {"sku": products["shirt"].sku, "title": "", "price": "-1", "currency": "EURO"}
    response = staff_api_client.post("/api/v1/products/", payload, format="json")

    assert response.status_code == 400
    assert set(response.json()) >= {"sku", "title", "price", "currency"}


def test_staff_patches_a_product(staff_api_client, products):
    response = staff_api_client.patch(f"/api/v1/products/{products['shirt'].pk}/", {"price": "25.00"}, format="json")

    assert response.status_code == 200
    assert response.json()["price"] == "25.00"


def event(product, **extra):
    return {"visitor_id": "v1", "event": "view", "product": product.pk, **extra}


def test_ingest_needs_authentication(api_client, products):
    assert api_client.post("/api/v1/interactions/", event(products["shirt"]), format="json").status_code == 401


def test_ingest_needs_the_add_interaction_permission(shopper, products):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=shopper).key}")
    assert client.post("/api/v1/interactions/", event(products["shirt"]), format="json").status_code == 403

    shopper.user_permissions.add(Permission.objects.get(codename="add_interaction"))
    assert client.post("/api/v1/interactions/", event(products["shirt"]), format="json").status_code == 201


def test_batch_ingest_is_idempotent_by_event_id(staff_api_client, products):
    batch = [
        event(products["shirt"], event_id="e1"),
        {"visitor_id": "v1", "event": "purchase", "sku": products["dress"].sku, "event_id": "e2", "order_id": "o1"},
    ]

    first = staff_api_client.post("/api/v1/interactions/", batch, format="json").json()
    second = staff_api_client.post("/api/v1/interactions/", batch, format="json").json()

    assert first == {"created": 2, "duplicates": 0, "declined": 0}
    assert second == {"created": 0, "duplicates": 2, "declined": 0}
    assert Interaction.objects.count() == 2


def test_a_bad_event_in_a_batch_rejects_the_batch_with_its_index(staff_api_client, products):
    batch = [
        event(products["shirt"]),
        {"visitor_id": "v1", "event": "teleport"},
        {"visitor_id": "v1", "event": "search"},
    ]

    response = staff_api_client.post("/api/v1/interactions/", batch, format="json")

    assert response.status_code == 400
    errors = response.json()["rows"]
    assert set(errors) == {"1", "2"}  # errors keyed by the position of each bad event
    assert "event" in errors["1"] and "query" in errors["2"]
    assert Interaction.objects.count() == 0


def test_a_batch_looks_products_up_in_a_fixed_number_of_queries(
    staff_api_client, products, django_assert_max_num_queries
):
    batch = [event(products["shirt"], event_id=f"s{n}") for n in range(50)]
    batch += [
        {"visitor_id": "v2", "event": "view", "sku": products["dress"].sku, "event_id": f"d{n}"} for n in range(50)
    ]

    with django_assert_max_num_queries(12):
        response = staff_api_client.post("/api/v1/interactions/", batch, format="json")

    assert response.json() == {"created": 100, "duplicates": 0, "declined": 0}


def test_unknown_products_in_a_batch_are_named(staff_api_client, products):
    batch = [event(products["shirt"]), {"visitor_id": "v1", "event": "view", "product": 999999}]
    batch.append({"visitor_id": "v1", "event": "view", "sku": "no-such-sku"})
    batch.append({"visitor_id": "v1", "event": "view", "product": "abc"})

    errors = staff_api_client.post("/api/v1/interactions/", batch, format="json").json()["rows"]

    assert errors["1"]["product"] == ["No product with id 999999."]
    assert errors["2"]["sku"] == ["No product with SKU 'no-such-sku'."]
    assert errors["3"]["product"] == ["Expected a product id (a positive integer)."]
    assert Interaction.objects.count() == 0


def test_batches_over_the_limit_are_refused(staff_api_client, products):
    response = staff_api_client.post("/api/v1/interactions/", [event(products["shirt"])] * 1001, format="json")

    assert response.status_code == 400
    assert Interaction.objects.count() == 0


def test_ingest_of_garbage_is_400_not_500(staff_api_client, db):
    response = staff_api_client.post("/api/v1/interactions/", "not json", content_type="application/json")

    assert response.status_code == 400


def test_openapi_schema_and_docs_render(api_client, db):
    assert api_client.get("/api/schema/").status_code == 200
    assert api_client.get("/api/docs/").status_code == 200
