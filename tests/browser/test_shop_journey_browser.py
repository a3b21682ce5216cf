"""A shopper's whole journey in a real browser, on a desktop and on a phone, and the events it leaves behind.

home -> category -> facet filter -> product -> a similar item -> add to cart -> "Complete your
basket" -> search; then the database holds the views, the recommendation click (block and slot),
the add to cart and the search, and the block counters staff read in the admin. Staff drag a
category to a new parent and start an import job (jobs run inline in tests: its page shows 100 %).
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings

from catalog.models import BlockStat, Interaction
from recommend.bought_together.services import bought_together_build
from recommend.core import vectors
from recommend.core.model_cache import clear_model_caches
from recommend.similarity.services import similarity_build
from tests.factories import BrandFactory, CategoryFactory, ProductFactory, StaffFactory
from tests.fakes import bag_of_words

pytestmark = pytest.mark.django_db(transaction=True)

BROKEN_IMAGE = "http://127.0.0.1:9/missing.jpg"  # refused at once: the placeholder must take its place
ITEMS = [  # title, brand, price, category key
    ("Whole milk 1 l", "Dairyland", "1.10", "dairy"),
    ("Semi skimmed milk 1 l", "Dairyland", "0.95", "dairy"),
    ("Organic whole milk 1 l", "Greenfield", "1.60", "dairy"),
    ("Gouda cheese", "Dairyland", "4.50", "dairy"),
    ("Greek yogurt", "Greenfield", "1.90", "dairy"),
    ("Rye bread", "Baker & Co", "2.80", "bakery"),
    ("Butter croissant", "Baker & Co", "0.90", "bakery"),
]
ORDERS = [(8, ["Whole milk 1 l", "Rye bread"]), (3, ["Whole milk 1 l", "Gouda cheese"]), (2, ["Rye bread"])]


@pytest.fixture
def shop(monkeypatch):
    monkeypatch.setattr(vectors, "encode_texts", bag_of_words)
    food = CategoryFactory(name="Food", slug="food")
    categories = {
        "dairy": CategoryFactory(name="Dairy", slug="dairy", parent=food),
        "bakery": CategoryFactory(name="Bakery", slug="bakery", parent=food),
    }
    brands = {name: BrandFactory(name=name) for name in {brand for _, brand, _, _ in ITEMS}}
    products = {
        title: ProductFactory(
            title=title,
            brand=brands[brand],
            price=Decimal(price),
            currency="EUR",
            category=categories[key],
            image_url=BROKEN_IMAGE if index % 2 else "",
        )
        for index, (title, brand, price, key) in enumerate(ITEMS)
    }
    start, rows, order = datetime(2025, 1, 1, tzinfo=UTC), [], 0
    for count, titles in ORDERS:
        for _ in range(count):
            order += 1
            for title in titles:
                for event in (Interaction.Event.VIEW, Interaction.Event.PURCHASE):
                    rows.append(
                        Interaction(
                            visitor_id=f"shopper-{order}",
                            product=products[title],
                            event=event,
                            order_id=f"order-{order}" if event == "purchase" else "",
                            timestamp=start + timedelta(hours=order),
                        )
                    )
    Interaction.objects.bulk_create(rows)
    clear_model_caches()
    similarity_build(progress=lambda fraction, message: None)
    bought_together_build()
    return products


def test_shopper_journey_records_every_event(live_server, page, screenshot, shop):
    page.goto(live_server.url)
    assert page.get_by_role("region", name="Popular right now").is_visible()
    page.wait_for_selector("img.failed", state="attached")  # broken pictures swapped
    screenshot("journey-1-home")

    page.get_by_role("navigation", name="Categories").get_by_role("link", name="Food").click()
    assert page.get_by_role("navigation", name="Subcategories").get_by_role("link", name="Dairy").is_visible()
    brand = page.locator("[data-facet=Brand]")
    assert "Dairyland 3" in " ".join(brand.inner_text().split())
    brand.get_by_role("checkbox", name="Dairyland").click()
    assert page.get_by_role("list", name="Selected filters").get_by_role("link", name="Brand: Dairyland").is_visible()
    assert page.locator("main .grid > li.card").count() == 3
    screenshot("journey-2-category-filtered")

    page.get_by_role("link", name="Whole milk 1 l", exact=True).click()
    similar = page.get_by_role("region", name="Similar items")
    assert similar.is_visible()
    screenshot("journey-3-product")
    first_similar = similar.locator("li.card a").first
    assert "ref=similar:1" in first_similar.get_attribute("href")
    clicked_title = first_similar.locator(".title").inner_text()
    first_similar.click()
    assert page.get_by_role("heading", level=1).inner_text().startswith(clicked_title.rstrip("…"))

    page.locator("form.add-to-cart").get_by_role("button", name="Add to cart").click()
    page.get_by_role("link", name="Cart (1)").click()
    assert page.get_by_role("region", name="Complete your basket").is_visible()
    screenshot("journey-4-cart")

    page.get_by_role("searchbox", name="Search products").fill("cheese")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_role("link", name="Gouda cheese").first.is_visible()
    screenshot("journey-5-search")

    visitor = next((c["value"] for c in page.context.cookies() if c["name"] == settings.VISITOR_COOKIE_NAME), None)
    mine = Interaction.objects.exclude(visitor_id__startswith="shopper-")
    assert visitor and set(mine.values_list("visitor_id", flat=True)) == {visitor}
    events = list(mine.values_list("event", "query"))
    assert events.count(("view", "")) >= 2
    assert ("click", "similar:1") in events and ("add_to_cart", "") in events and ("search", "cheese") in events
    similar_stat = BlockStat.objects.get(block="similar")
    assert similar_stat.clicks == 1 and similar_stat.impressions >= 2
    assert BlockStat.objects.get(block="complete_basket").impressions >= 1


def test_phone_width_journey(live_server, browser, shop):
    from tests.browser.conftest import SCREENSHOTS

    context = browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    widths = {}
    try:
        phone.goto(live_server.url)
        widths["home"] = phone.evaluate("document.documentElement.scrollWidth")
        phone.screenshot(path=str(SCREENSHOTS / "journey-phone-1-home.png"), full_page=True)
        phone.get_by_role("navigation", name="Categories").get_by_role("link", name="Food").click()
        assert phone.locator("details.facets-box").get_attribute("open") is None  # folded on a phone
        phone.get_by_text("Filter").click()
        phone.locator("[data-facet=Brand]").get_by_role("checkbox", name="Greenfield").click()
        assert phone.locator("main .grid > li.card").count() == 2
        widths["category"] = phone.evaluate("document.documentElement.scrollWidth")
        phone.screenshot(path=str(SCREENSHOTS / "journey-phone-2-category.png"), full_page=True)
        phone.get_by_role("link", name="Greek yogurt").click()
        phone.locator("form.add-to-cart").get_by_role("button", name="Add to cart").click()
        widths["product"] = phone.evaluate("document.documentElement.scrollWidth")
        phone.screenshot(path=str(SCREENSHOTS / "journey-phone-3-product.png"), full_page=True)
        phone.get_by_role("link", name="Cart (1)").click()
        widths["cart"] = phone.evaluate("document.documentElement.scrollWidth")
    finally:
        context.close()

    assert max(widths.values()) <= 375, widths
    assert Interaction.objects.filter(event="add_to_cart").count() == 1


def test_staff_see_block_click_through(live_server, page, screenshot, shop):
    page.goto(f"{live_server.url}{shop['Whole milk 1 l'].get_absolute_url()}")
    page.get_by_role("region", name="Similar items").locator("li.card a").first.click()
    StaffFactory(username="boss", password="correct-horse-battery")
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "correct-horse-battery")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/catalog/blockstat/")

    row = page.locator(".block-summaries tr[data-block=similar]")
    assert row.locator("svg.block-chart").is_visible()
    assert "%" in row.locator("td.ctr").inner_text()
    screenshot("journey-admin-block-stats")


def test_staff_drag_a_category_and_watch_an_import_job(live_server, page, screenshot, tree, settings, tmp_path):
    from catalog.sample_data import write_sample_dataset
    from recommend.models import Job
    from taxonomy.models import Category

    settings.SHOP_DATA_DIR = write_sample_dataset(tmp_path / "data")
    StaffFactory(username="boss", password="correct-horse-battery")
    page.goto(f"{live_server.url}/admin/login/?next=/admin/taxonomy/category/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "correct-horse-battery")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/taxonomy/category/")

    # Drag "Electronics" onto the middle of "Clothing": it becomes Clothing's child (mptt's draggable admin).
    handle = page.locator("tr", has=page.get_by_role("link", name="Electronics", exact=True)).locator(".drag-handle")
    target = page.locator("tr", has=page.get_by_role("link", name="Clothing", exact=True))
    box = target.bounding_box()
    handle.hover()
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2 - 2, steps=8)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=4)
    page.mouse.up()
    page.wait_for_selector(".messagelist")
    assert "successfully moved" in page.locator(".messagelist").inner_text()
    assert Category.objects.get(pk=tree["electronics"].pk).parent_id == tree["clothing"].pk

    page.goto(f"{live_server.url}/admin/recommend/job/import/")
    page.select_option("#id_preset", "flipkart")
    page.fill("#id_limit", "20")
    page.click("input[value='Start import']")
    assert "progress shows below" in page.locator(".messagelist").inner_text()
    job = Job.objects.get(kind=Job.Kind.IMPORT)
    page.goto(f"{live_server.url}/admin/recommend/job/{job.pk}/change/")
    assert "Catalog import #" in page.locator("main").inner_text() and "100%" in page.locator("main").inner_text()
    screenshot("journey-admin-job")
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.progress == 1.0


def test_the_shop_works_with_javascript_off(live_server, browser, shop):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server.url)
        page.get_by_role("navigation", name="Categories").get_by_role("link", name="Food").click()
        page.locator("[data-facet=Brand]").get_by_role("checkbox", name="Greenfield").click()
        assert page.locator("main .grid > li.card").count() == 2
        page.get_by_role("link", name="Greek yogurt").click()
        assert page.locator("img.failed").count() == 0  # no script ran: the frame and initial show instead
        page.locator("form.add-to-cart").get_by_role("button", name="Add to cart").click()
        page.get_by_role("link", name="Cart (1)").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Your cart"
        page.get_by_role("searchbox", name="Search products").fill("milk")
        page.get_by_role("button", name="Search").click()
        assert page.get_by_role("link", name="Whole milk 1 l").first.is_visible()
    finally:
        context.close()
    assert Interaction.objects.filter(event="add_to_cart").count() == 1
