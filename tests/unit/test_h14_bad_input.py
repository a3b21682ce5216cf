"""Bad input answers 400 (never 500): id overflow, odd digits, brand slug collisions, NUL bytes, huge bodies."""

import json

import pytest

from catalog.models import Brand, Product
from tests.factories import BrandFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_brand_filter_with_an_id_too_large_for_the_database_is_a_400(api_client):
    response = api_client.get("/api/v1/products/", {"brand": "99999999999999999999"})

    assert response.status_code == 400
    assert "brand" in response.json()


@pytest.mark.parametrize("product", ["²", "99999999999999999999", "٣", -1, 1.5])
def test_interaction_with_an_odd_product_id_is_a_400(staff_api_client, product):
    response = staff_api_client.post(
        "/api/v1/interactions/", {"visitor_id": "v1", "event": "view", "product": product}, format="json"
    )

    assert response.status_code == 400
    assert "product" in response.json()


def test_interaction_batch_with_odd_product_ids_is_a_400(staff_api_client):
    batch = [{"visitor_id": "v1", "event": "view", "product": p} for p in ("²", "99999999999999999999")]
    response = staff_api_client.post("/api/v1/interactions/", batch, format="json")

    assert response.status_code == 400
    assert set(response.json()["rows"]) == {"0", "1"}


@pytest.mark.parametrize("name", ["acme", "ACME", " Acme "])
def test_api_product_with_a_brand_differing_in_case_reuses_the_brand(staff_api_client, name):
    acme = BrandFactory(name="Acme", slug="acme")
    response = staff_api_client.post(
        "/api/v1/products/", {"sku": "S1", "title": "Thing", "brand": name, "price": "1.00"}, format="json"
    )

    assert response.status_code == 201, response.content
    assert Product.objects.get(sku="S1").brand_id == acme.pk
    assert Brand.objects.count() == 1


def test_api_product_with_a_brand_slugifying_like_another_gets_its_own_slug(staff_api_client):
    BrandFactory(name="Acme", slug="acme")
    for sku, name in [("S1", "Acme!"), ("S2", "acme?")]:
        response = staff_api_client.post("/api/v1/products/", {"sku": sku, "title": "T", "brand": name}, format="json")
        assert response.status_code == 201, response.content
    assert sorted(Brand.objects.values_list("slug", flat=True)) == ["acme", "acme-2", "acme-3"]


def test_api_and_importer_resolve_brands_the_same_way(staff_api_client):
    from catalog.brands import brand_known_ids, brands_ensure

    brands_ensure(["Ωmega"], brand_known_ids())
    response = staff_api_client.post("/api/v1/products/", {"sku": "S1", "title": "T", "brand": "ωMEGA"}, format="json")

    assert response.status_code == 201
    assert Product.objects.get(sku="S1").brand.name == "Ωmega"


def test_api_products_with_non_latin_brands_get_distinct_brands(staff_api_client):
    for index, name in enumerate(["Ωmega", "ωMEGA", "東京", "京都", "!!!", "???"]):
        response = staff_api_client.post(
            "/api/v1/products/", {"sku": f"N{index}", "title": "Thing", "brand": name}, format="json"
        )
        assert response.status_code == 201, (name, response.content)
    names = set(Brand.objects.values_list("name", flat=True))
    assert {"東京", "京都"} <= names
    assert Product.objects.get(sku="N0").brand_id == Product.objects.get(sku="N1").brand_id
    assert Product.objects.get(sku="N4").brand_id != Product.objects.get(sku="N2").brand_id


def test_storefront_search_drops_a_nul_byte_before_the_database(client, monkeypatch):
    import recommend.search.views as views

    seen = []
    empty = {"ids": [], "scores": {}, "sources": {}}
    monkeypatch.setattr(views, "search_ranking", lambda **kw: seen.append(kw) or empty)
    response = client.get("/search/", {"q": "shirt\x00"})

    assert response.status_code == 200
    assert seen[0]["query"] == "shirt"


@pytest.mark.parametrize("page", ["²", "٣", "99999999999999999999999", "-1"])
def test_storefront_search_with_an_odd_page_number_answers(client, page):
    ProductFactory(title="Blue shirt")
    response = client.get("/search/", {"q": "shirt", "page": page})

    assert response.status_code == 200


def test_search_api_with_a_nul_byte_is_a_400(api_client):
    response = api_client.get("/api/v1/search/", {"q": "shirt\x00"})

    assert response.status_code == 400
    assert "q" in response.json()


def test_product_filter_with_a_nul_byte_is_a_400(api_client):
    response = api_client.get("/api/v1/products/", {"q": "shirt\x00"})

    assert response.status_code == 400


def test_oversized_api_body_is_a_json_error(staff_api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps([{"visitor_id": "v" * 50, "event": "view", "product": 1}] * 100)
    response = staff_api_client.post("/api/v1/interactions/", body, content_type="application/json")

    assert response.status_code in (400, 413)
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/products/{HUGE}/",
        f"/api/v1/products/{HUGE}/similar/",
        f"/api/v1/products/{HUGE}/bought-together/",
        f"/api/v1/categories/{HUGE}/",
        f"/p/{HUGE}/",
    ],
)
def test_an_id_past_64_bits_in_the_path_is_a_404(client, url):
    assert client.get(url).status_code == 404


def test_a_category_filter_past_64_bits_is_a_400(api_client):
    response = api_client.get("/api/v1/products/", {"category": HUGE})

    assert response.status_code == 400 and "category" in response.json()


def test_a_product_with_a_category_id_past_64_bits_is_a_400(staff_api_client):
    response = staff_api_client.post(
        "/api/v1/products/", {"sku": "S1", "title": "T", "category": int(HUGE)}, format="json"
    )

    assert response.status_code == 400 and "category" in response.json()


def test_basket_completion_with_an_id_past_64_bits_is_a_400(api_client):
    response = api_client.post("/api/v1/basket/complete/", {"product_ids": [int(HUGE)]}, format="json")

    assert response.status_code == 400 and "product_ids" in response.json()


def test_not_interested_with_an_id_past_64_bits_is_a_400(api_client):
    response = api_client.post("/api/v1/recommendations/not-interested/", {"product": int(HUGE)}, format="json")

    assert response.status_code == 400 and "product" in response.json()


@pytest.mark.parametrize("odd", ["²", "٣", "99999999999999999999999"])
def test_storefront_facets_with_odd_ids_are_ignored(client, tree, odd):
    ProductFactory(title="Blue shirt", category=tree["shirts"])

    category = client.get(tree["shirts"].get_absolute_url(), {"brand": odd, "a": f"{odd}:red"})
    search = client.get("/search/", {"q": "shirt", "brand": odd})

    assert category.status_code == 200 and "Blue shirt" in category.content.decode()
    assert search.status_code == 200


@pytest.mark.parametrize("odd", ["²", "٣", "99999999999999999999999"])
def test_cart_with_odd_product_ids_answers_without_an_error(client, odd):
    assert client.post("/cart/add/", {"product_id": odd}).status_code == 404
    assert client.post("/cart/remove/", {"product_id": odd}).status_code == 302
