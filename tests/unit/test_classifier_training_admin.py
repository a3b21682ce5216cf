"""Training from the admin: one fixed held-out set for every version, an estimate before start, ETA, Cancel."""

import pytest
from django.urls import reverse

from recommend.classification.training import classifier_train
from recommend.models import Job, ModelVersion
from tests.unit.test_classification import _tiny_models, catalog_tree, trained  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(request):
    """Five leaves with 16 labelled products each and an active classifier (test_classification's `trained`)."""
    return request.getfixturevalue("trained")


def test_a_sampled_version_is_judged_on_the_same_products_as_the_full_one(catalog):
    classifier_train(limit=30)

    first, second = ModelVersion.objects.order_by("version")
    assert second.params["train_size"] <= 30
    assert second.params["evaluation"] == first.params["evaluation"]
    assert second.params["heldout_size"] == first.params["heldout_size"] > 0
    # The active version was re-scored on that same set, beside the candidate's own score.
    assert second.metrics["compared_with.version"] == 1
    assert {"heldout.path_accuracy", "compared_with.path_accuracy"} <= set(second.metrics)


def test_held_out_products_are_never_trained_on(catalog, monkeypatch):
    from recommend.classification import evaluation
    from recommend.ml import classification as ml

    seen = []
    real = ml.train_classifier
    monkeypatch.setattr(ml, "train_classifier", lambda texts, *a, **k: seen.extend(texts) or real(texts, *a, **k))

    classifier_train()

    heldout_texts = set(evaluation.evaluation_set().texts)
    assert seen and not heldout_texts & set(seen)


def test_the_version_records_its_throughput_for_the_next_estimate(catalog):
    version = ModelVersion.objects.get()

    assert version.metrics["timing.train_products"] == version.params["train_size"]
    assert version.metrics["timing.seconds_per_product"] > 0 and version.metrics["timing.size"] == "full"


def test_every_progress_message_has_an_eta(catalog):
    messages = []

    classifier_train(progress=lambda fraction, message: messages.append((fraction, message)))

    running = [message for fraction, message in messages if 0 < fraction < 1]
    assert running and all(" left" in message for message in running)
    phases = " ".join(running)
    assert "training v2" in phases and "held-out products" in phases and "re-scoring the active v1" in phases


def test_the_form_shows_an_estimate_and_defaults_that_fit_the_time_budget(admin_client, catalog):
    page = admin_client.get(reverse("admin:recommend_train_classifier")).content.decode()

    assert "With the defaults: about" in page and "labelled products" in page
    assert "measured on v1" in page  # the estimate starts from the last version's throughput


def test_starting_says_what_was_queued_and_the_estimate(admin_client, catalog):
    response = admin_client.post(reverse("admin:recommend_train_classifier"), {"epochs": "3"}, follow=True)

    job = Job.objects.filter(kind=Job.Kind.TRAIN_CLASSIFIER).latest("pk")
    assert job.params["epochs"] == 3
    assert f"Training job #{job.pk}" in response.content.decode() and "about" in response.content.decode()


def test_a_running_training_can_be_cancelled_from_the_form(admin_client, catalog):
    job = Job.objects.create(kind=Job.Kind.TRAIN_CLASSIFIER, status=Job.Status.RUNNING, progress=0.4, message="epoch 2")

    page = admin_client.get(reverse("admin:recommend_train_classifier")).content.decode()
    assert "epoch 2" in page and "Cancel" in page

    admin_client.post(reverse("admin:recommend_train_classifier_cancel", args=[job.pk]))
    job.refresh_from_db()
    assert job.cancel_requested


def test_a_cancelled_training_leaves_no_version_in_training(catalog, monkeypatch):
    from recommend.core.job_runner import JobCancelled

    def cancelled_at_the_first_epoch(fraction, message):
        if "training v2" in message:
            raise JobCancelled("cancelled by staff")

    with pytest.raises(JobCancelled):
        classifier_train(progress=cancelled_at_the_first_epoch)

    assert ModelVersion.objects.get(version=2).status == "failed"
    assert ModelVersion.objects.get(version=1).status == "active"
