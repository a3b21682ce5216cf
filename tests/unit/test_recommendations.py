"""Personalised recommendations through the job, the API and the pages (SQLite, a tiny trained SASRec).

The shop: 20 products in a cycle (after product k shoppers look at k + 1), 60 shoppers.
"""

import shutil
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import Interaction, Product
from recommend.core.jobs import job_create
from recommend.core.registry import (
    model_version_activate,
    model_version_create,
    model_version_mark,
    model_version_save_artifact,
)
from recommend.models import Job, ModelVersion
from recommend.sequential.models import RecommendationFeedback
from recommend.sequential.services import TrainingOptions, recommender_train, training_sequences
from tests.factories import BrandFactory, CategoryFactory, InteractionFactory, ProductFactory, give_visitor

TINY_TRAINING = {
    "epochs": 40,
    "batch_size": 64,
    "negatives": 0,
    "learning_rate": 5e-3,
    "evaluate_every": 10,
    "patience": 100,
    "threads": 1,
}
START = datetime(2025, 1, 1, tzinfo=UTC)
_trained: dict = {}


@pytest.fixture
def shop(db, settings):
    settings.RECOMMEND_TRAINING = TINY_TRAINING
    brand = BrandFactory(name="Acme")
    category = CategoryFactory(name="Skincare", slug="skincare")
    products = [ProductFactory(sku=f"P{i:02d}", title=f"Cream {i}", brand=brand, category=category) for i in range(20)]
    rows = [
        Interaction(
            visitor_id=f"v{visitor}",
            product=products[(visitor + step) % 20],
            event=Interaction.Event.VIEW,
            timestamp=START + timedelta(minutes=step),
        )
        for visitor in range(60)
        for step in range(8)
    ]
    Interaction.objects.bulk_create(rows)
    return products


@pytest.fixture
def trained(shop, tmp_path_factory):
    """An active sequential version: trained once per test run, re-registered (ids remapped by SKU) after."""
    from recommend.ml.sequential.data import ItemVocabulary
    from recommend.ml.sequential.pipeline import SequentialArtifact

    if not _trained:
        # The cycle is perfect for item-kNN too (both 100 % hit@10): a tie does not beat it, so force.
        version = recommender_train(options=TrainingOptions(force=True))
        from recommend.core.registry import artifact_local_path

        kept = tmp_path_factory.mktemp("sequential") / "sequential.pt"
        shutil.copy(artifact_local_path(version=version), kept)
        skus = dict(Product.objects.values_list("pk", "sku"))
        artifact = SequentialArtifact.load(kept)
        _trained.update(path=kept, skus=[skus[pk] for pk in artifact.vocabulary.ids], metrics=version.metrics)
        return version
    artifact = SequentialArtifact.load(_trained["path"])
    pks = dict(Product.objects.values_list("sku", "pk"))
    artifact.vocabulary = ItemVocabulary(ids=[pks[sku] for sku in _trained["skus"]])
    local = _trained["path"].parent / "remapped.pt"
    artifact.save(local)
    version = model_version_create(kind=ModelVersion.Kind.SEQUENTIAL)
    model_version_save_artifact(version=version, local_path=local)
    model_version_mark(version=version, status=ModelVersion.Status.READY, metrics=_trained["metrics"])
    return model_version_activate(version=version)


def history_of(visitor_id, products, *, user=None, event=Interaction.Event.VIEW, minutes=0):
    for offset, product in enumerate(products):
        InteractionFactory(
            visitor_id=visitor_id,
            user=user,
            product=product,
            event=event,
            timestamp=START + timedelta(days=30, minutes=minutes + offset),
        )


def recommended_ids(response):
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def test_training_job_stores_metrics_and_activates_the_version(shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(kind=Job.Kind.TRAIN_RECOMMENDER, params={"epochs": 5, "force": True})
    job.refresh_from_db()
    assert job.status == Job.Status.DONE, job.error
    version = ModelVersion.objects.get(kind=ModelVersion.Kind.SEQUENTIAL)
    assert version.status == ModelVersion.Status.ACTIVE
    assert {"valid.sasrec.ndcg_at_10", "test.itemknn.hr_at_10", "test.popularity.hr_at_10"} <= set(version.metrics)
    assert version.metrics["device"] == "cpu"  # TORCH_DEVICE, pinned to the CPU in tests
    assert version.metrics["evaluation"]["baselines"].keys() == {"popularity"}  # what serves without it


def test_training_and_serving_follow_the_torch_device_setting(trained, settings, monkeypatch):
    """TORCH_DEVICE reaches the trainer and the loader: a GPU asked for where there is none fails clearly."""
    import torch

    from recommend.sequential.artifact import active_artifact, sequential_artifacts

    settings.TORCH_DEVICE = "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="TORCH_DEVICE=cuda"):
        recommender_train(options=TrainingOptions(epochs=1))
    assert ModelVersion.objects.filter(kind=ModelVersion.Kind.SEQUENTIAL, status="failed").count() == 1
    sequential_artifacts.clear()
    with pytest.raises(ValueError, match="TORCH_DEVICE=cuda"):
        active_artifact()
    settings.TORCH_DEVICE = "auto"  # no GPU: the CPU
    _, artifact = active_artifact()
    assert next(artifact.recommender.model.parameters()).device.type == "cpu"


def test_a_version_worse_on_validation_is_kept_ready_unless_forced(trained):
    # The cycle is easy (NDCG 1.0 after one epoch): the active version is given a score no run can reach.
    trained.metrics = {**trained.metrics, "valid.sasrec.ndcg_at_10": 2.0}
    trained.save(update_fields=["metrics"])
    worse = recommender_train(options=TrainingOptions(epochs=1))
    worse.refresh_from_db()
    assert worse.status == ModelVersion.Status.READY and "not_activated_because" in worse.metrics
    forced = recommender_train(options=TrainingOptions(epochs=1, force=True))
    forced.refresh_from_db()
    assert forced.status == ModelVersion.Status.ACTIVE


def test_signed_in_shopper_gets_model_recommendations_with_history_reasons(trained, shop, shopper, client):
    history_of("shopper-feed", shop[:3], user=shopper)
    client.force_login(shopper)
    payload = client.get("/api/v1/recommendations/?limit=5").json()
    assert payload["fallback"] is None and len(payload["results"]) == 5
    # A reason names only history items whose removal lowers the item's score or rank materially (issue 23); in
    # the cycle, Cream 3 stays the next unseen item without Cream 2, so not every item gets a history reason.
    history = [item["reasons"][0] for item in payload["results"] if item["reasons"][0]["kind"] == "history"]
    assert history and all(reason["text"].startswith("Because you viewed Cream ") for reason in history)
    assert {entry["product_id"] for reason in history for entry in reason["items"]} <= {p.pk for p in shop[:3]}


def test_a_new_event_changes_the_next_recommendation_at_once(trained, shop, shopper, client):
    history_of("shopper-feed", shop[:3], user=shopper)
    client.force_login(shopper)
    before = recommended_ids(client.get("/api/v1/recommendations/?limit=3"))
    history_of("shopper-feed", [shop[10]], user=shopper, minutes=60)
    after = recommended_ids(client.get("/api/v1/recommendations/?limit=3"))
    assert before != after


def test_bought_items_are_filtered_by_the_setting(trained, shop, shopper, client, settings):
    history_of("shopper-feed", shop[:3], user=shopper)
    history_of("shopper-feed", [shop[3]], user=shopper, event=Interaction.Event.PURCHASE, minutes=-10)
    client.force_login(shopper)
    settings.RECOMMEND_EXCLUDE_SEEN = False
    settings.RECOMMEND_EXCLUDE_PURCHASED = True
    assert shop[3].pk not in recommended_ids(client.get("/api/v1/recommendations/?limit=20"))
    settings.RECOMMEND_EXCLUDE_PURCHASED = False
    assert shop[3].pk in recommended_ids(client.get("/api/v1/recommendations/?limit=20"))


def test_inactive_products_are_never_recommended(trained, shop, shopper, client):
    history_of("shopper-feed", shop[:3], user=shopper)
    client.force_login(shopper)
    top = recommended_ids(client.get("/api/v1/recommendations/?limit=3"))[0]
    Product.objects.filter(pk=top).update(is_active=False)
    assert top not in recommended_ids(client.get("/api/v1/recommendations/?limit=20"))


def test_cold_visitor_gets_popular_in_category(trained, client):
    payload = client.get("/api/v1/recommendations/?limit=4").json()
    assert payload["fallback"] == "popular_in_category" and len(payload["results"]) == 4
    assert payload["results"][0]["reasons"] == [{"kind": "popular_in_category", "text": "Popular in Skincare"}]


def test_anonymous_shopper_gets_recommendations_from_their_visitor_events(trained, shop, client):
    history_of(give_visitor(client), shop[5:8])
    payload = client.get("/api/v1/recommendations/?limit=3").json()
    assert payload["fallback"] is None
    named = {entry["product_id"] for item in payload["results"] for entry in item["reasons"][0].get("items", [])}
    assert named and named <= {p.pk for p in shop[5:8]}


def test_only_staff_may_ask_for_another_visitor(trained, shop, shopper, client, staff_api_client):
    history_of("someone-else", shop[:3])
    client.force_login(shopper)
    assert client.get("/api/v1/recommendations/?visitor=someone-else").status_code == 403
    assert client.get(f"/api/v1/recommendations/{shop[4].pk}/why/?visitor=someone-else").status_code == 403
    payload = staff_api_client.get("/api/v1/recommendations/?visitor=someone-else&limit=3").json()
    assert payload["fallback"] is None


def test_a_visitor_never_sees_another_visitors_history(trained, shop, shopper, client):
    history_of("other-visitor", shop[10:14])  # not linked to the shopper
    history_of("shopper-feed", shop[:3], user=shopper)
    client.force_login(shopper)
    mine = {p.pk for p in shop[:3]}
    for item in client.get("/api/v1/recommendations/?limit=10").json()["results"]:
        assert {entry["product_id"] for entry in item["reasons"][0].get("items", [])} <= mine
    why = client.get(f"/api/v1/recommendations/{shop[4].pk}/why/").json()
    assert {row["product_id"] for row in why["history"]} == mine
    page = client.get(reverse("storefront:recommendation-why", args=[shop[4].pk])).content.decode()
    assert "Cream 11" not in page and "Cream 1<" not in page.replace("Cream 1<", "")


def test_not_interested_hides_the_item_and_its_near_duplicate_at_once(trained, shop, shopper, client):
    history_of("shopper-feed", shop[:3], user=shopper)
    client.force_login(shopper)
    top = Product.objects.get(pk=recommended_ids(client.get("/api/v1/recommendations/?limit=3"))[0])
    copy = ProductFactory(sku="COPY", title=top.title.upper(), brand=top.brand, category=top.category)
    response = client.post("/api/v1/recommendations/not-interested/", {"product": top.pk})
    assert response.status_code == 201
    shown = recommended_ids(client.get("/api/v1/recommendations/?limit=20"))
    assert top.pk not in shown and copy.pk not in shown
    assert RecommendationFeedback.objects.filter(product=top, visitor_id="shopper-feed").exists()


def test_not_interested_is_a_negative_for_the_next_training(shop):
    RecommendationFeedback.objects.create(visitor_id="v0", product=shop[2])
    assert shop[2].pk not in training_sequences()["v0"]


def test_not_interested_needs_an_existing_product(trained, client):
    response = client.post("/api/v1/recommendations/not-interested/", {"product": 999999})
    assert response.status_code == 400 and "product" in response.json()


def test_brand_and_trending_reasons_where_the_data_supports_them(trained, shop, shopper, client, settings):
    settings.RECOMMEND_EXCLUDE_PURCHASED = False
    history_of("shopper-feed", shop[:2], user=shopper, event=Interaction.Event.PURCHASE)
    for minute, product in enumerate(shop):
        InteractionFactory(visitor_id="recent", product=product, timestamp=timezone.now() - timedelta(minutes=minute))
    client.force_login(shopper)
    kinds = {
        r["kind"]: r["text"] for r in client.get("/api/v1/recommendations/?limit=3").json()["results"][0]["reasons"]
    }
    assert kinds["brand"] == "You often buy Acme"
    assert kinds["trending"] == "Popular in Skincare this week"


def test_home_shows_recommended_for_you_with_a_why_link(trained, shop, shopper, client):
    history_of("shopper-feed", shop[:3], user=shopper)
    client.force_login(shopper)
    page = client.get("/").content.decode()
    assert "Recommended for you" in page and "Why?" in page and "Not interested" in page


def test_product_page_shows_customers_also_viewed(trained, shop, client):
    page = client.get(shop[3].get_absolute_url()).content.decode()
    assert "Customers who viewed this also viewed" in page


def test_why_page_shows_the_history_as_a_heat_strip(trained, shop, shopper, client):
    history_of("shopper-feed", shop[:3], user=shopper)
    client.force_login(shopper)
    page = client.get(reverse("storefront:recommendation-why", args=[shop[3].pk])).content.decode()
    assert 'class="heat-strip"' in page and page.count("data-weight=") == 3


def test_admin_train_form_queues_a_training_job(trained, staff, client):
    client.force_login(staff)
    assert client.get(reverse("admin:recommend_train_recommender")).status_code == 200
    response = client.post(reverse("admin:recommend_train_recommender"), {"epochs": 1})
    assert response.status_code == 302
    assert Job.objects.filter(kind=Job.Kind.TRAIN_RECOMMENDER).exists()


def test_scheduled_retrain_queues_one_job_unless_turned_off(shop, settings, monkeypatch):
    from recommend.sequential import tasks

    monkeypatch.setattr(tasks, "job_create", lambda **kwargs: Job.objects.create(kind=kwargs["kind"]))
    settings.RECOMMEND_RETRAIN_HOURS = 0
    assert tasks.scheduled_retrain() is None
    settings.RECOMMEND_RETRAIN_HOURS = 24
    assert tasks.scheduled_retrain() is not None
    assert tasks.scheduled_retrain() is None  # one is pending already
