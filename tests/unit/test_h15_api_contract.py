"""The API contract of issue 15 point 9: brands, brand filter by id or slug, ordering, the JSON root,
interaction timestamps and per-row errors, the storefront 404 page, a typed schema."""

import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from catalog.models import Interaction
from tests.factories import BrandFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ingest_client(staff_api_client):
    return staff_api_client


def test_brands_list_ids_slugs_names_and_product_counts(api_client):
    acme = BrandFactory(name="Acme", slug="acme")
    ProductFactory.create_batch(2, brand=acme)
    ProductFactory(brand=acme, is_active=False)

    rows = api_client.get("/api/v1/brands/", {"q": "acm"}).json()["results"]

    assert rows == [{"id": acme.pk, "slug": "acme", "name": "Acme", "product_count": 2}]


@pytest.mark.parametrize("reference", ["id", "slug"])
def test_products_filter_by_brand_id_or_slug(api_client, reference):
    acme = BrandFactory(name="Acme", slug="acme")
    wanted = ProductFactory(brand=acme)
    ProductFactory()

    value = acme.pk if reference == "id" else "acme"
    rows = api_client.get("/api/v1/products/", {"brand": value}).json()["results"]

    assert [row["id"] for row in rows] == [wanted.pk]


def test_products_filter_by_several_brands_mixing_ids_and_slugs(api_client):
    first, second = BrandFactory(slug="first"), BrandFactory(slug="second")
    products = [ProductFactory(brand=first), ProductFactory(brand=second), ProductFactory()]

    rows = api_client.get(f"/api/v1/products/?brand={first.pk}&brand=second").json()["results"]

    assert {row["id"] for row in rows} == {products[0].pk, products[1].pk}


def test_an_unknown_brand_is_a_400_that_names_it(api_client):
    response = api_client.get("/api/v1/products/", {"brand": "no-such-brand"})

    assert response.status_code == 400
    assert "no-such-brand" in response.json()["brand"][0]


def test_ordering_by_price_puts_products_without_price_last(api_client):
    cheap = ProductFactory(price=Decimal("5"))
    dear = ProductFactory(price=Decimal("50"))
    unknown = ProductFactory(price=None)

    ascending = [r["id"] for r in api_client.get("/api/v1/products/", {"ordering": "price"}).json()["results"]]
    descending = [r["id"] for r in api_client.get("/api/v1/products/", {"ordering": "-price"}).json()["results"]]

    assert ascending == [cheap.pk, dear.pk, unknown.pk]
    assert descending == [dear.pk, cheap.pk, unknown.pk]


def test_ordering_on_an_undocumented_field_is_a_400_with_the_allowed_fields(api_client):
    response = api_client.get("/api/v1/products/", {"ordering": "sku"})

    assert response.status_code == 400
    assert "price, -price, title" in response.json()["ordering"][0]


def test_the_api_root_is_json_listing_the_endpoints(api_client):
    response = api_client.get("/api/v1/")

    body = response.json()
    names = {endpoint["name"] for endpoint in body["endpoints"]}
    assert response.status_code == 200
    assert {"product-list", "brand-list", "interaction-ingest", "category-tree"} <= names
    assert body["schema"].endswith("/api/schema/")


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (1700000000, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("1700000000", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("2023-11-14T22:13:20Z", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
    ],
)
def test_interactions_accept_epoch_seconds_and_iso_8601(ingest_client, timestamp, expected):
    product = ProductFactory()

    response = ingest_client.post(
        "/api/v1/interactions/",
        {"visitor_id": "v1", "event": "view", "product": product.pk, "timestamp": timestamp},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert Interaction.objects.get().timestamp == expected


def test_a_bad_batch_names_each_bad_row_and_stores_nothing(ingest_client):
    product = ProductFactory()
    good = {"visitor_id": "v1", "event": "view", "product": product.pk, "timestamp": 1700000000}
    batch = [good, good, {**good, "timestamp": "yesterday"}, good, {**good, "event": "teleport"}]

    response = ingest_client.post("/api/v1/interactions/", batch, format="json")

    body = response.json()
    assert response.status_code == 400
    assert set(body["rows"]) == {"2", "4"}
    assert "timestamp" in body["rows"]["2"] and "event" in body["rows"]["4"]
    assert not Interaction.objects.exists()


def test_an_unknown_storefront_page_shows_the_site_404_page_in_debug(client, settings):
    settings.DEBUG = True

    response = client.get("/p/999999/")
    unknown_url = client.get("/no/such/page/")

    assert response.status_code == 404 and unknown_url.status_code == 404
    assert b"Page not found" in response.content and b"Back to the shop" in unknown_url.content
    assert b"technical_404" not in unknown_url.content and b"URLconf" not in unknown_url.content


def test_the_schema_validates_and_types_the_catalog_and_taxonomy_responses(tmp_path, capsys):
    out = tmp_path / "schema.json"

    call_command("spectacular", "--validate", "--format", "openapi-json", "--file", str(out))

    # Warnings about other apps' endpoints are their owners' business; none may name ours.
    warnings = [line for line in capsys.readouterr().err.splitlines() if "Warning" in line or "Error" in line]
    assert not [line for line in warnings if re.search(r"/(catalog|taxonomy|config)/", line)]
    paths = json.loads(out.read_text())["paths"]
    for route in ["/api/v1/brands/", "/api/v1/categories/", "/api/v1/attributes/", "/api/v1/"]:
        assert "$ref" in json.dumps(paths[route]["get"]["responses"]["200"]), route
    assert "$ref" in json.dumps(paths["/api/v1/interactions/"]["post"]["responses"]["201"])
