"""A shopper sees "Frequently bought together" on a product page, fills a cart and completes the basket."""

import pytest
from django.core.management import call_command

from catalog.models import Product
from recommend.bought_together.services import bought_together_build
from recommend.core.jobs import automatic_jobs_suspended
from recommend.core.model_cache import clear_model_caches
from tests.unit.test_bought_together import PRODUCTS, interactions_csv

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(tmp_path, settings):
    settings.BOUGHT_TOGETHER = {**settings.BOUGHT_TOGETHER, "epochs": 2}
    products, events = tmp_path / "products.csv", tmp_path / "orders.csv"
    products.write_text(PRODUCTS)
    events.write_text(interactions_csv())
    with automatic_jobs_suspended():  # only this capability's build, run here
        call_command("import_catalog", "--file", str(products))
        call_command("import_catalog", "--file", str(events), "--kind", "interactions")
    clear_model_caches()
    bought_together_build()
    return {product.sku: product for product in Product.objects.all()}


def test_product_block_and_cart_completion(live_server, page, screenshot, shop):
    page.goto(f"{live_server.url}{shop['milk'].get_absolute_url()}")
    block = page.get_by_role("region", name="Frequently bought together")
    assert block.is_visible()
    bread = block.locator(f"li[data-product-id='{shop['bread'].pk}']")
    assert "Bought together in 67 % of orders with this item" in bread.inner_text()
    screenshot("bought-together-product")

    page.locator("form.add-to-cart").get_by_role("button", name="Add to cart").click()
    page.get_by_role("link", name="Cart (1)").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Your cart"
    complete = page.get_by_role("region", name="Complete your basket")
    assert complete.is_visible()
    complete.locator(f"li[data-product-id='{shop['bread'].pk}']").get_by_role("button", name="Add to cart").click()
    screenshot("bought-together-cart")

    items = page.locator("ul.cart-items > li")
    assert items.count() == 2 and "Rye bread" in items.nth(1).inner_text()
    items.first.get_by_role("button", name="Remove").click()
    assert page.locator("ul.cart-items > li").count() == 1
    assert page.get_by_role("link", name="Cart (1)").is_visible()
