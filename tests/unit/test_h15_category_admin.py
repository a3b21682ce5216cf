"""Category tree admin (issue 15 point 6): one level per page, search with paths, Move to…, undo."""

import re

import pytest
from django.contrib.admin.sites import site
from django.urls import reverse

from catalog.models import Product
from taxonomy.models import Category, CategoryEdit
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:taxonomy_category_changelist"


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def names(response):
    return [category.name for category in response.context["cl"].result_list]


def undo_url(response):
    text = " ".join(str(message) for message in response.context["messages"])
    return re.search(r'href="([^"]+/undo/\d+/)"', text).group(1)


def test_pages_of_the_tree_list_each_root_once(admin_client, tree, monkeypatch):
    for index in range(3):
        root = CategoryFactory(name=f"Root {index}")
        CategoryFactory.create_batch(3, parent=root)
    monkeypatch.setattr(site._registry[Category], "list_per_page", 3)

    first = names(admin_client.get(reverse(CHANGELIST)))
    second = names(admin_client.get(reverse(CHANGELIST), {"p": 2}))

    assert len(first) == 3 and len(second) == 2
    assert not set(first) & set(second)
    assert set(first + second) == set(Category.objects.filter(parent=None).values_list("name", flat=True))


def test_opening_a_node_lists_its_children(admin_client, tree):
    response = admin_client.get(reverse(CHANGELIST), {"parent": tree["clothing"].pk})

    assert sorted(names(response)) == ["Men", "Women"]
    assert b"1 below" in response.content  # Men has one subcategory to open


def test_search_finds_nodes_at_any_depth_with_their_path(admin_client, tree):
    response = admin_client.get(reverse(CHANGELIST), {"q": "shirts"})

    assert names(response) == ["Shirts"]
    assert "Clothing › Men" in response.content.decode()


def test_move_to_asks_for_a_parent_moves_and_can_be_undone(admin_client, tree):
    selected = {"action": "move_to", "_selected_action": [tree["men"].pk]}

    form_page = admin_client.post(reverse(CHANGELIST), selected)
    done = admin_client.post(
        reverse(CHANGELIST), {**selected, "apply": "1", "target": tree["electronics"].pk}, follow=True
    )

    assert b"admin-autocomplete" in form_page.content
    assert Category.objects.get(pk=tree["shirts"].pk).path == ["Electronics", "Men", "Shirts"]
    admin_client.post(undo_url(done))
    assert Category.objects.get(pk=tree["shirts"].pk).path == ["Clothing", "Men", "Shirts"]
    assert CategoryEdit.objects.get().undone_at is not None


def test_the_edit_form_picks_the_parent_by_search_not_from_every_node(admin_client, tree):
    CategoryFactory.create_batch(30)

    page = admin_client.get(reverse("admin:taxonomy_category_change", args=[tree["men"].pk])).content.decode()

    parent_select = re.search(r'<select name="parent".*?</select>', page, re.S).group(0)
    assert "admin-autocomplete" in parent_select
    assert parent_select.count("<option") <= 2  # the current parent only, the rest on demand


def test_a_rename_in_the_edit_form_can_be_undone(admin_client, tree):
    url = reverse("admin:taxonomy_category_change", args=[tree["men"].pk])
    data = {"name": "Gents", "slug": "gents", "parent": tree["clothing"].pk, "description": "", "is_active": "on"}

    done = admin_client.post(url, data, follow=True)
    admin_client.post(undo_url(done))

    men = Category.objects.get(pk=tree["men"].pk)
    assert (men.name, men.slug) == ("Men", "men")


def test_drag_and_drop_moves_are_recorded_for_undo(admin_client, tree):
    admin_client.post(
        reverse(CHANGELIST),
        {
            "cmd": "move_node",
            "cut_item": tree["women"].pk,
            "pasted_on": tree["electronics"].pk,
            "position": "last-child",
        },
    )

    edit = CategoryEdit.objects.get()
    admin_client.post(reverse("admin:taxonomy_category_undo", args=[edit.pk]))

    assert Category.objects.get(pk=tree["women"].pk).parent_id == tree["clothing"].pk


def test_merge_moves_products_and_subcategories_and_undo_puts_them_back(admin_client, tree):
    mens = ProductFactory.create_batch(2, category=tree["men"], category_source="imported")
    selected = {"action": "merge_into", "_selected_action": [tree["men"].pk]}

    done = admin_client.post(reverse(CHANGELIST), {**selected, "apply": "1", "target": tree["women"].pk}, follow=True)

    assert set(Product.objects.values_list("category_id", flat=True)) == {tree["women"].pk}
    assert Category.objects.get(pk=tree["shirts"].pk).parent_id == tree["women"].pk
    assert not Category.objects.get(pk=tree["men"].pk).is_active
    admin_client.post(undo_url(done))
    assert set(Product.objects.values_list("category_id", "category_source")) == {(tree["men"].pk, "imported")}
    assert Category.objects.get(pk=tree["shirts"].pk).parent_id == tree["men"].pk
    assert Category.objects.get(pk=tree["men"].pk).is_active and len(mens) == 2


def test_undo_is_confirmed_on_a_page_before_it_changes_anything(admin_client, tree):
    admin_client.post(
        reverse(CHANGELIST),
        {
            "cmd": "move_node",
            "cut_item": tree["women"].pk,
            "pasted_on": tree["electronics"].pk,
            "position": "last-child",
        },
    )
    edit = CategoryEdit.objects.get()

    page = admin_client.get(reverse("admin:taxonomy_category_undo", args=[edit.pk]))

    assert page.status_code == 200 and b'value="Undo"' in page.content
    assert Category.objects.get(pk=tree["women"].pk).parent_id == tree["electronics"].pk
