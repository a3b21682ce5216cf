"""Privacy: a shopper exports their own events as JSON, erases them ("forget me": events and personalised
results at once, and out of the next training), switches personalisation off; anonymous events expire after
the retention setting; no visitor id reaches a model artifact."""

import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Interaction
from catalog.services import interactions_expire
from recommend.sequential.models import RecommendationFeedback
from recommend.sequential.services import training_sequences
from tests.factories import give_visitor
from tests.unit import test_recommendations as recommendations

# The recommendations tests' tiny shop and trained model (fixtures), and their history writer.
shop = recommendations.shop
trained = recommendations.trained
history_of = recommendations.history_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def visitor(client, shop):
    visitor = give_visitor(client)
    history_of(visitor, shop[5:8])
    history_of("somebody-else", shop[:3])
    return visitor


def test_a_visitor_exports_their_own_events_as_json(client, visitor, shop):
    data = client.get("/api/v1/me/data/").json()

    assert data["visitor_ids"] == [visitor] and data["personalisation"] is True
    assert sorted(event["product_id"] for event in data["events"]) == sorted(p.pk for p in shop[5:8])
    assert {event["visitor_id"] for event in data["events"]} == {visitor}


def test_forget_me_erases_events_and_personal_results_at_once(client, visitor, shop, trained):
    client.post("/api/v1/recommendations/not-interested/", {"product": shop[9].pk}, content_type="application/json")
    assert client.get("/api/v1/recommendations/?limit=3").json()["fallback"] is None

    erased = client.delete("/api/v1/me/data/").json()

    assert erased == {"events": 3, "not_interested": 1}
    assert not Interaction.objects.filter(visitor_id=visitor).exists()
    assert not RecommendationFeedback.objects.filter(visitor_id=visitor).exists()
    assert client.get("/api/v1/recommendations/?limit=3").json()["fallback"] == "popular_in_category"
    assert visitor not in training_sequences()  # ... and out of the next model
    assert Interaction.objects.filter(visitor_id="somebody-else").count() == 3


def test_personalisation_off_ignores_history_and_stores_no_new_events(client, visitor, shop, trained, staff_api_client):
    assert client.put("/api/v1/me/personalisation/", {"enabled": False}, content_type="application/json").json() == {
        "enabled": False
    }

    payload = client.get("/api/v1/recommendations/?limit=3").json()
    ingest = staff_api_client.post(
        "/api/v1/interactions/", {"visitor_id": visitor, "event": "view", "product": shop[1].pk}, format="json"
    )

    assert payload["fallback"] == "personalisation_off" and len(payload["results"]) == 3
    assert ingest.json() == {"created": 0, "duplicates": 0, "declined": 1}
    assert client.get("/api/v1/me/data/").json()["personalisation"] is False
    why = client.get(f"/api/v1/recommendations/{shop[4].pk}/why/").json()
    assert why["history"] == [] and why["personalisation"] is False  # no history read, none explained
    client.put("/api/v1/me/personalisation/", {"enabled": True}, content_type="application/json")
    assert client.get("/api/v1/recommendations/?limit=3").json()["fallback"] is None


def test_anonymous_events_expire_after_the_retention_setting(shop, shopper):
    history_of("anonymous-old", shop[:2])
    history_of("account-old", shop[:2], user=shopper)
    history_of("anonymous-new", shop[:2])
    Interaction.objects.filter(visitor_id__endswith="-old").update(created_at=timezone.now() - timedelta(days=40))

    assert interactions_expire(days=0) == 0  # 0 keeps everything
    deleted = interactions_expire(days=30)

    assert deleted == 2
    assert not Interaction.objects.filter(visitor_id="anonymous-old").exists()
    assert Interaction.objects.filter(visitor_id__in=["account-old", "anonymous-new"]).count() == 4


def test_the_retention_task_uses_the_setting(shop, settings):
    from recommend.sequential.tasks import expire_anonymous_events

    history_of("anonymous-old", shop[:2])
    Interaction.objects.update(created_at=timezone.now() - timedelta(days=10))
    stored = Interaction.objects.count()
    settings.ANONYMOUS_EVENT_RETENTION_DAYS = 5

    assert expire_anonymous_events() == stored
    assert not Interaction.objects.exists()


def test_no_visitor_id_in_a_trained_model_artifact_or_its_job_params(trained, shop):
    from recommend.core.registry import artifact_local_path
    from recommend.models import Job

    # torch.save writes a zip: the pickled structure (every string the artifact holds) is its data.pkl.
    with zipfile.ZipFile(artifact_local_path(version=trained)) as archive:
        pickled = b"".join(archive.read(name) for name in archive.namelist() if name.endswith("data.pkl"))

    assert any(code in pickled for code in pickle_strings("sasrec"))  # the check can see strings
    assert b"visitor" not in pickled
    assert not [f"v{n}" for n in range(60) if any(code in pickled for code in pickle_strings(f"v{n}"))]
    assert not any("visitor" in str(job.params) for job in Job.objects.all())


def pickle_strings(text):
    """The ways pickle writes a str: BINUNICODE (protocol 2, 4-byte length) or SHORT_BINUNICODE (4+)."""
    data = text.encode()
    return {b"X" + len(data).to_bytes(4, "little") + data, b"\x8c" + bytes([len(data)]) + data}
