"""The database unreachable: 503 with Retry-After (JSON under /api/, a short HTML page elsewhere), not a 500."""

import logging

import psycopg
import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import InterfaceError, OperationalError
from django.test import Client

from catalog import apis, views
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

REFUSED = "connection to server at 127.0.0.1, port 5432 failed: Connection refused"


def from_driver(error_class, driver_error):
    """A Django database error as the backend raises it: the driver's exception as its cause."""
    error = error_class(str(driver_error))
    error.__cause__ = driver_error
    return error


def raising(error: Exception):
    if isinstance(error, OperationalError | InterfaceError) and error.__cause__ is None:
        error = from_driver(type(error), psycopg.OperationalError(str(error)))  # no SQLSTATE: connection failed

    def fail(*args, **kwargs):
        raise error

    return fail


@pytest.fixture
def product():
    return ProductFactory(title="Blue shirt")


@pytest.mark.parametrize("error_class", [OperationalError, InterfaceError])
def test_an_api_read_answers_503_json_with_retry_after(api_client, product, monkeypatch, caplog, error_class):
    monkeypatch.setattr(apis, "product_detail_queryset", raising(error_class(REFUSED)))

    with caplog.at_level(logging.ERROR, logger="config.middleware"):
        response = api_client.get(f"/api/v1/products/{product.pk}/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "the database is unavailable; retry shortly"}
    assert any(REFUSED in record.getMessage() and record.levelno == logging.ERROR for record in caplog.records)


def test_the_event_ingest_answers_503_json_when_its_write_fails(staff_api_client, product, monkeypatch):
    monkeypatch.setattr(apis, "interactions_ingest", raising(OperationalError("server closed the connection")))

    response = staff_api_client.post(
        "/api/v1/interactions/",
        {"visitor_id": "v1", "event": "view", "product": product.pk, "event_id": "e-1"},
        format="json",
    )

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["detail"] == "the database is unavailable; retry shortly"


@pytest.mark.parametrize("page", ["home", "product"])
def test_a_storefront_page_answers_503_html_with_retry_after(client, product, monkeypatch, page):
    if page == "home":
        monkeypatch.setattr(views, "product_list", raising(OperationalError(REFUSED)))
        url = "/"
    else:
        monkeypatch.setattr(views, "product_detail_queryset", raising(OperationalError(REFUSED)))
        url = f"/p/{product.pk}/"

    response = client.get(url)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "cannot reach its database" in body and "<html" in body
    assert "Blue shirt" not in body


def test_a_database_error_in_a_middleware_is_a_503_too(product, monkeypatch):
    """The cart change is saved by SessionMiddleware on the way out, after the view: handler500 answers it."""
    monkeypatch.setattr(SessionStore, "save", raising(OperationalError(REFUSED)))
    client = Client(raise_request_exception=False)

    response = client.post("/cart/remove/", {"product_id": product.pk})

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "cannot reach its database" in response.content.decode()


def test_other_errors_stay_500_without_retry_after(product, monkeypatch):
    monkeypatch.setattr(views, "product_list", raising(ValueError("a bug, not an outage")))
    client = Client(raise_request_exception=False)

    response = client.get("/")

    assert response.status_code == 500
    assert not response.has_header("Retry-After")
    assert "cannot reach its database" not in response.content.decode()


@pytest.mark.parametrize(
    "error",
    [
        from_driver(OperationalError, psycopg.errors.UndefinedTable('relation "catalog_product" does not exist')),
        OperationalError("no such table: catalog_product"),  # SQLite: a missing migration, not an outage
    ],
    ids=["postgres-undefined-table", "sqlite-no-such-table"],
)
def test_a_schema_error_is_a_500_not_a_retry_later(product, monkeypatch, error):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(views, "product_list", fail)
    response = Client(raise_request_exception=False).get("/")

    assert response.status_code == 500 and not response.has_header("Retry-After")


def test_a_transient_postgres_state_is_a_503():
    from config.middleware import is_database_unavailable

    starting_up = from_driver(OperationalError, psycopg.errors.CannotConnectNow("the database system is starting up"))
    shutdown = from_driver(OperationalError, psycopg.errors.AdminShutdown("terminating connection"))
    assert is_database_unavailable(starting_up) and is_database_unavailable(shutdown)
