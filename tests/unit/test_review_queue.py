"""The review queue at a merchandiser's pace: most confident first, noise hidden, the words behind each suggestion."""

import re

import pytest
from django.urls import reverse

from recommend.models import CategorySuggestion
from tests.factories import ProductFactory
from tests.unit.test_classification import (  # noqa: F401  (fixtures)
    _tiny_models,
    catalog_tree,
    queued,
    trained,
)

pytestmark = pytest.mark.django_db
QUEUE = "admin:recommend_reviewqueueproduct_changelist"


@pytest.fixture
def queue(request):
    """Two products waiting for review (test_classification's `queued`)."""
    return request.getfixturevalue("queued")


def page_of(admin_client) -> str:
    response = admin_client.get(reverse(QUEUE))
    assert response.status_code == 200
    return response.content.decode()


def test_the_most_confident_products_come_first(admin_client, queue):
    CategorySuggestion.objects.filter(product=queue["laptop"], rank=0).update(confidence=0.41)
    CategorySuggestion.objects.filter(product=queue["dress"], rank=0).update(confidence=0.58)

    page = page_of(admin_client)

    assert page.index("Red Gown Frock") < page.index("Nova Laptop Notebook")
    assert ">58%<" in page and ">41%<" in page


def test_suggestions_below_the_floor_are_hidden_without_an_accept_button(admin_client, queue, settings):
    settings.REVIEW_SUGGESTION_FLOOR = 0.2
    weak = CategorySuggestion.objects.get(product=queue["laptop"], rank=2)
    CategorySuggestion.objects.filter(pk=weak.pk).update(confidence=0.04)

    page = page_of(admin_client)

    assert reverse("admin:recommend_reviewqueue_accept", args=[weak.pk]) not in page
    assert "Suggestions below 20% are hidden" in page


def test_each_suggestion_shows_the_words_behind_it(queue):
    words = [
        [word for word, _ in suggestion.attention]
        for suggestion in CategorySuggestion.objects.filter(product=queue["laptop"]).order_by("rank")
    ]

    assert {"laptop", "notebook"} & set(words[0])
    assert words[0] != words[1]  # not the one attention list repeated beside every suggestion


def test_the_product_image_and_description_are_inline(admin_client, queue):
    product = queue["laptop"]
    product.image_url = "https://img.example.com/laptop.jpg"
    product.description = "A light notebook with a fourteen inch screen " + "and more words " * 40
    product.save(update_fields=["image_url", "description"])

    page = page_of(admin_client)

    assert 'src="https://img.example.com/laptop.jpg"' in page
    assert "A light notebook with a fourteen inch screen" in page
    assert "and more words " * 30 not in page  # cut to a few lines


def test_accept_buttons_are_numbered_for_the_keyboard(admin_client, queue, settings):
    settings.REVIEW_SUGGESTION_FLOOR = 0.0
    page = page_of(admin_client)

    keys = re.findall(r'class="button review-accept"[^>]*data-key="(\d)"', page)
    assert keys[:3] == ["1", "2", "3"]
    assert 'document.addEventListener("keydown"' in page


def test_a_product_without_any_suggestion_says_so(admin_client, queue, settings):
    settings.REVIEW_SUGGESTION_FLOOR = 1.0
    ProductFactory(title="Unknown Gadget", category=None, needs_review=True)

    page = page_of(admin_client)

    assert "No suggestion above 100%" in page


def test_classify_again_queues_a_job_instead_of_running_the_model_in_the_request(admin_client, queue, monkeypatch):
    from recommend.classification import services
    from recommend.models import Job

    def no_inference_here(**kwargs):
        raise AssertionError("inference ran inside the admin request")

    monkeypatch.setattr(services, "products_classify", no_inference_here)
    ids = sorted([queue["laptop"].pk, queue["dress"].pk])

    response = admin_client.post(reverse(QUEUE), {"action": "classify_again", "_selected_action": ids}, follow=True)

    job = Job.objects.get(kind=Job.Kind.CLASSIFY)
    assert job.params == {"product_ids": ids} and job.status == Job.Status.QUEUED
    assert f"job #{job.pk}</a> is queued" in response.content.decode()
