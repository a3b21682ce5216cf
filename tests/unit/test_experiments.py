"""Model experiments: stable arms, the served version per arm, evidence with an interval, promote."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import BlockStat, Interaction
from recommend.core import vectors
from recommend.core.experiments import arm_of, difference_interval, experiment_results, variant_name
from recommend.core.models import Experiment
from recommend.core.registry import active_version_id
from recommend.models import ModelVersion
from recommend.similarity.services import similarity_build
from tests.factories import InteractionFactory, ProductFactory, visitor_of
from tests.fakes import bag_of_words

pytestmark = pytest.mark.django_db


@pytest.fixture
def versions(tree, monkeypatch):
    """Two similar-items versions of the same shirts: v1 (now retired) and v2 (active)."""
    monkeypatch.setattr(vectors, "encode_texts", bag_of_words)
    for colour in ("red", "blue", "green", "white"):
        ProductFactory(title=f"{colour} cotton shirt", category=tree["shirts"])
    first = similarity_build(progress=lambda fraction, message: None)
    second = similarity_build(progress=lambda fraction, message: None)
    first.refresh_from_db()
    return first, second


def test_a_visitor_keeps_an_arm_and_the_split_follows_the_percentage():
    arms = [arm_of(experiment_id=7, visitor_id=f"visitor-{n}", treatment_percent=20) for n in range(4000)]

    assert arms[:50] == [arm_of(experiment_id=7, visitor_id=f"visitor-{n}", treatment_percent=20) for n in range(50)]
    assert 0.17 < arms.count("b") / len(arms) < 0.23


def test_the_interval_on_the_click_through_difference():
    interval = difference_interval(50, 1000, 80, 1000)

    assert interval["difference"] == pytest.approx(0.03)
    assert interval["low"] == pytest.approx(0.03 - 1.959964 * (0.05 * 0.95 / 1000 + 0.08 * 0.92 / 1000) ** 0.5)
    assert interval["low"] > 0 and difference_interval(1, 0, 1, 10) is None


def test_each_visitor_is_served_their_arms_version_and_the_block_counts_per_arm(client, versions):
    first, second = versions
    experiment = Experiment.objects.create(name="v2 vs v1", control=first, treatment=second)
    product = ProductFactory._meta.model.objects.get(title="red cotton shirt")

    page = client.get(product.get_absolute_url()).content.decode()
    client.get(product.get_absolute_url())  # the visitor cookie exists from the first page: the arm is now stable

    arm = arm_of(experiment_id=experiment.pk, visitor_id=visitor_of(client), treatment_percent=50)
    variant = variant_name(experiment.pk, arm)
    page = client.get(product.get_absolute_url()).content.decode()
    assert f"?ref=similar:1:{variant}" in page
    assert f'data-model-version="{(second if arm == "b" else first).pk}"' in page
    client.get(product.get_absolute_url(), {"ref": f"similar:1:{variant}"})
    stat = BlockStat.objects.get(block="similar", variant=variant)
    assert stat.clicks == 1 and stat.impressions >= 2
    assert Interaction.objects.get(event="click").query == f"similar:1:{variant}"


def test_admin_shows_the_evidence_per_arm_and_promotes_the_treatment(client, staff, versions):
    first, second = versions
    experiment = Experiment.objects.create(
        name="v2 vs v1", control=first, treatment=second, started_at=timezone.now() - timedelta(days=1)
    )
    BlockStat.objects.create(
        day=timezone.localdate(), block="similar", variant=f"x{experiment.pk}a", impressions=1000, clicks=50
    )
    BlockStat.objects.create(
        day=timezone.localdate(), block="similar", variant=f"x{experiment.pk}b", impressions=1000, clicks=80
    )
    in_b = next(
        f"v{n}"
        for n in range(100)
        if arm_of(experiment_id=experiment.pk, visitor_id=f"v{n}", treatment_percent=50) == "b"
    )
    InteractionFactory(visitor_id=in_b, event=Interaction.Event.ADD_TO_CART, timestamp=timezone.now())
    InteractionFactory(visitor_id=in_b, event=Interaction.Event.PURCHASE, timestamp=timezone.now())

    results = experiment_results(experiment)
    assert [(a["arm"], a["clicks"], a["add_to_carts"], a["purchases"]) for a in results["arms"]] == [
        ("A", 50, 0, 0),
        ("B", 80, 1, 1),
    ]
    client.force_login(staff)
    page = client.get(f"/admin/recommend/experiment/{experiment.pk}/change/").content.decode()
    assert 'data-arm="B"' in page and "95 % interval" in page and "B is better" in page

    client.post(
        "/admin/recommend/experiment/",
        {"action": "promote_treatment", "_selected_action": [experiment.pk]},
    )
    experiment.refresh_from_db()
    assert not experiment.is_running and active_version_id(ModelVersion.Kind.SIMILAR) == second.pk


def test_an_experiment_of_one_version_against_itself_is_refused(client, staff, versions):
    first, _second = versions
    client.force_login(staff)

    response = client.post(
        "/admin/recommend/experiment/add/",
        {"name": "same", "kind": "similar", "control": first.pk, "treatment": first.pk, "treatment_percent": 50},
    )

    assert response.status_code == 200 and "Choose a different version" in response.content.decode()
    assert not Experiment.objects.exists()
