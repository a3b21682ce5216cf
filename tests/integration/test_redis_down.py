"""With the real settings (django-redis cache, Redis broker) pointed at a port nobody listens on, the pages
and read APIs still answer 200 from PostgreSQL, and a product write is stored with its work deferred."""

import pytest
from celery import current_app
from django.conf import settings
from django.test import override_settings

from catalog.models import Product
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)

DEAD = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_unreachable(real_services, monkeypatch):
    """The project's own cache settings (timeouts, IGNORE_EXCEPTIONS) with only the address changed."""
    dead_cache = {"default": {**settings.CACHES["default"], "LOCATION": DEAD}}
    current_app._pool = None
    current_app.amqp._producer_pool = None
    monkeypatch.setattr(current_app.conf, "broker_url", DEAD)
    monkeypatch.setattr(current_app.conf, "broker_write_url", DEAD)
    # Pages render without `collectstatic` having run (the manifest storage is the /readyz check's business).
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(CACHES=dead_cache, STORAGES=storages):
        yield
    monkeypatch.undo()
    current_app._pool = None
    current_app.amqp._producer_pool = None


def test_pages_and_read_apis_answer_200_with_redis_down(redis_unreachable, client):
    category = CategoryFactory(name="Shirts", slug="shirts")
    product = ProductFactory(title="Blue shirt", category=category)
    urls = [
        "/",
        f"/p/{product.pk}/",
        "/search/?q=shirt",
        "/search/?q=shirt%00",
        f"/c/{category.pk}/shirts/",
        "/api/v1/categories/",
        f"/api/v1/products/{product.pk}/similar/",
        "/api/v1/search/?q=shirt",
    ]

    answers = {url: client.get(url).status_code for url in urls}

    assert answers == dict.fromkeys(urls, 200)


def test_a_product_write_is_kept_with_redis_down(redis_unreachable, staff_api_client):
    response = staff_api_client.post("/api/v1/products/", {"sku": "R1", "title": "Red shirt"}, format="json")

    assert response.status_code == 201, response.content
    assert Product.objects.filter(sku="R1").exists()


def test_readyz_is_ready_on_the_real_services_and_503_with_redis_down(real_services, client, staff, monkeypatch):
    client.force_login(staff)  # the checks are shown to staff
    checks = client.get("/readyz").json()["checks"]
    assert all(checks[name]["ok"] for name in ("database", "cache", "broker", "models")), checks

    dead_cache = {"default": {**settings.CACHES["default"], "LOCATION": DEAD}}
    current_app._pool = None
    monkeypatch.setattr(current_app.conf, "broker_url", DEAD)
    monkeypatch.setattr(current_app.conf, "broker_write_url", DEAD)
    with override_settings(CACHES=dead_cache):
        response = client.get("/readyz")
    monkeypatch.undo()
    current_app._pool = None

    down = response.json()["checks"]
    assert response.status_code == 503 and not down["cache"]["ok"] and not down["broker"]["ok"]
    assert down["database"]["ok"] and down["broker"]["ms"] < 5000
