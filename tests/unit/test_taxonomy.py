"""Category paths, tree moves and attribute rules."""

import pytest
from django.core.exceptions import ValidationError

from taxonomy.models import AttributeNode, Category
from taxonomy.selectors import category_tree
from taxonomy.services import CategoryPathResolver, category_create, category_move
from tests.factories import AttributeFactory

pytestmark = pytest.mark.django_db


def test_resolver_creates_each_path_once_and_builds_a_valid_tree():
    resolver = CategoryPathResolver()
    ids = resolver.resolve_many([("Clothing", "Men", "Shirts"), ("Clothing", "Women"), ("Clothing", "Men")])
    resolver.finish()

    shirts = Category.objects.get(pk=ids[("Clothing", "Men", "Shirts")])
    assert shirts.path == ["Clothing", "Men", "Shirts"]
    assert Category.objects.count() == 4
    assert ids[("Clothing", "Men")] == shirts.parent_id


def test_resolver_reuses_existing_nodes_case_insensitively():
    first = CategoryPathResolver()
    first.resolve_many([("Clothing", "Men")])
    first.finish()
    second = CategoryPathResolver()
    second.resolve_many([("clothing", "MEN"), ("Clothing", "Kids")])
    second.finish()

    assert Category.objects.count() == 3


def test_sibling_slugs_are_made_unique():
    resolver = CategoryPathResolver()
    resolver.resolve_many([("Shoes", "Men's"), ("Shoes", "Mens")])
    resolver.finish()

    slugs = sorted(Category.objects.filter(parent__name="Shoes").values_list("slug", flat=True))
    assert slugs == ["mens", "mens-2"]


def test_move_refuses_to_put_a_node_inside_its_own_subtree(tree):
    with pytest.raises(ValueError, match="itself or one of its descendants"):
        category_move(category=tree["clothing"], target=tree["shirts"])


def test_move_takes_the_subtree_along(tree):
    category_move(category=tree["men"], target=tree["electronics"])

    tree["shirts"].refresh_from_db()
    assert tree["shirts"].path == ["Electronics", "Men", "Shirts"]


def test_category_create_validates_and_slugs(tree):
    category = category_create(name="Jackets & Coats", parent=tree["men"])

    assert category.slug == "jackets-coats"
    assert category.path == ["Clothing", "Men", "Jackets & Coats"]


def test_category_tree_nests_children_in_one_query(tree, django_assert_num_queries):
    with django_assert_num_queries(1):
        roots = category_tree()

    clothing = next(node for node in roots if node["name"] == "Clothing")
    assert [child["name"] for child in clothing["children"]] == ["Men", "Women"]
    assert clothing["children"][0]["children"][0]["name"] == "Shirts"


def test_a_value_must_sit_under_an_attribute():
    group = AttributeNode.objects.create(kind="group", name="Style", slug="style")
    value = AttributeNode(kind="value", name="Red", slug="red", parent=group)

    with pytest.raises(ValidationError, match="cannot be placed under a group"):
        value.full_clean()


def test_an_attribute_needs_a_data_type():
    attribute = AttributeFactory.build(data_type="")

    with pytest.raises(ValidationError) as error:
        attribute.full_clean()
    assert "data_type" in error.value.message_dict
