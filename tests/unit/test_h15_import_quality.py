"""Import data quality (issue 15 point 8): price and brand completeness per import, colour/fit values
rejected as brands, admin filters, "Price unavailable" in the API."""

from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.brand_rules import KnownBrands, brand_is_suspect
from catalog.importers import ProductMapping, import_products
from catalog.importers.presets import beauty_item_row, flipkart
from catalog.models import Product
from catalog.services import import_steps
from tests.factories import BrandFactory, ProductFactory

pytestmark = pytest.mark.django_db

FLIPKART_HEADER = (
    "uniq_id,product_name,product_category_tree,pid,retail_price,discounted_price,"
    "is_FK_Advantage_product,product_rating,overall_rating,brand\n"
)


def flipkart_folder(tmp_path, rows):
    folder = tmp_path / "flipkart_ecommerce_sample"
    folder.mkdir()
    lines = [f'{sku},{title},"[""Clothing >> Jeans""]",P,100,,FALSE,4,4,{brand}\n' for sku, title, brand in rows]
    (folder / "flipkart_20k_joined.csv").write_text(FLIPKART_HEADER + "".join(lines))
    return tmp_path


@pytest.mark.parametrize("value", ["Slim", "Regular Fit", "Light Pink", "Black", "Multicolor", "NA"])
def test_colours_and_fits_are_not_brands(value):
    assert brand_is_suspect(value)


@pytest.mark.parametrize("value", ["Reckler", "Van Heusen", "S4S", "Black & Decker Tools", "Red Tape"])
def test_real_brands_pass(value):
    assert not brand_is_suspect(value)


def test_a_known_brand_is_found_at_the_start_of_a_title_on_word_boundaries():
    known = KnownBrands(["Salt N Pepper", "Salt", "Slim"])

    assert known.in_title("Salt N Pepper 13-019 Femme Boots") == "Salt N Pepper"
    assert known.in_title("Saltwater Sandals") == ""


def test_flipkart_import_takes_the_brand_from_the_title_when_the_column_holds_a_fit(tmp_path):
    data_dir = flipkart_folder(
        tmp_path,
        [
            ("u1", "Reckler Slim Fit Men's Jeans", "Slim"),
            ("u2", "Reckler Blue Jeans", "Reckler"),
            ("u3", "Nobody Jeans", "Regular"),
        ],
    )

    report = import_steps(flipkart(data_dir))[0]

    brands = dict(Product.objects.values_list("sku", "brand__name"))
    assert brands == {"u1": "Reckler", "u2": "Reckler", "u3": None}
    quality = report.as_dict()["quality"]
    assert (quality["brands_rejected"], quality["brands_from_title"]) == (2, 1)
    assert quality["rejected_values"] == {"Slim": 1, "Regular": 1}
    assert quality["brand_completeness"] == pytest.approx(2 / 3, abs=1e-3)


def test_a_source_without_prices_says_so_in_the_report(tmp_path):
    mapping = ProductMapping(
        columns={"sku": "asin", "title": "title", "category_path": "category_path"}, transform=beauty_item_row
    )
    rows = [(1, {"asin": "B1", "title": "Rose soap"}), (2, {"asin": "B2", "title": "Lip balm"})]

    report = import_products(rows, mapping=mapping, file_name="beauty_items.csv")

    quality = report.as_dict()["quality"]
    assert (quality["products"], quality["with_price"], quality["price_completeness"]) == (2, 0, 0.0)
    assert "the source has no price column" in quality["notes"][0]
    assert "with price 0%" in report.summary()


def test_admin_filters_products_without_price_or_with_a_suspect_brand(client, staff):
    client.force_login(staff)
    priced = ProductFactory(price=Decimal("5"))
    unpriced = ProductFactory(price=None)
    slim = ProductFactory(brand=BrandFactory(name="Slim", slug="slim"))
    url = reverse("admin:catalog_product_changelist")

    no_price = client.get(url, {"quality": "no_price"}).context["cl"].result_list
    suspect = client.get(url, {"quality": "suspect_brand"}).context["cl"].result_list

    assert list(no_price) == [unpriced] and list(suspect) == [slim] and priced not in no_price


def test_the_api_says_price_unavailable_instead_of_nothing(api_client):
    product = ProductFactory(price=None)
    priced = ProductFactory(price=Decimal("19.99"), currency="INR")

    rows = {row["id"]: row for row in api_client.get("/api/v1/products/").json()["results"]}

    assert (rows[product.pk]["price"], rows[product.pk]["price_display"]) == (None, "Price unavailable")
    assert rows[priced.pk]["price_display"] == "INR 19.99"
