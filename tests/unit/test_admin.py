"""The admin as staff use it: changelists, drag-and-drop moves, bulk actions, the import form."""

import pytest
from django.urls import reverse

from catalog.models import Product
from recommend.models import Job
from taxonomy.models import Category
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:taxonomy_category_changelist",
        "admin:taxonomy_attributenode_changelist",
        "admin:catalog_product_changelist",
        "admin:catalog_brand_changelist",
        "admin:catalog_interaction_changelist",
        "admin:recommend_job_changelist",
        "admin:recommend_modelversion_changelist",
        "admin:recommend_job_import",
    ],
)
def test_changelists_render(admin_client, tree, url_name):
    assert admin_client.get(reverse(url_name)).status_code == 200


def test_category_changelist_counts_products_of_the_subtree(admin_client, tree):
    ProductFactory.create_batch(2, category=tree["shirts"])
    ProductFactory(category=tree["women"])

    response = admin_client.get(reverse("admin:taxonomy_category_changelist"), {"parent": "all"})

    counts = {c.name: c.products_total for c in response.context["cl"].result_list}
    assert counts["Clothing"] == 3 and counts["Men"] == 2 and counts["Electronics"] == 0


def test_drag_and_drop_moves_a_subtree(admin_client, tree):
    response = admin_client.post(
        reverse("admin:taxonomy_category_changelist"),
        {"cmd": "move_node", "cut_item": tree["men"].pk, "pasted_on": tree["electronics"].pk, "position": "last-child"},
    )

    assert response.content.startswith(b"OK")
    assert Category.objects.get(pk=tree["shirts"].pk).path == ["Electronics", "Men", "Shirts"]


def test_drag_and_drop_refuses_a_slug_clash_among_new_siblings(admin_client, tree):
    Category.objects.create(name="Men", slug="men", parent=tree["electronics"])

    response = admin_client.post(
        reverse("admin:taxonomy_category_changelist"),
        {"cmd": "move_node", "cut_item": tree["men"].pk, "pasted_on": tree["electronics"].pk, "position": "last-child"},
    )

    assert response.content.startswith(b"FAIL")
    assert Category.objects.get(pk=tree["men"].pk).parent == tree["clothing"]


def test_product_changelist_filters_by_category_subtree(admin_client, tree):
    inside = ProductFactory(category=tree["shirts"])
    ProductFactory(category=tree["electronics"])

    response = admin_client.get(reverse("admin:catalog_product_changelist"), {"category_subtree": tree["clothing"].pk})

    assert list(response.context["cl"].result_list) == [inside]


def test_bulk_move_action_asks_for_a_category_then_moves(admin_client, tree):
    products = ProductFactory.create_batch(3, category=tree["women"])
    url = reverse("admin:catalog_product_changelist")
    selected = {"action": "move_to_category", "_selected_action": [p.pk for p in products]}

    form_page = admin_client.post(url, selected)
    assert form_page.status_code == 200 and b"Move products" in form_page.content

    done = admin_client.post(url, {**selected, "apply": "1", "category": tree["shirts"].pk}, follow=True)

    assert b"Moved 3 products" in done.content
    assert set(Product.objects.values_list("category_id", "category_source")) == {(tree["shirts"].pk, "manual")}


def test_category_search_as_you_type_answers_whole_paths(admin_client, tree):
    CategoryFactory(name="Womenswear (retired)", is_active=False)
    params = {"app_label": "catalog", "model_name": "product", "field_name": "category", "term": "wom"}

    results = admin_client.get("/admin/autocomplete/", params).json()["results"]

    assert results == [{"id": str(tree["women"].pk), "text": "Clothing > Women"}]


def test_bulk_move_without_a_category_changes_nothing(admin_client, tree):
    product = ProductFactory(category=tree["women"])
    url = reverse("admin:catalog_product_changelist")

    response = admin_client.post(url, {"action": "move_to_category", "_selected_action": [product.pk], "apply": "1"})

    assert b"This field is required" in response.content
    assert Product.objects.get(pk=product.pk).category == tree["women"]


def test_editing_a_category_in_the_product_form_marks_it_manual(admin_client, tree):
    product = ProductFactory(category=tree["women"], category_source="imported")
    url = reverse("admin:catalog_product_change", args=[product.pk])
    data = {
        "sku": product.sku,
        "title": product.title,
        "brand": product.brand_id,
        "is_active": "on",
        "price": "10.00",
        "currency": "USD",
        "category": tree["men"].pk,
        "category_source": "imported",
        "attribute_values-TOTAL_FORMS": "0",
        "attribute_values-INITIAL_FORMS": "0",
    }

    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert Product.objects.get(pk=product.pk).category_source == "manual"


def test_interactions_are_read_only_in_admin(admin_client, db):
    assert admin_client.get(reverse("admin:catalog_interaction_add")).status_code == 403


def test_import_form_starts_a_job_and_reports_bad_input(
    admin_client, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.SHOP_DATA_DIR = tmp_path  # empty: the job fails with a clear message
    url = reverse("admin:recommend_job_import")

    assert b"Select a valid choice" in admin_client.post(url, {"preset": "nope"}).content
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"preset": "groceries"}, follow=True)

    job = Job.objects.get()
    assert b"queued" in response.content
    assert job.status == "failed" and "Data file not found" in job.error
