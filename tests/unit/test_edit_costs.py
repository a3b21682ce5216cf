"""Edits cost what they change: one decision updates that product in place; bulk and tree edits queue ONE
debounced rebuild/retrain (a quiet period, re-armed by later edits), and the admin says what and when."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from catalog.services import products_merge, products_set_category
from recommend.models import Job, ModelVersion, SimilarItem
from recommend.similarity.services import similarity_build
from taxonomy.services import category_move
from tests.factories import ProductFactory
from tests.unit.test_similarity import catalog, fake_encoder  # noqa: F401  (fixtures, used by name)

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what the block queued on commit, as a real commit would."""
    return django_capture_on_commit_callbacks


@pytest.fixture
def shop(request, settings, django_capture_on_commit_callbacks):
    """test_similarity's six products with a built similar-items version; a one-minute quiet period."""
    settings.REBUILD_QUIET_SECONDS = 60
    settings.INCREMENTAL_UPDATE_MAX_PRODUCTS = 3
    products = request.getfixturevalue("catalog")
    with django_capture_on_commit_callbacks(execute=True):
        similarity_build(progress=lambda fraction, message: None)
    return products


def classifier_active(**params) -> ModelVersion:
    version = ModelVersion.objects.create(kind="classifier", version=1, status="active", params=params)
    cache.clear()  # the active id is cached: earlier product saves asked for it
    return version


def queued(kind: str) -> list[Job]:
    return list(Job.objects.filter(kind=kind, status=Job.Status.QUEUED))


def test_moving_one_product_updates_its_neighbours_in_place_without_a_rebuild(shop, tree, committed, request):
    encoded = request.getfixturevalue("fake_encoder")
    encoded.clear()

    with committed(execute=True):
        products_set_category(product_ids=[shop["radio"].pk], category=tree["shirts"])

    assert encoded == [1]  # that product's text, embedded once
    assert not queued(Job.Kind.BUILD_SIMILAR) and not queued(Job.Kind.TRAIN_CLASSIFIER)
    assert SimilarItem.objects.filter(product=shop["radio"], strategy="content").exists()


def test_a_merged_listing_leaves_every_neighbour_list_at_once(shop, committed):
    speaker, radio = shop["speaker"], shop["radio"]
    assert SimilarItem.objects.filter(neighbor=speaker).exists()

    with committed(execute=True):
        products_merge(source=speaker, target=radio)

    assert not SimilarItem.objects.filter(neighbor=speaker).exists()
    assert not SimilarItem.objects.filter(product=speaker).exists()
    assert not queued(Job.Kind.BUILD_SIMILAR)


def test_a_bulk_decision_queues_one_rebuild_after_the_quiet_period(shop, tree, committed):
    ids = [p.pk for p in shop.values()]

    with committed(execute=True):
        products_set_category(product_ids=ids, category=tree["women"])
    with committed(execute=True):
        products_set_category(product_ids=ids, category=tree["men"])

    (job,) = queued(Job.Kind.BUILD_SIMILAR)
    assert timezone.now() + timedelta(seconds=50) < job.run_after <= timezone.now() + timedelta(seconds=61)


def test_tree_moves_queue_one_retrain_and_one_rebuild_re_armed_by_each_move(shop, tree):
    classifier_active(limit=500)
    category_move(category=tree["women"], target=tree["electronics"])
    first_due = queued(Job.Kind.TRAIN_CLASSIFIER)[0].run_after
    Job.objects.filter(run_after__isnull=False).update(run_after=first_due - timedelta(seconds=30))

    category_move(category=tree["men"], target=tree["electronics"])

    (retrain,) = queued(Job.Kind.TRAIN_CLASSIFIER)
    (rebuild,) = queued(Job.Kind.BUILD_SIMILAR)
    assert retrain.params == {"reason": "taxonomy move", "limit": 500}
    assert retrain.run_after > first_due - timedelta(seconds=5) and rebuild.run_after > first_due - timedelta(seconds=5)


def test_a_rename_rebuilds_similar_items_later_but_never_retrains(shop, tree, admin_client):
    classifier_active()
    from taxonomy.services import category_rename

    category_rename(category=tree["shirts"], name="Casual shirts")

    assert len(queued(Job.Kind.BUILD_SIMILAR)) == 1 and not queued(Job.Kind.TRAIN_CLASSIFIER)


def test_a_staff_training_is_never_postponed_by_an_edit(shop, tree):
    classifier_active()
    started = Job.objects.create(kind=Job.Kind.TRAIN_CLASSIFIER, params={"force": True})

    category_move(category=tree["women"], target=tree["electronics"])

    started.refresh_from_db()
    assert started.run_after is None and len(queued(Job.Kind.TRAIN_CLASSIFIER)) == 2


@pytest.mark.django_db(transaction=True)  # real commits: the follow-ups run inside the request, as in production
def test_the_admin_says_what_was_updated_and_what_was_queued(shop, tree, admin_client):
    url = reverse("admin:catalog_product_changelist")
    one = {
        "action": "move_to_category",
        "_selected_action": [shop["dress"].pk],
        "apply": "1",
        "category": tree["men"].pk,
    }
    admin_client.post(url, one)
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "Similar items and search of 1 product updated" in page

    many = {**one, "_selected_action": [p.pk for p in shop.values()]}
    admin_client.post(url, many)
    page = admin_client.get(reverse("admin:index")).content.decode()
    job = queued(Job.Kind.BUILD_SIMILAR)[0]
    assert f"Build similar items (job #{job.pk}) queued for" in page
    assert "runs once after 60 s without further edits" in page


def test_a_new_product_still_gets_neighbours_at_once(shop, tree, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        product = ProductFactory(title="Green cotton shirt with pocket", category=tree["shirts"])

    assert SimilarItem.objects.filter(product=product, strategy="content").exists()
