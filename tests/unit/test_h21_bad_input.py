"""Bad input answers 400/404 or is ignored, never 500 (issue 21, "Bad input"): NUL bytes in facets, repeated
parameters and SKUs, deeply nested JSON, non-ASCII currencies, importer rows that used to crash, limits without
a bound, counts under a concurrent duplicate, and the fuzzer's hand-written cases for them. What anonymous callers
may see or do and how artifacts load: test_h21_exposure.py."""

import json

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.importers import ImportAborted, ProductMapping
from catalog.models import Interaction, Product, ProductAttributeValue
from catalog.services import import_file
from tests.factories import AttributeFactory, BrandFactory, InteractionFactory, ProductFactory, UserFactory
from tests.fuzzing_edge_cases import database_refusing_nul

pytestmark = pytest.mark.django_db

DEEP = 10_000


@pytest.fixture
def nul_refusing_database():
    """The database refuses NUL bytes as PostgreSQL's driver does (SQLite would store them)."""
    with database_refusing_nul():
        yield


@pytest.fixture
def coloured_shirt(tree):
    colour = AttributeFactory(name="Colour")
    shirt = ProductFactory(title="Blue shirt", category=tree["shirts"], brand=BrandFactory(name="Acme", slug="acme"))
    ProductAttributeValue.objects.create(product=shirt, attribute=colour, value="blue")
    return shirt, colour


# --- NUL bytes in storefront facets and repeated parameters ---------------------------------------------------


def test_a_nul_in_a_category_facet_value_is_ignored(client, coloured_shirt, nul_refusing_database):
    shirt, colour = coloured_shirt
    response = client.get(shirt.category.get_absolute_url(), {"a": [f"{colour.pk}:\x00", f"{colour.pk}:blue"]})

    assert response.status_code == 200 and "Blue shirt" in response.content.decode()


def test_a_nul_in_a_search_facet_value_is_ignored(client, coloured_shirt, nul_refusing_database, monkeypatch):
    import recommend.search.views as views

    shirt, colour = coloured_shirt
    ranking = {"ids": [shirt.pk], "scores": {shirt.pk: 1.0}, "sources": {shirt.pk: "lexical"}}
    monkeypatch.setattr(views, "search_ranking", lambda **kw: ranking)
    response = client.get("/search/", {"q": "shirt", "a": f"{colour.pk}:\x00"})

    assert response.status_code == 200


def test_a_repeated_brand_filter_checks_every_value(api_client, coloured_shirt, nul_refusing_database):
    response = api_client.get("/api/v1/products/", {"brand": ["\x00", "acme"]})

    assert response.status_code == 400 and "brand" in response.json()


def test_a_repeated_storefront_brand_with_a_nul_is_ignored(client, coloured_shirt, nul_refusing_database):
    shirt, _ = coloured_shirt
    response = client.get(shirt.category.get_absolute_url(), {"brand": ["\x00", str(shirt.brand_id)]})

    assert response.status_code == 200 and "Blue shirt" in response.content.decode()


# --- deeply nested JSON ---------------------------------------------------------------------------------------


def deep_json(depth=DEEP):
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("url", ["/api/v1/interactions/", "/api/v1/classify/", "/api/v1/products/", "/api/v1/jobs/"])
def test_deeply_nested_json_is_a_400(staff_api_client, url):
    response = staff_api_client.post(url, deep_json(), content_type="application/json")

    assert response.status_code == 400 and "nest" in response.json()["detail"]


def test_deeply_nested_json_from_an_anonymous_caller_is_a_400(api_client):
    response = api_client.post("/api/v1/basket/complete/", deep_json(), content_type="application/json")

    assert response.status_code == 400 and "nest" in response.json()["detail"]


def test_json_nested_a_little_is_still_read(staff_api_client):
    body = {"title": "Blue shirt", "attributes": {"colour": "blue"}}
    response = staff_api_client.post("/api/v1/classify/", body, format="json")

    assert response.status_code == 503  # parsed and validated; no classifier trained yet


# --- NUL in an ingested SKU, non-ASCII currencies -------------------------------------------------------------


def test_an_interaction_with_a_nul_in_its_sku_is_a_400(staff_api_client, nul_refusing_database):
    event = {"visitor_id": "v1", "event": "view", "sku": "S\x001"}
    response = staff_api_client.post("/api/v1/interactions/", event, format="json")

    assert response.status_code == 400 and "sku" in response.json()


def test_a_batch_with_a_nul_in_a_sku_is_a_400_naming_the_row(staff_api_client, nul_refusing_database):
    ProductFactory(sku="S1")
    batch = [{"visitor_id": "v1", "event": "view", "sku": sku} for sku in ("S1", "S\x001")]
    response = staff_api_client.post("/api/v1/interactions/", batch, format="json")

    assert response.status_code == 400 and set(response.json()["rows"]) == {"1"}


def test_a_product_with_a_nul_in_its_sku_is_a_400(staff_api_client, nul_refusing_database):
    response = staff_api_client.post("/api/v1/products/", {"sku": "S\x001", "title": "T"}, format="json")

    assert response.status_code == 400 and "sku" in response.json()


@pytest.mark.parametrize("currency", ["ßßß", "ÉÉÉ", "ǅǅǅ", "US1"])
def test_a_currency_must_be_three_ascii_letters(staff_api_client, currency):
    response = staff_api_client.post(
        "/api/v1/products/", {"sku": "S1", "title": "T", "price": "1.00", "currency": currency}, format="json"
    )

    assert response.status_code == 400 and "currency" in response.json()
    assert not Product.objects.exists()


def test_a_lower_case_currency_is_stored_upper_case(staff_api_client):
    response = staff_api_client.post("/api/v1/products/", {"sku": "S1", "title": "T", "currency": "eur"}, format="json")

    assert response.status_code == 201 and Product.objects.get().currency == "EUR"


# --- the importer: NUL bytes, odd attributes, deep JSON lines ------------------------------------------------


def import_csv(tmp_path, text, **kwargs):
    path = tmp_path / "p.csv"
    path.write_text(text)
    mapping = ProductMapping(columns={"sku": "sku", "title": "title", "price": "price", "currency": "currency"})
    return import_file(path=path, kind="products", mapping=mapping, **kwargs)


def import_jsonl(tmp_path, rows, **kwargs):
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(row if isinstance(row, str) else json.dumps(row) for row in rows) + "\n")
    return import_file(path=path, kind="products", mapping=ProductMapping(), **kwargs)


def test_an_imported_nul_byte_is_reported_with_file_row_and_column(tmp_path, nul_refusing_database):
    report = import_csv(tmp_path, "sku,title,price,currency\nS1,Fine,1,USD\nS2,Bad\x00title,2,USD\nS3,Also,3,USD\n")

    [error] = report.errors
    assert (error.file, error.row, error.column) == ("p.csv", 2, "title") and "NUL" in error.reason
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["S1", "S3"]


def test_a_strict_import_with_a_nul_byte_changes_nothing(tmp_path, nul_refusing_database):
    with pytest.raises(ImportAborted) as aborted:
        import_csv(tmp_path, "sku,title,price,currency\nS1,Fine,1,USD\nS2\x00,Bad,2,USD\n", strict=True)

    assert [(e.row, e.column) for e in aborted.value.report.errors] == [(2, "sku")]
    assert not Product.objects.exists()


@pytest.mark.parametrize("attributes", ["red", ["red"], 3, {"colour": {"nested": "red"}}, {"colour": ["red"]}])
def test_an_imported_attributes_value_that_is_not_an_object_of_texts_is_reported(tmp_path, attributes):
    rows = [{"sku": "S1", "title": "Fine"}, {"sku": "S2", "title": "Odd", "__attributes__": attributes}]
    report = import_jsonl(tmp_path, rows)

    [error] = report.errors
    assert (error.row, error.column) == (2, "__attributes__")
    assert list(Product.objects.values_list("sku", flat=True)) == ["S1"]


def test_imported_attributes_with_numbers_are_kept_as_text(tmp_path):
    report = import_jsonl(tmp_path, [{"sku": "S1", "title": "Fine", "__attributes__": {"size": 42, "fit": ""}}])

    assert report.ok
    assert list(ProductAttributeValue.objects.values_list("attribute__name", "value")) == [("size", "42")]


def test_an_imported_json_line_nested_too_deeply_is_reported(tmp_path):
    report = import_jsonl(tmp_path, [{"sku": "S1", "title": "Fine"}, deep_json()])

    [error] = report.errors
    assert error.row == 2 and "nest" in error.reason
    assert Product.objects.get().sku == "S1"


def test_an_imported_non_ascii_currency_is_reported(tmp_path):
    report = import_csv(tmp_path, "sku,title,price,currency\nS1,Fine,1,ÉÉÉ\nS2,Fine,1,eur\n")

    assert [(e.row, e.column) for e in report.errors] == [(1, "currency")]
    assert Product.objects.get().currency == "EUR"


# --- bounds: job limits, classify cost per account ------------------------------------------------------------


@pytest.mark.parametrize("limit", [10**30, 1e30, 0])
def test_an_import_job_limit_out_of_bounds_is_a_400(staff_api_client, limit):
    response = staff_api_client.post("/api/v1/jobs/", {"preset": "flipkart", "limit": limit}, format="json")

    assert response.status_code == 400 and "limit" in response.json()


@pytest.fixture
def item_rates(settings):
    rates = {"anon": None, "user": None, "classify": None, "search": None, "classify_items": "1500/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


def token_client(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def test_classify_batches_are_throttled_by_their_items_per_account(item_rates, shopper):
    client = token_client(shopper)
    batch = [{"title": f"Blue shirt {n}"} for n in range(1000)]

    first = client.post("/api/v1/classify/", batch, format="json")
    small = client.post("/api/v1/classify/", batch[:400], format="json")
    second = client.post("/api/v1/classify/", batch, format="json")
    other = token_client(UserFactory(username="other")).post("/api/v1/classify/", batch, format="json")

    assert (first.status_code, small.status_code) == (503, 503)  # counted (no classifier trained yet)
    assert second.status_code == 429 and "items" in second.json()["detail"] and second["Retry-After"]
    assert other.status_code == 503  # another account, its own budget


def test_a_single_item_counts_one(item_rates, shopper):
    client = token_client(shopper)
    statuses = [client.post("/api/v1/classify/", {"title": "Blue shirt"}, format="json").status_code for _ in range(3)]

    assert statuses == [503, 503, 503]


# --- ingest counts under a concurrent duplicate ---------------------------------------------------------------


def test_created_counts_only_the_rows_stored_when_another_writer_stored_an_event_id_meanwhile(monkeypatch):
    import catalog.services as services
    from catalog.services import interactions_ingest

    product = ProductFactory()
    declined = services.personalisation_declined

    def concurrent_writer_then_check(visitor_ids):
        # Another request stores "e1" after this one looked for known event ids, before it inserts.
        InteractionFactory(visitor_id="v0", product=product, event_id="e1")
        return declined(visitor_ids)

    monkeypatch.setattr(services, "personalisation_declined", concurrent_writer_then_check)
    events = [{"visitor_id": "v1", "event": "view", "product": product, "event_id": e} for e in ("e1", "e2")]
    events.append({"visitor_id": "v1", "event": "view", "product": product})

    result = interactions_ingest(events=events)

    assert result == {"created": 2, "duplicates": 1, "declined": 0}
    assert Interaction.objects.filter(visitor_id="v1").count() == 2


# --- the fuzzer's hand-written cases ----------------------------------------------------------------------------


def test_the_fuzzers_nul_deep_and_repeated_cases_find_no_server_error(
    staff, coloured_shirt, nul_refusing_database, monkeypatch
):
    from recommend.core import vectors
    from tests.fakes import bag_of_words
    from tests.fuzzing import FuzzReport, fuzzing_environment, run_edge_cases

    monkeypatch.setattr(vectors, "encode_texts", bag_of_words)
    roles = {"anonymous": {}, "staff": {"Authorization": f"Token {Token.objects.get_or_create(user=staff)[0].key}"}}
    report = FuzzReport()
    with fuzzing_environment() as log:
        run_edge_cases(roles=roles, report=report, log=log)

    assert report.edge_cases > 200 and report.server_errors == []


def test_the_fuzzer_writes_each_kind_of_hostile_case():
    from tests.fuzzing_edge_cases import api_edge_cases, storefront_edge_cases

    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    kinds = {case.name for case in api_edge_cases(schema)}
    facets = list(storefront_edge_cases(category_url="/c/1/x/", attribute_id=1, brand_id=1))

    assert kinds == {"nul-query", "repeated-query", "deep-json", "nul-body"}
    assert {"/search/", "/c/1/x/"} <= {case.path for case in facets}
