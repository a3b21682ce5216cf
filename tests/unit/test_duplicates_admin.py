"""The admin's duplicate list: likely duplicates by default, uncertain pairs first, training from decisions."""

import pytest
from django.urls import reverse

from recommend.duplicates.admin import review_thresholds
from recommend.models import DuplicatePair, Job
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db
URL = "admin:recommend_duplicatepair_changelist"


@pytest.fixture
def pairs():  # type: ignore[no-untyped-def]
    threshold, high = review_thresholds()
    scores = {"sure": min(high + 0.01, 0.999), "near": threshold + 0.01, "low": max(threshold - 0.3, 0.01)}
    return {
        name: DuplicatePair.objects.create(left=ProductFactory(), right=ProductFactory(), score=score)
        for name, score in scores.items()
    }


def listed(response) -> list[int]:  # type: ignore[no-untyped-def]
    return [pair.pk for pair in response.context["cl"].result_list]


def test_default_view_lists_only_likely_duplicates(admin_client, pairs) -> None:
    response = admin_client.get(reverse(URL))
    assert listed(response) == [pairs["sure"].pk]


def test_uncertain_view_puts_pairs_near_the_threshold_first(admin_client, pairs) -> None:
    response = admin_client.get(reverse(URL), {"view": "uncertain"})
    assert listed(response)[0] == pairs["near"].pk and len(listed(response)) == 3


def test_action_on_a_pair_outside_the_default_view_still_applies(admin_client, pairs) -> None:
    admin_client.post(reverse(URL), {"action": "not_duplicate", "_selected_action": [pairs["low"].pk]})
    assert DuplicatePair.objects.get(pk=pairs["low"].pk).status == DuplicatePair.Status.NOT_DUPLICATE


def test_train_from_decisions_queues_a_training_job(admin_client, pairs, monkeypatch) -> None:
    from recommend.duplicates import admin as duplicates_admin

    started = []
    monkeypatch.setattr(duplicates_admin, "duplicate_training_start", lambda **kw: started.append(kw) or Job(pk=7))
    response = admin_client.post(
        reverse(URL), {"action": "train_from_decisions", "_selected_action": [pairs["sure"].pk]}, follow=True
    )
    assert started and started[0]["source"] == "decisions"
    assert "Training job #7 queued" in response.content.decode()
