"""A shopper and a staff member use the site in a real browser."""

from decimal import Decimal

import pytest

from catalog.models import Product
from tests.factories import BrandFactory, ProductFactory, StaffFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(tree):
    acme = BrandFactory(name="Acme")
    for n in range(30):
        ProductFactory(title=f"Oxford shirt no. {n}", category=tree["shirts"], brand=acme, price=Decimal("25"))
    ProductFactory(title="Portable radio", category=tree["electronics"], brand=acme, description="Loud and clear.")
    return tree


def test_shopper_browses_category_to_product_and_searches(live_server, page, screenshot, shop):
    page.goto(live_server.url)
    page.get_by_role("navigation", name="Categories").get_by_role("link", name="Clothing").click()
    page.get_by_role("link", name="Men", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Men"
    assert "Page 1 of 2" in page.locator(".pagination").inner_text()
    screenshot("category")

    page.get_by_role("link", name="Next").click()
    page.get_by_role("link", name="Oxford shirt no. 29").click()
    assert page.locator(".breadcrumb").inner_text().split("›")[-1].strip() == "Shirts"
    screenshot("product")

    page.get_by_role("searchbox", name="Search products").fill("radio")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_role("link", name="Portable radio").is_visible()
    screenshot("search")


def test_layout_holds_on_a_phone(live_server, browser, shop):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.goto(f"{live_server.url}{shop['shirts'].get_absolute_url()}")

    page_width = phone.evaluate("document.documentElement.scrollWidth")
    context.close()
    assert page_width <= 390


def test_staff_moves_products_in_bulk_through_the_admin(live_server, page, screenshot, shop):
    StaffFactory(username="boss", password="correct-horse-battery")
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "correct-horse-battery")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/catalog/product/?q=radio")
    page.check("input[name=_selected_action]")
    page.select_option("select[name=action]", "move_to_category")
    page.click("button[name=index]")
    page.click(".select2-selection")  # the category box searches as staff type
    page.fill(".select2-search__field", "wom")
    page.get_by_role("option", name="Clothing > Women").click()
    screenshot("admin-move")
    page.click("input[value='Move products']")

    assert "Moved 1 products" in page.locator(".messagelist").inner_text()
    assert Product.objects.get(title="Portable radio").category == shop["women"]
