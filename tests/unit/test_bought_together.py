"""Bought together end to end: a tiny shop through the importer, the build, the API, admin overrides, the cart."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from catalog.models import Interaction, Product
from recommend.bought_together.models import AssociationRule, PairOverride
from recommend.bought_together.services import bought_together_build
from recommend.core.model_cache import clear_model_caches
from recommend.models import Job, ModelVersion

pytestmark = pytest.mark.django_db

PRODUCTS = """sku,title,category_path,price
milk,Whole milk 1 l,Food > Dairy,1.10
cheese,Gouda cheese,Food > Dairy,4.50
butter,Salted butter,Food > Dairy,2.20
yogurt,Greek yogurt,Food > Dairy,1.90
bread,Rye bread,Food > Bakery,2.80
croissant,Butter croissant,Food > Bakery,0.90
soap,Dish soap,Home > Cleaning,3.10
sponge,Kitchen sponge,Home > Cleaning,1.20
"""
# (order count, products in each order): milk+bread is the strong pair; yogurt is never bought.
ORDERS = [
    (8, ["milk", "bread"]),
    (3, ["milk", "cheese"]),
    (4, ["bread", "butter"]),
    (6, ["soap", "sponge"]),
    (2, ["croissant"]),
    (1, ["milk", "croissant", "soap"]),
]


def interactions_csv() -> str:
    lines, order = ["visitor_id,sku,event,timestamp,order_id"], 0
    for count, skus in ORDERS:
        for _ in range(count):
            order += 1
            lines += [
                f"shopper-{order % 5},{sku},purchase,{1_700_000_000 + order * 3600},order-{order}" for sku in skus
            ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def shop(tmp_path, settings, django_capture_on_commit_callbacks):
    # A tiny shop: a short training is enough.
    settings.BOUGHT_TOGETHER = {**settings.BOUGHT_TOGETHER, "epochs": 2}
    products, events = tmp_path / "products.csv", tmp_path / "orders.csv"
    products.write_text(PRODUCTS)
    events.write_text(interactions_csv())
    call_command("import_catalog", "--file", str(products))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_catalog", "--file", str(events), "--kind", "interactions")
    clear_model_caches()
    return {product.sku: product for product in Product.objects.all()}


@pytest.fixture
def built(shop):
    Job.objects.filter(kind=Job.Kind.BUILD_BOUGHT_TOGETHER).delete()  # the import's follow-up, built here instead
    version = bought_together_build()
    return shop, version


def _results(client, product, **params):
    response = client.get(reverse("api:product-bought-together", kwargs={"pk": product.pk}), params)
    assert response.status_code == 200
    return response.json()["results"]


def test_purchases_imported_queue_one_debounced_build(shop):
    assert Interaction.objects.filter(event="purchase").exclude(order_id="").count() == 47  # 24 orders
    jobs = Job.objects.filter(kind=Job.Kind.BUILD_BOUGHT_TOGETHER)
    assert jobs.count() == 1 and jobs.get().run_after is not None


def test_build_stores_rules_and_activates_a_version(built):
    shop, version = built
    assert version.status == ModelVersion.Status.ACTIVE and version.artifact_checksum
    rule = AssociationRule.objects.get(model_version=version, antecedent=shop["milk"], consequent=shop["bread"])
    assert rule.baskets == 8
    assert rule.confidence == pytest.approx(8 / 12)  # milk is in 12 orders
    assert rule.support == pytest.approx(8 / 24)
    assert version.metrics["baskets"] == 24 and version.metrics["rules_stored"] >= 2


def test_product_api_says_signal_and_evidence_in_shopper_words(built, api_client):
    shop, _ = built
    results = _results(api_client, shop["milk"], limit=3)
    top = results[0]
    assert top["id"] == shop["bread"].pk and top["signal"] == "rules"
    assert top["evidence"] == "Bought together in 67 % of orders with this item"
    # Complements only (issue 23): cheese and butter share milk's leaf category (Food > Dairy), so they are
    # same-type items, not shown; the croissant comes from the learnt Dairy -> Bakery pattern.
    assert [(item["id"], item["signal"]) for item in results] == [
        (shop["bread"].pk, "rules"),
        (shop["croissant"].pk, "category"),
    ]
    assert results[1]["evidence"] == "Shoppers who buy Dairy often add Bakery"


def test_a_product_nobody_bought_gets_suggestions_from_its_own_part_of_the_catalog(built, api_client):
    shop, _ = built
    results = _results(api_client, shop["yogurt"], limit=4)
    assert results
    # No pair evidence: only the complements of its category (Dairy -> Bakery), never another dairy product.
    assert {item["id"] for item in results} == {shop["bread"].pk, shop["croissant"].pk}
    assert {item["signal"] for item in results} == {"category"}


def test_without_a_model_there_is_no_block_and_the_api_says_why(shop, api_client):
    """Issue 23: no same-category fallback (those are substitutes); no evidence, no block."""
    response = api_client.get(reverse("api:product-bought-together", kwargs={"pk": shop["milk"].pk}))
    assert response.json()["results"] == []
    assert response.json()["reason"].startswith("No orders have been analysed yet")


def test_basket_complete_names_the_item_behind_the_evidence(built, api_client):
    shop, _ = built
    url = reverse("api:basket-complete")
    response = api_client.post(url, {"product_ids": [shop["soap"].pk, shop["bread"].pk]}, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    by_id = {item["id"]: item for item in results}
    assert by_id[shop["butter"].pk]["evidence"] == "Bought together in 33 % of orders with Rye bread"
    assert shop["soap"].pk not in by_id and shop["bread"].pk not in by_id
    # The sponge shares the soap's leaf category (Home > Cleaning): a same-type item is never suggested.
    assert shop["sponge"].pk not in by_id and response.json()["reason"] is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "This field is required."),
        ({"product_ids": []}, "Ensure this field has at least 1 elements."),
        ({"product_ids": list(range(1, 102))}, "Ensure this field has no more than 100 elements."),
        ({"product_ids": ["x"]}, "A valid integer is required."),
        ({"product_ids": [999999]}, "unknown product id(s): 999999"),
    ],
)
def test_basket_complete_rejects_bad_input_with_a_field_message(shop, api_client, body, message):
    response = api_client.post(reverse("api:basket-complete"), body, format="json")
    assert response.status_code == 400
    assert message in str(response.json()["product_ids"])


def test_unknown_product_is_404_and_limit_is_checked(shop, api_client):
    assert api_client.get(reverse("api:product-bought-together", kwargs={"pk": 999999})).status_code == 404
    url = reverse("api:product-bought-together", kwargs={"pk": shop["milk"].pk})
    assert api_client.get(url, {"limit": 0}).status_code == 400


def test_admin_block_and_pin_win_over_the_model_at_once(built, client, staff, api_client):
    shop, _ = built
    client.force_login(staff)
    add = reverse("admin:recommend_pairoverride_add")
    response = client.post(
        add, {"product": shop["milk"].pk, "other": shop["bread"].pk, "action": "block", "both_ways": "on", "note": ""}
    )
    assert response.status_code == 302, response.content[:500]
    assert shop["bread"].pk not in [item["id"] for item in _results(api_client, shop["milk"])]
    assert shop["milk"].pk not in [item["id"] for item in _results(api_client, shop["bread"], limit=10)]
    client.post(add, {"product": shop["milk"].pk, "other": shop["sponge"].pk, "action": "pin", "note": "promo"})
    top = _results(api_client, shop["milk"])[0]
    assert (top["id"], top["signal"], top["evidence"]) == (shop["sponge"].pk, "pinned", "Recommended by our team")
    assert PairOverride.objects.get(other=shop["sponge"]).created_by == staff


def test_admin_rules_sort_filter_and_block_action(built, client, staff, api_client):
    shop, version = built
    client.force_login(staff)
    changelist = reverse("admin:recommend_associationrule_changelist")
    for params in ({"o": "-3"}, {"o": "5"}, {"q": "milk"}, {"category": shop["milk"].category.tree_id}):
        response = client.get(changelist, params)
        assert response.status_code == 200
    assert "Whole milk 1 l" in client.get(changelist, {"q": "Whole milk"}).content.decode()
    rule = AssociationRule.objects.get(model_version=version, antecedent=shop["soap"], consequent=shop["sponge"])
    response = client.post(changelist, {"action": "block_pairs", "_selected_action": [rule.pk]})
    assert response.status_code == 302
    assert shop["sponge"].pk not in [item["id"] for item in _results(api_client, shop["soap"])]


def test_admin_rebuild_button_queues_one_job(shop, client, staff):
    client.force_login(staff)
    Job.objects.filter(kind=Job.Kind.BUILD_BOUGHT_TOGETHER).delete()
    url = reverse("admin:recommend_associationrule_build")
    client.post(url)
    client.post(url)
    assert Job.objects.filter(kind=Job.Kind.BUILD_BOUGHT_TOGETHER).count() == 1


def test_product_page_block_and_cart_complete_the_basket(built, client):
    shop, _ = built
    page = client.get(reverse("storefront:product", kwargs={"pk": shop["milk"].pk})).content.decode()
    assert "Frequently bought together" in page and "Rye bread" in page
    response = client.post(reverse("storefront:cart-add"), {"product_id": shop["soap"].pk})
    assert response.status_code == 302
    cart = client.get(reverse("storefront:cart")).content.decode()
    # Soap's only pair is a same-type item and no category pattern holds: the block is hidden.
    assert "Dish soap" in cart and "Complete your basket" not in cart and "Kitchen sponge" not in cart
    client.post(reverse("storefront:cart-add"), {"product_id": shop["bread"].pk})
    cart = client.get(reverse("storefront:cart")).content.decode()
    assert "Complete your basket" in cart and "Whole milk 1 l" in cart
    for sku in ("soap", "bread"):
        client.post(reverse("storefront:cart-remove"), {"product_id": shop[sku].pk})
    assert "Your cart is empty" in client.get(reverse("storefront:cart")).content.decode()


def test_build_command_without_orders_says_why(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="No orders yet"):
        call_command("build_bought_together")
