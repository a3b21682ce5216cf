"""Shared fixtures: users, API clients and a small category tree."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import CategoryFactory, StaffFactory, UserFactory


@pytest.fixture(autouse=True)
def _isolated_storage(settings, tmp_path):
    """Every test gets its own artifact folder and a clean cache."""
    from django.core.cache import cache

    settings.VAR_DIR = tmp_path / "var"
    # Without a broker, jobs run synchronously on commit, not in the embedded runner thread.
    settings.JOB_RUN_INLINE = True
    # Storefront shopper events are written at once (no flusher thread racing the test's transaction).
    settings.SHOPPER_EVENTS = {"inline": True}
    # Models train and serve on the CPU in tests, GPU machine or not, so their figures are the same everywhere
    # (TORCH_DEVICE defaults to "auto"); tests of the device choice set it themselves.
    settings.TORCH_DEVICE = "cpu"
    settings.STORAGES = {
        **settings.STORAGES,
        "artifacts": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "artifacts")},
        },
    }
    from config.redis_circuit import circuits_reset
    from recommend.core.model_cache import clear_model_caches
    from recommend.core.vectors import query_cache_clear

    circuits_reset()  # a Redis address an earlier test found down is tried again
    cache.clear()
    query_cache_clear()  # a test's fake encoder never sees another test's cached query vectors
    # Ids restart after each test's rollback: a model loaded for an earlier test's version #1 must not answer
    # for this test's version #1 (the model cache's fast path matches the active version id).
    clear_model_caches()
    yield
    cache.clear()


@pytest.fixture
def staff(db):
    return StaffFactory(username="staff")


@pytest.fixture
def shopper(db):
    return UserFactory(username="shopper")


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def staff_api_client(staff):
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=staff)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def tree(db):
    """Clothing > Men > Shirts, Clothing > Women; Electronics."""
    clothing = CategoryFactory(name="Clothing", slug="clothing")
    men = CategoryFactory(name="Men", slug="men", parent=clothing)
    shirts = CategoryFactory(name="Shirts", slug="shirts", parent=men)
    women = CategoryFactory(name="Women", slug="women", parent=clothing)
    electronics = CategoryFactory(name="Electronics", slug="electronics")
    for node in (clothing, men, shirts, women, electronics):
        node.refresh_from_db()
    return {"clothing": clothing, "men": men, "shirts": shirts, "women": women, "electronics": electronics}
