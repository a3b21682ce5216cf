"""Similar items, duplicates and search through services, API, admin and pages.

The sentence encoder is replaced by a hashed bag-of-words encoder so these tests run in
seconds; the real MiniLM is exercised in tests/unit/test_ml_similarity.py and the benchmarks.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from catalog.models import Interaction, Product
from recommend.core import vectors
from recommend.models import DuplicatePair, ModelVersion, SimilarItem
from recommend.similarity.services import similarity_build
from tests.factories import BrandFactory, InteractionFactory, ProductFactory
from tests.fakes import bag_of_words

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fake_encoder(monkeypatch):
    calls = []

    def encode(texts, progress=None):
        calls.append(len(texts))
        return bag_of_words(texts, progress)

    monkeypatch.setattr(vectors, "encode_texts", encode)
    return calls


@pytest.fixture
def catalog(tree):
    acme, zed = BrandFactory(name="Acme"), BrandFactory(name="Zed")
    products = {
        "red_shirt": ProductFactory(title="Red cotton shirt with pocket", category=tree["shirts"], brand=acme),
        "blue_shirt": ProductFactory(title="Blue cotton shirt with pocket", category=tree["shirts"], brand=acme),
        "linen_shirt": ProductFactory(title="Linen shirt with pocket", category=tree["shirts"], brand=zed),
        "dress": ProductFactory(title="Summer floral dress", category=tree["women"], brand=zed),
        "radio": ProductFactory(title="Portable radio receiver", category=tree["electronics"], brand=zed),
        "speaker": ProductFactory(title="Bluetooth speaker receiver", category=tree["electronics"], brand=acme),
    }
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for visitor in range(4):  # shoppers who look at the dress look at the radio next
        for step, key in enumerate(["dress", "radio"]):
            InteractionFactory(
                visitor_id=f"v{visitor}", product=products[key], timestamp=start + timedelta(minutes=step)
            )
    return products


def built(progress=lambda fraction, message: None):
    return similarity_build(progress=progress)


def neighbours(product, strategy):
    return list(
        SimilarItem.objects.filter(product=product, strategy=strategy)
        .order_by("rank")
        .values_list("neighbor", flat=True)
    )


def test_build_activates_a_version_with_three_strategies(catalog):
    version = built()

    assert version.status == ModelVersion.Status.ACTIVE
    assert set(SimilarItem.objects.values_list("strategy", flat=True)) == {"content", "behavior", "hybrid"}
    assert version.metrics["products"] == 6


def test_content_neighbours_exclude_the_item_and_rank_similar_text_first(catalog):
    built()

    content = neighbours(catalog["red_shirt"], "content")
    assert catalog["red_shirt"].pk not in content
    assert content[:2] == [catalog["blue_shirt"].pk, catalog["linen_shirt"].pk]


def test_behaviour_neighbours_come_from_co_views(catalog):
    built()

    assert neighbours(catalog["dress"], "behavior") == [catalog["radio"].pk]
    hybrid = SimilarItem.objects.get(product=catalog["dress"], strategy="hybrid", neighbor=catalog["radio"])
    assert hybrid.signal in ("behavior", "both")


def test_exact_duplicates_are_not_listed_as_similar(catalog, tree):
    copy = ProductFactory(
        title="Red cotton shirt with pocket", category=tree["shirts"], brand=catalog["red_shirt"].brand
    )
    built()

    assert copy.pk not in neighbours(catalog["red_shirt"], "content")


def test_api_serves_scores_and_signals(client, catalog):
    built()

    data = client.get(f"/api/v1/products/{catalog['red_shirt'].pk}/similar?strategy=content&limit=2").json()

    assert [item["id"] for item in data["results"]] == [catalog["blue_shirt"].pk, catalog["linen_shirt"].pk]
    assert all(item["signal"] == "content" and 0 < item["score"] <= 1 for item in data["results"])


def test_cold_start_behaviour_falls_back_to_content(client, catalog):
    built()

    data = client.get(f"/api/v1/products/{catalog['red_shirt'].pk}/similar?strategy=behavior").json()

    assert data["fallback"] == "content"
    assert data["results"][0]["id"] == catalog["blue_shirt"].pk


def test_a_product_added_after_the_build_gets_live_content_neighbours(client, catalog, tree):
    built()
    newcomer = ProductFactory(title="Green cotton shirt with pocket", category=tree["shirts"])

    data = client.get(f"/api/v1/products/{newcomer.pk}/similar?strategy=hybrid&limit=3").json()

    assert data["fallback"] == "live_content"
    assert data["results"][0]["id"] in (catalog["red_shirt"].pk, catalog["blue_shirt"].pk)


def test_hidden_products_are_never_served(client, catalog):
    built()
    Product.objects.filter(pk=catalog["blue_shirt"].pk).update(is_active=False)

    data = client.get(f"/api/v1/products/{catalog['red_shirt'].pk}/similar?strategy=content").json()

    assert catalog["blue_shirt"].pk not in [item["id"] for item in data["results"]]


def test_category_scope_keeps_or_leaves_the_category(client, catalog):
    built()
    url = f"/api/v1/products/{catalog['radio'].pk}/similar?strategy=hybrid"

    same = client.get(url + "&category=same").json()["results"]
    other = client.get(url + "&category=other").json()["results"]

    assert {item["id"] for item in same} == {catalog["speaker"].pk}
    assert catalog["speaker"].pk not in {item["id"] for item in other}


@pytest.mark.parametrize("query", ["strategy=magic", "limit=0", "limit=500", "category=near"])
def test_bad_similar_requests_are_400(client, catalog, query):
    response = client.get(f"/api/v1/products/{catalog['radio'].pk}/similar?{query}")

    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_unknown_product_is_404(client, db):
    assert client.get("/api/v1/products/987654/similar").status_code == 404


def test_a_rebuild_only_embeds_changed_products(catalog, fake_encoder):
    built()
    Product.objects.filter(pk=catalog["radio"].pk).update(title="Portable radio with alarm clock")

    built()

    assert fake_encoder == [6, 1]


def test_rollback_keeps_the_previous_lists(catalog):
    first = built()
    second = built()

    assert ModelVersion.objects.get(pk=first.pk).status == "retired"
    assert SimilarItem.objects.filter(model_version=first).exists()
    assert SimilarItem.objects.filter(model_version=second).exists()


def test_product_page_shows_similar_items(client, catalog):
    built()

    page = client.get(catalog["red_shirt"].get_absolute_url()).content.decode()

    assert "Similar items" in page and "Blue cotton shirt with pocket" in page


def test_search_matches_words_and_meaning(client, catalog):
    built()

    words = client.get("/api/v1/search?q=radio").json()["results"]
    meaning = client.get("/api/v1/search?q=receiver").json()["results"]

    assert words[0]["id"] == catalog["radio"].pk and words[0]["matched_by"] == "both"
    assert {item["id"] for item in meaning[:2]} == {catalog["radio"].pk, catalog["speaker"].pk}


def test_search_without_a_query_is_400(client, db):
    response = client.get("/api/v1/search")

    assert response.status_code == 400 and "q" in response.json()


def test_search_page_before_any_build_still_finds_words(client, catalog):
    page = client.get("/search/", {"q": "floral"}).content.decode()

    assert "Summer floral dress" in page


def test_a_listing_copied_many_times_still_gets_neighbours_besides_its_copies(catalog, settings):
    settings.SIMILAR_TOP_K = 2
    original = catalog["red_shirt"]
    copies = [ProductFactory(title=original.title, category=original.category, brand=original.brand) for _ in range(9)]
    built()

    found = neighbours(copies[0], SimilarItem.Strategy.CONTENT)

    assert len(found) == 2 and not {original.pk, *(c.pk for c in copies)} & set(found)


def test_search_shows_a_copied_listing_once(client, catalog):
    radio = catalog["radio"]
    for _ in range(5):
        ProductFactory(title=radio.title, brand=radio.brand, category=radio.category)
    built()

    hits = client.get("/api/v1/search?q=radio+receiver&limit=2").json()["results"]

    assert [item["title"] for item in hits] == [radio.title, catalog["speaker"].title]


def test_search_ignores_index_rows_of_products_that_are_gone(client, catalog):
    built()
    ModelVersion.objects.filter(kind=ModelVersion.Kind.SIMILAR).delete()
    catalog["radio"].delete()
    new_radio = ProductFactory(title="Pocket radio", category=catalog["speaker"].category)

    hits = client.get("/api/v1/search?q=radio").json()["results"]

    assert [item["id"] for item in hits] == [new_radio.pk]


@pytest.fixture
def duplicate_catalog(catalog, tree):
    twin = ProductFactory(
        title="Red cotton shirt with pocket - new", category=tree["shirts"], brand=catalog["red_shirt"].brand
    )
    InteractionFactory(visitor_id="twin-buyer", product=twin)
    return {**catalog, "twin": twin}


def test_build_lists_near_duplicates_for_staff(duplicate_catalog):
    built()

    pairs = set(DuplicatePair.objects.filter(status="open").values_list("left", "right"))
    assert (duplicate_catalog["red_shirt"].pk, duplicate_catalog["twin"].pk) in pairs
    assert not any(duplicate_catalog["dress"].pk in pair for pair in pairs)


def test_merge_keeps_interactions_and_redirects_the_old_page(client, staff, duplicate_catalog):
    built()
    pair = DuplicatePair.objects.get(left=duplicate_catalog["red_shirt"], right=duplicate_catalog["twin"])
    client.force_login(staff)

    client.post(
        reverse("admin:recommend_duplicatepair_changelist"),
        {"action": "merge_keep_left", "_selected_action": [pair.pk]},
    )

    twin, kept = duplicate_catalog["twin"], duplicate_catalog["red_shirt"]
    assert Interaction.objects.get(visitor_id="twin-buyer").product == kept
    response = client.get(f"/p/{twin.pk}/")
    assert response.status_code == 301 and response["Location"] == kept.get_absolute_url()


def test_not_a_duplicate_is_remembered_across_rebuilds(client, staff, duplicate_catalog):
    built()
    pair = DuplicatePair.objects.get(left=duplicate_catalog["red_shirt"], right=duplicate_catalog["twin"])
    client.force_login(staff)
    client.post(
        reverse("admin:recommend_duplicatepair_changelist"), {"action": "not_duplicate", "_selected_action": [pair.pk]}
    )

    built()

    assert DuplicatePair.objects.get(pk=pair.pk).status == "not_duplicate"
    assert DuplicatePair.objects.filter(left=pair.left, right=pair.right).count() == 1


def test_score_pairs_command_scores_each_line(tmp_path):
    source, target = tmp_path / "pairs.jsonl", tmp_path / "scores.jsonl"
    lines = [
        {
            "left": {"title": "Acme red cotton shirt", "brand": "Acme", "price": 20},
            "right": {"title": "Acme red cotton shirt"},
        },
        {"left": {"title": "Portable radio"}, "right": {"title": "Summer floral dress", "price": "35.5"}},
        {"left": {}, "right": {}},
    ]
    source.write_text("\n".join(json.dumps(line) for line in lines))

    call_command("score_pairs", "--input", str(source), "--output", str(target))

    scores = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(scores) == 3 and scores[0]["score"] > scores[1]["score"]
    assert scores[0]["duplicate"] is True and scores[1]["duplicate"] is False


def test_score_pairs_reports_the_bad_line(tmp_path):
    source = tmp_path / "pairs.jsonl"
    source.write_text('{"left": {"title": "a"}, "right": {"title": "b"}}\n{"left": "oops", "right": {}}\n')

    with pytest.raises(CommandError, match="line 2: 'left' must be a JSON object"):
        call_command("score_pairs", "--input", str(source), "--output", str(tmp_path / "out.jsonl"))
