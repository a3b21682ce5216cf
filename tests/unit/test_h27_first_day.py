"""Issue 27, first day: SKUs wherever ids are, and source-data quirks caught at import."""

import pytest

from catalog.models import Product
from catalog.services import import_file
from taxonomy.models import Category
from tests.factories import ProductFactory
from tests.unit.test_importers import product_mapping, write

pytestmark = pytest.mark.django_db


def test_the_products_api_finds_products_by_sku(api_client):
    a, b, _ = ProductFactory(sku="A-1"), ProductFactory(sku="B-2"), ProductFactory(sku="C-3")

    one = api_client.get("/api/v1/products/", {"sku": "B-2"}).json()
    several = api_client.get("/api/v1/products/?sku=A-1,B-2&sku=nope").json()

    assert [p["id"] for p in one["results"]] == [b.pk]
    assert sorted(p["id"] for p in several["results"]) == sorted([a.pk, b.pk])
    too_many = api_client.get("/api/v1/products/", {"sku": ",".join(f"s{n}" for n in range(201))})
    assert too_many.status_code == 400 and "At most 200 SKUs" in too_many.json()["sku"][0]


def test_literal_unicode_escapes_are_decoded_and_placeholder_categories_left_empty(tmp_path):
    csv = (
        "sku,title,brand,price,path\n"
        "E1,Nutella<U+00AE> spread 400 g,Ferrero,3.5,Food > Spreads\n"
        "E2,Plain oats,Oaty,2,missing\n"
        "E3,Rye bread,Baker,2,Food > NaN\n"
    )
    report = import_file(path=write(tmp_path, "p.csv", csv), kind="products", mapping=product_mapping())

    assert Product.objects.get(sku="E1").title == "Nutella\u00ae spread 400 g"
    assert Product.objects.get(sku="E2").source_category_path == ""
    assert Product.objects.get(sku="E3").source_category_path == "Food"
    assert not Category.objects.filter(name__iexact="missing").exists()
    assert not Category.objects.filter(name__iexact="nan").exists()
    assert report.quality.placeholder_categories == 1
    assert any("placeholder category" in note for note in report.quality.notes())


def test_the_favicon_is_the_shops_icon_not_a_404(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301 and response["Location"].endswith("img/favicon.svg")
    assert 'rel="icon"' in client.get("/").content.decode()


@pytest.fixture
def wardrobe(monkeypatch, tree):
    from recommend.core import vectors
    from recommend.similarity.services import similarity_build
    from tests.fakes import bag_of_words

    monkeypatch.setattr(vectors, "encode_texts", lambda texts, progress=None: bag_of_words(texts))
    made = {
        "dress": ProductFactory(title="Red summer dress", category=tree["women"]),
        "dresses": ProductFactory(title="Floral dresses pack red", category=tree["women"]),
        "rose": ProductFactory(title="Red Rose nightwear", category=tree["women"]),
        "ipad": ProductFactory(title="iPad cover leather", category=tree["electronics"]),
    }
    similarity_build(progress=lambda fraction, message: None)
    return made


def test_listings_with_every_word_come_first_and_the_rest_are_called_closest(client, wardrobe):
    red_dress = client.get("/api/v1/search", {"q": "red dress"}).json()
    ids = [hit["id"] for hit in red_dress["results"]]

    assert red_dress["match"] == "all_words" and red_dress["exact"] == 2
    assert set(ids[:2]) == {wardrobe["dress"].pk, wardrobe["dresses"].pk}  # "dresses" counts as "dress"
    assert ids.index(wardrobe["rose"].pk) > 1


def test_a_search_with_no_complete_match_says_so_and_offers_the_closest(client, wardrobe):
    body = client.get("/api/v1/search", {"q": "iphone cover"}).json()
    page = client.get("/search/", {"q": "iphone cover"}).content.decode()

    assert body["match"] == "closest" and body["exact"] == 0
    assert body["results"][0]["id"] == wardrobe["ipad"].pk
    assert "No product matches every word of “iphone cover”" in page


def test_the_buy_box_is_above_the_details_and_adding_says_so(client, tree):
    product = ProductFactory(title="Trail running shoe", category=tree["shirts"], description="Long text " * 50)
    page = client.get(product.get_absolute_url()).content.decode()

    assert page.index('class="add-to-cart"') < page.index("<h2>Description")  # above the fold on a phone
    added = client.post("/cart/add/", {"product_id": product.pk, "next": product.get_absolute_url()}, follow=True)
    assert "Added Trail running shoe to your cart." in added.content.decode()


def test_an_order_export_with_only_order_id_and_sku_imports_as_purchases_once(tmp_path):
    from catalog.importers import InteractionMapping
    from catalog.models import Interaction

    for sku in ("M1", "B1", "C1"):
        ProductFactory(sku=sku)
    path = write(tmp_path, "orders.csv", "order_id,sku\n1001,M1\n1001,B1\n1002,C1\n")
    mapping = {"columns": {"order_id": "order_id", "sku": "sku"}}

    first = import_file(path=path, kind="interactions", mapping=InteractionMapping(**mapping))
    again = import_file(path=path, kind="interactions", mapping=InteractionMapping(**mapping))

    assert (first.created, first.errors, again.created, again.unchanged) == (3, [], 0, 3)
    rows = list(Interaction.objects.order_by("timestamp").values_list("visitor_id", "event", "order_id"))
    assert rows == [
        ("order:1001", "purchase", "1001"),
        ("order:1001", "purchase", "1001"),
        ("order:1002", "purchase", "1002"),
    ]
