"""The admin's duplicate list: likely duplicates by default, uncertain pairs first, training from decisions."""

import pytest
from django.urls import reverse

from catalog.models import Interaction, Product
from recommend.duplicates.admin import review_thresholds
from recommend.models import DuplicatePair, Job
from tests.factories import InteractionFactory, ProductFactory

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


@pytest.fixture
def triple():  # type: ignore[no-untyped-def]
    """A~B, B~C and A~C above the high-precision threshold: one group of three listings."""
    high = review_thresholds()[1]
    a, b, c = (
        ProductFactory(title=f"Acme Phone X100 64GB ({n})", price=price) for n, price in ((1, 10), (2, 10), (3, 12))
    )
    for left, right in ((a, b), (b, c), (a, c)):
        DuplicatePair.objects.create(left=left, right=right, score=min(high + 0.01, 0.999))
    InteractionFactory(product=b, visitor_id="b-viewer")
    return a, b, c


def test_groups_page_shows_a_triple_as_one_group_with_differences(admin_client, triple) -> None:
    response = admin_client.get(reverse("admin:recommend_duplicatepair_groups"))
    [group] = response.context["groups"]
    assert [p.pk for p in group["products"]] == [p.pk for p in triple]
    differs = {row["field"] for row in group["rows"] if row["differs"]}
    assert "Price" in differs and "Title" in differs and "SKU" in differs


def test_merge_group_asks_first_then_merges_and_undo_puts_it_back(admin_client, triple) -> None:
    a, b, c = triple
    url = reverse("admin:recommend_duplicatepair_group_merge")
    ids = f"{a.pk},{b.pk},{c.pk}"
    confirm = admin_client.get(url, {"ids": ids})
    assert b"Yes, merge the group" in confirm.content and Product.objects.filter(is_active=True).count() == 3

    admin_client.post(url, {"ids": ids, "keep": a.pk, "confirm": "yes"})
    assert set(Product.objects.filter(merged_into=a).values_list("pk", flat=True)) == {b.pk, c.pk}
    assert Interaction.objects.get(visitor_id="b-viewer").product_id == a.pk
    assert not DuplicatePair.objects.filter(status=DuplicatePair.Status.OPEN).exists()

    admin_client.post(reverse("admin:recommend_duplicatepair_group_undo"))
    assert Product.objects.filter(is_active=True, merged_into__isnull=True).count() == 3
    assert Interaction.objects.get(visitor_id="b-viewer").product_id == b.pk
    assert DuplicatePair.objects.filter(status=DuplicatePair.Status.OPEN).count() == 3
