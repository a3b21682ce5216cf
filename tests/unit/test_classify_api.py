"""The /api/v1/classify endpoint: one product or a batch, authentication, field errors."""
# ruff: noqa: F811  (the fixtures imported from test_classification are parameters here)

import pytest

from tests.unit.test_classification import _tiny_models, catalog_tree, laptops, trained  # noqa: F401

pytestmark = pytest.mark.django_db

CLASSIFY = "/api/v1/classify"


def test_classify_needs_an_active_model(staff_api_client, db):
    response = staff_api_client.post(CLASSIFY, {"title": "Acme Laptop"}, format="json")

    assert response.status_code == 503 and "No classifier is active" in response.json()["detail"]


def test_classify_needs_authentication(api_client, trained):
    assert api_client.post(CLASSIFY, {"title": "Acme Laptop"}, format="json").status_code in (401, 403)


def test_classify_one_product(staff_api_client, trained):
    body = {"title": "Nova Laptop", "brand": "Acme", "attributes": {"memory": "16 GB"}, "top_k": 2}

    response = staff_api_client.post(CLASSIFY, body, format="json")

    assert response.status_code == 200
    data = response.json()
    assert data["model_version"] == 1 and len(data["predictions"]) == 2
    best = data["predictions"][0]
    assert best["category_id"] == laptops(trained).pk and best["path"] == ["Electronics", "Laptops"]
    assert 0 < best["confidence"] <= 1 and best["attention"][0][0] in {"nova", "laptop", "acme", "16", "gb"}


def test_classify_a_batch(staff_api_client, trained):
    body = [{"title": "Oxford Shirt"}, {"title": "Android Phone", "top_k": 1}]

    response = staff_api_client.post(f"{CLASSIFY}/", body, format="json")

    results = response.json()["results"]
    assert [len(r) for r in results] == [3, 1]
    assert results[1][0]["path"] == ["Electronics", "Phones"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"description": "no title"}, "title"),
        ({"title": "x", "top_k": 0}, "top_k"),
        ({"title": "x", "top_k": 11}, "top_k"),
        ({"title": "x", "attributes": ["not", "a", "map"]}, "attributes"),
        ([{"title": "x"}] * 1001, "non_field_errors"),
        ([], "non_field_errors"),
        ("just a string", "non_field_errors"),
    ],
)
def test_classify_rejects_bad_input_with_field_errors(staff_api_client, trained, body, field):
    response = staff_api_client.post(CLASSIFY, body, format="json")

    assert response.status_code == 400
    errors = response.json()
    flat = errors if isinstance(errors, dict) else next(e for e in errors if e)
    assert field in flat, errors
