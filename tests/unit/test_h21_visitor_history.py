"""Issue 21: `?visitor=` (and `visitor` on "not interested") names another shopper, so it needs the explicit
catalog.view_visitor_history permission, not just is_staff; every such read leaves an audit line."""

import logging

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from recommend.sequential.models import RecommendationFeedback
from tests.factories import InteractionFactory, ProductFactory

pytestmark = pytest.mark.django_db


def api_for(username: str, *codenames: str) -> APIClient:
    user = User.objects.create(username=username, is_staff=True)  # a token, no password
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="catalog", codename__in=codenames))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def history(db):
    purchased = ProductFactory(title="Private purchase")
    InteractionFactory(visitor_id="shopper-7", product=purchased, event="purchase")
    return ProductFactory(title="Another product")


def ask_everything(client: APIClient, product) -> list:
    return [
        client.get("/api/v1/recommendations/?visitor=shopper-7"),
        client.get(f"/api/v1/recommendations/{product.pk}/why/?visitor=shopper-7"),
        client.post(
            "/api/v1/recommendations/not-interested/", {"product": product.pk, "visitor": "shopper-7"}, format="json"
        ),
    ]


def test_a_product_only_staffer_may_not_name_a_shopper(history):
    clerk = api_for("product-clerk", "view_product", "change_product")

    answers = ask_everything(clerk, history)

    assert [answer.status_code for answer in answers] == [403, 403, 403]
    assert all("catalog.view_visitor_history" in answer.json()["detail"] for answer in answers)
    assert not RecommendationFeedback.objects.exists()


def test_the_visitor_history_permission_allows_it_and_every_access_is_audited(history, caplog):
    support = api_for("support-agent", "view_visitor_history")

    with caplog.at_level(logging.INFO, logger="recommend.audit"):
        answers = ask_everything(support, history)

    assert [answer.status_code for answer in answers] == [200, 200, 201]
    audit = [record.getMessage() for record in caplog.records if record.name == "recommend.audit"]
    assert len(audit) == 3 and all("staff=support-agent" in line and "'shopper-7'" in line for line in audit)
