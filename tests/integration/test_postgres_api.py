"""The API against PostgreSQL and the Redis cache: filters, ingest idempotency, tree caching."""

import pytest

from catalog.models import Interaction
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_subtree_filter_and_idempotent_ingest_on_postgres(real_services, api_client, staff_api_client, tree):
    shirt = ProductFactory(title="Oxford shirt", category=tree["shirts"])
    ProductFactory(title="Radio", category=tree["electronics"])
    events = [{"visitor_id": "v1", "event": "view", "product": shirt.pk, "event_id": f"pg-{i}"} for i in range(50)]

    listed = api_client.get("/api/v1/products/", {"category": tree["clothing"].pk}).json()
    first = staff_api_client.post("/api/v1/interactions/", events, format="json").json()
    again = staff_api_client.post("/api/v1/interactions/", events, format="json").json()

    assert [item["id"] for item in listed["results"]] == [shirt.pk]
    assert (first["created"], again["duplicates"]) == (50, 50)
    assert Interaction.objects.count() == 50


def test_category_tree_cache_is_refreshed_after_a_move(real_services, api_client, tree):
    before = api_client.get("/api/v1/categories/").json()
    tree["men"].move_to(tree["electronics"], "last-child")
    after = api_client.get("/api/v1/categories/").json()

    clothing_before = next(n for n in before if n["name"] == "Clothing")
    electronics_after = next(n for n in after if n["name"] == "Electronics")
    assert "Men" in [c["name"] for c in clothing_before["children"]]
    assert [c["name"] for c in electronics_after["children"]] == ["Men"]
