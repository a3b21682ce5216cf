"""Issue 21, "Bad input", continued: what anonymous callers may see (/readyz) or do (writes identified by a cookie
need the CSRF token), and sequential recommender artifacts that load without running code."""

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def token_client(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


# --- /readyz: status for everyone, details for staff ----------------------------------------------------------


def test_readyz_tells_an_anonymous_caller_only_the_status(client):
    response = client.get("/readyz")

    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "vendor" not in response.content.decode() and "sqlite" not in response.content.decode()


def test_readyz_shows_staff_every_check(client, staff):
    client.force_login(staff)
    body = client.get("/readyz").json()

    assert body["status"] == "ok" and body["checks"]["database"]["ok"] is True


def test_readyz_shows_a_staff_token_every_check(client, staff):
    token = Token.objects.get_or_create(user=staff)[0].key
    body = client.get("/readyz", HTTP_AUTHORIZATION=f"Token {token}").json()

    assert "checks" in body


def test_readyz_hides_a_failing_checks_message_from_anonymous_callers(client, monkeypatch):
    import config.health as health

    def broken():
        raise RuntimeError("connection to db.internal:5432 refused")

    monkeypatch.setitem(health.CHECKS, "database", broken)
    response = client.get("/readyz")

    assert response.status_code == 503 and response.json() == {"status": "unavailable"}


# --- CSRF on writes identified by a cookie ---------------------------------------------------------------------


@pytest.fixture
def browser(product):
    """A shopper's browser: a visitor cookie from an earlier page, and CSRF checks as a real browser gets them."""
    client = APIClient(enforce_csrf_checks=True)
    client.get(product.get_absolute_url())  # a product page view gives the visitor their cookie
    assert client.cookies.get(settings.VISITOR_COOKIE_NAME)
    return client


@pytest.fixture
def product():
    return ProductFactory(title="Blue shirt")


def csrf_headers(client):
    client.get("/")  # the storefront sets the CSRF cookie a page's script reads
    token = client.cookies["csrftoken"].value
    return {"HTTP_X_CSRFTOKEN": token}


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/api/v1/recommendations/not-interested/", "product"),
        ("delete", "/api/v1/me/data/", None),
        ("put", "/api/v1/me/personalisation/", {"enabled": False}),
    ],
)
def test_a_cookie_identified_write_without_a_csrf_token_is_refused(browser, product, method, url, body):
    data = {"product": product.pk} if body == "product" else body
    response = getattr(browser, method)(url, data, format="json")

    assert response.status_code == 403 and "CSRF" in response.json()["detail"]


def test_a_cookie_identified_write_with_the_csrf_token_is_accepted(browser, product):
    url, headers = "/api/v1/recommendations/not-interested/", csrf_headers(browser)
    response = browser.post(url, {"product": product.pk}, format="json", **headers)

    assert response.status_code == 201


def test_a_form_post_from_another_site_cannot_forget_a_visitors_data(browser, product):
    response = browser.post("/api/v1/recommendations/not-interested/", {"product": product.pk})

    assert response.status_code == 403


def test_a_caller_without_cookies_needs_no_csrf_token(product):
    client = APIClient(enforce_csrf_checks=True)
    response = client.post("/api/v1/recommendations/not-interested/", {"product": product.pk}, format="json")

    assert response.status_code == 201


def test_a_token_authenticated_write_needs_no_csrf_token(staff, product):
    client = token_client(staff)
    client.handler.enforce_csrf_checks = True
    client.cookies["sessionid"] = "left-over"
    response = client.post("/api/v1/recommendations/not-interested/", {"product": product.pk}, format="json")

    assert response.status_code == 201


# --- torch.load with weights_only=True in the sequential recommender -----------------------------------------


@pytest.fixture
def small_artifact():
    import numpy as np

    from recommend.ml.sequential.data import ItemVocabulary
    from recommend.ml.sequential.pipeline import SequentialArtifact
    from recommend.ml.sequential.sasrec import SASRecConfig
    from recommend.ml.sequential.training import SASRecRecommender, TrainingConfig

    vocabulary = ItemVocabulary(ids=[11, 12, 13])
    config = SASRecConfig(n_items=3, hidden=8, heads=1, layers=1, max_length=4)
    recommender = SASRecRecommender(config, TrainingConfig())
    return SequentialArtifact(recommender, vocabulary, np.array([0.0, 3.0, 2.0, 1.0]))


def test_a_sequential_artifact_loads_with_weights_only(small_artifact, tmp_path):
    import torch

    from recommend.ml.sequential.pipeline import SequentialArtifact

    small_artifact.save(tmp_path / "model.pt")
    torch.load(tmp_path / "model.pt", weights_only=True)  # plain types and tensors only
    loaded = SequentialArtifact.load(tmp_path / "model.pt")

    assert loaded.vocabulary.ids == [11, 12, 13] and list(loaded.popularity) == [0.0, 3.0, 2.0, 1.0]


def test_an_older_sequential_artifact_with_a_numpy_popularity_still_loads(small_artifact, tmp_path):
    import torch

    from recommend.ml.sequential.pipeline import SequentialArtifact

    torch.save(
        {
            "sasrec": small_artifact.recommender.model.state(),
            "training": small_artifact.recommender.training.__dict__,
            "item_ids": [11, 12, 13],
            "popularity": small_artifact.popularity,  # a numpy array, as artifacts were written before
        },
        tmp_path / "old.pt",
    )

    assert list(SequentialArtifact.load(tmp_path / "old.pt").popularity) == [0.0, 3.0, 2.0, 1.0]


class WritesAFile:
    """Unpickling this creates a file: proof that loading ran code."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_sequential_artifact_with_code_in_it_is_refused_without_running_it(tmp_path):
    import torch

    from recommend.ml.sequential.pipeline import SequentialArtifact

    marker = tmp_path / "ran"
    torch.save({"sasrec": WritesAFile(marker)}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="sequential"):
        SequentialArtifact.load(tmp_path / "evil.pt")

    assert not marker.exists()


def test_the_training_side_checkpoint_and_the_item_knn_baseline_load_without_pickle(small_artifact, tmp_path):
    import numpy as np

    from recommend.ml.sequential.baselines import ItemKNN
    from recommend.ml.sequential.training import SASRecRecommender

    small_artifact.recommender.save(tmp_path)
    knn = ItemKNN(3, window=2).fit([[1, 2, 3], [2, 3]])
    knn.save(tmp_path)

    assert SASRecRecommender.load(tmp_path).model_config.n_items == 3
    loaded = ItemKNN.load(tmp_path)
    assert loaded.window == 2 and np.allclose(loaded.score([[1, 2]]), knn.score([[1, 2]]))
    assert not list(tmp_path.glob("*.pkl"))
