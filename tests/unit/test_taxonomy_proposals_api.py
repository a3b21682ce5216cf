"""Taxonomy proposals: the REST API, the diff rules on plain rows, placing new products and the fit check."""
# ruff: noqa: F811  (the fixtures imported from tests.hierarchy_helpers are parameters here)

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.models import Product, ProductAttributeValue
from config.celery import app as celery_app
from recommend.hierarchy.diff import LiveCategory, compute_diff, names_agree
from recommend.hierarchy.maintenance import place_product, taxonomy_fit_check
from recommend.hierarchy.models import TaxonomyProposal
from recommend.hierarchy.services import changes_accept_all, proposal_apply, proposal_build_start
from recommend.hierarchy.tasks import scheduled_fit_check
from recommend.models import Job
from tests.factories import AttributeFactory, BrandFactory, ProductFactory, StaffFactory
from tests.hierarchy_helpers import built, catalog, fake_encoder  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db
LIST = reverse("api:taxonomy-proposal-list")


def client_for(user):
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def test_list_is_paginated_and_detail_has_tree_changes_and_attributes(built, staff_api_client):
    body = staff_api_client.get(LIST).json()
    assert body["count"] == 1 and body["results"][0]["id"] == built.pk
    assert body["results"][0]["status"] == "ready" and body["results"][0]["change_count"] == built.changes.count()
    detail = staff_api_client.get(reverse("api:taxonomy-proposal-detail", args=[built.pk])).json()
    assert len(detail["tree"]) == len(built.tree)
    assert {"key", "parent_key", "label", "size", "examples", "cohesion", "category_id"} <= set(detail["tree"][0])
    assert "product_ids" not in detail["tree"][0]
    assert len(detail["changes"]) == built.changes.count()
    assert {"kind", "summary", "product_count", "product_ids", "decision"} <= set(detail["changes"][0])
    assert detail["attributes"]["groups"]


def test_create_answers_202_with_the_job(catalog, tree, staff_api_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_api_client.post(LIST, {"scope": tree["clothing"].pk, "depth": 2}, format="json")
    assert response.status_code == 202
    proposal = TaxonomyProposal.objects.get(pk=response.json()["proposal"])
    assert response.json()["job"]["id"] == proposal.job_id and proposal.scope == tree["clothing"]
    assert Job.objects.get(pk=proposal.job_id).kind == Job.Kind.BUILD_HIERARCHY


def test_create_rejects_bad_input_with_field_messages(catalog, staff_api_client):
    response = staff_api_client.post(LIST, {"scope": 999999, "depth": 0}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"scope", "depth"}
    assert not TaxonomyProposal.objects.exists() and not Job.objects.exists()


def test_only_staff_with_taxonomy_permissions(built, shopper, api_client):
    assert api_client.get(LIST).status_code in (401, 403)
    assert client_for(shopper).get(LIST).status_code == 403
    plain_staff = StaffFactory(username="plain", is_superuser=False)
    assert client_for(plain_staff).get(LIST).status_code == 403
    assert client_for(plain_staff).post(LIST, {}, format="json").status_code == 403
    for codename in ("add_category", "change_category"):
        plain_staff.user_permissions.add(Permission.objects.get(codename=codename))
    allowed = StaffFactory._meta.model.objects.get(pk=plain_staff.pk)  # a fresh user: no cached permissions
    assert client_for(allowed).get(reverse("api:taxonomy-proposal-detail", args=[built.pk])).status_code == 200


def rows(*items):
    return [LiveCategory(pk=pk, parent_id=parent, name=name, level=level) for pk, parent, name, level in items]


def node(key, parent, label, ids, level=1):
    return {
        "key": key,
        "parent_key": parent,
        "level": level,
        "label": label,
        "size": len(ids),
        "examples": [],
        "product_ids": ids,
    }


def test_diff_rules_new_rename_move_merge_split():
    # Live: Clothing(1) > Shirts(2), Tees(3); Gadgets(4) > Radios(5) holding shoes by mistake.
    live = rows(
        (1, None, "Clothing", 0), (2, 1, "Shirts", 1), (3, 1, "Tees", 1), (4, None, "Gadgets", 0), (5, 4, "Radios", 1)
    )
    where = {1: 2, 2: 2, 3: 2, 4: 3, 5: 5, 6: 5, 7: 5, 8: 5}
    nodes = [
        node("0.0", None, "Clothing", [1, 2, 3, 4], level=0),
        node("0.1", None, "Gadgets", [5, 6], level=0),
        node("0.2", None, "Shoes", [7, 8], level=0),
        node("1.0", "0.0", "Shirts", [1, 2, 3, 4]),  # Tees' one product joins Shirts: a merge
        node("1.1", "0.1", "Receivers", [5, 6]),  # Radios renamed (a label saying "Radio" would not be)
        node("1.2", "0.2", "Sneakers", [7, 8]),  # Radios' shoes go to a new category: a split of Radios
    ]
    matched, changes = compute_diff(nodes, where, live, scope_id=None, base_level=0)
    assert matched == {"0.0": 1, "0.1": 4, "1.0": 2, "1.1": 5}
    kinds = {(change.kind, change.node_key) for change in changes}
    assert kinds == {("new", "0.2"), ("new", "1.2"), ("rename", "1.1"), ("merge", "1.0"), ("split", "1.1")}
    merge = next(change for change in changes if change.kind == "merge")
    assert (merge.source_id, merge.target_id, merge.moves) == (3, 2, {"1.0": [4]})
    split = next(change for change in changes if change.kind == "split")
    assert split.target_id == 5 and split.moves == {"1.2": [7, 8]} and "Split “Radios”" in split.summary
    new_leaf = next(change for change in changes if change.kind == "new" and change.node_key == "1.2")
    assert new_leaf.product_ids == [7, 8] and "under “Shoes”" in new_leaf.summary


def test_diff_moves_a_category_whose_parent_differs():
    # Sneakers sit under Clothing, but the proposal puts them under Shoes (which holds most of the products).
    live = rows((1, None, "Clothing", 0), (2, None, "Shoes", 0), (3, 1, "Sneakers", 1))
    where = {1: 3, 2: 3, 3: 3, 4: 2, 5: 2, 6: 2, 7: 2}
    nodes = [
        node("0.0", None, "Shoes", [1, 2, 3, 4, 5, 6, 7], level=0),
        node("1.0", "0.0", "Sneakers", [1, 2, 3]),
        node("1.1", "0.0", "Boots", [4, 5, 6, 7]),
    ]
    matched, changes = compute_diff(nodes, where, live, scope_id=None, base_level=0)
    assert matched == {"0.0": 2, "1.0": 3}
    move = next(change for change in changes if change.kind == "move")
    assert move.target_id == 3 and move.summary == "Move “Sneakers” from “Clothing” to “Shoes”"
    assert next(change for change in changes if change.kind == "new").product_ids == [4, 5, 6, 7]


def test_place_product_uses_the_applied_trees_centroids(built):
    changes_accept_all(proposal=built)
    proposal_apply(proposal=built)
    reference = Product.objects.get(title="Red cotton shirt slim fit")
    newcomer = ProductFactory(title="Purple cotton shirt slim fit", category=None)
    category, similarity = place_product(newcomer)
    newcomer.refresh_from_db()
    assert category is not None and newcomer.category_id == category.pk == reference.category_id
    assert newcomer.category_source == Product.CategorySource.AUTOMATIC and newcomer.needs_review
    assert 0 < similarity <= 1.0001


def test_place_product_without_an_applied_tree_does_nothing(built):
    newcomer = ProductFactory(title="Purple cotton shirt slim fit", category=None)
    assert place_product(newcomer) == (None, 0.0)
    newcomer.refresh_from_db()
    assert newcomer.category_id is None


def test_fit_check_proposes_a_rebuild_when_many_new_products_fit_nowhere(
    catalog, settings, django_capture_on_commit_callbacks
):
    Product.objects.update(created_at=timezone.now() - timedelta(days=30))
    settings.TAXONOMY_FIT_MIN_PRODUCTS = 5
    report = taxonomy_fit_check(create=False)
    assert report.recent == 0 and report.proposal is None
    garden = BrandFactory(name="Greenfield")
    for title in ["garden hose", "lawn mower", "hedge trimmer", "garden rake", "leaf blower", "watering can"]:
        ProductFactory(title=f"Green {title} outdoor", category=None, brand=garden)
    with django_capture_on_commit_callbacks(execute=True):
        report = taxonomy_fit_check()
    assert report.recent == 6 and report.misfits == 6
    proposal = report.proposal
    assert proposal.origin == TaxonomyProposal.Origin.AUTOMATIC and "6 of 6 products" in proposal.reason
    assert "fit no category well" in proposal.reason
    proposal.refresh_from_db()
    assert proposal.status == TaxonomyProposal.Status.READY  # built, never applied
    assert taxonomy_fit_check().proposal == proposal  # a second check does not pile up proposals
    assert TaxonomyProposal.objects.count() == 1


def test_fit_check_runs_from_beat_as_a_job_and_from_the_command(
    catalog, tree, capsys, django_capture_on_commit_callbacks
):
    Product.objects.update(created_at=timezone.now() - timedelta(days=30))
    for colour in ("Yellow", "Purple"):
        ProductFactory(
            title=f"{colour} cotton shirt slim fit", category=tree["shirts"], brand=catalog["shirts"][0].brand
        )
    assert celery_app.conf.beat_schedule["check-taxonomy-fit"]["task"] == "recommend.hierarchy.scheduled_fit_check"
    with django_capture_on_commit_callbacks(execute=True):
        job_id = scheduled_fit_check()
    job = Job.objects.get(pk=job_id)
    assert job.kind == Job.Kind.CHECK_TAXONOMY_FIT and job.status == Job.Status.DONE
    assert job.result == {**job.result, "recent": 2, "misfits": 0, "proposal": None}  # new shirts fit Shirts
    call_command("check_taxonomy_fit", "--dry-run")
    assert "0 of 2 products added in the last 7 days" in capsys.readouterr().out


@pytest.mark.parametrize("depth", [1, 3])
def test_other_depths_build_a_tree_of_that_depth(catalog, depth, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        proposal = proposal_build_start(depth=depth)
    proposal.refresh_from_db()
    assert proposal.status == TaxonomyProposal.Status.READY
    assert {node["level"] for node in proposal.tree} == set(range(depth))
    assert sum(node["size"] for node in proposal.tree if node["level"] == depth - 1) == 48


def test_attributes_from_specifications_are_linked_to_the_proposed_categories(
    catalog, django_capture_on_commit_callbacks
):
    colour = AttributeFactory(name="Colour")
    for product in catalog["shirts"]:
        ProductAttributeValue.objects.create(product=product, attribute=colour, value=product.title.split()[0])
    with django_capture_on_commit_callbacks(execute=True):
        proposal = proposal_build_start(depth=2)
    proposal.refresh_from_db()
    mined = {
        attribute["name"]: attribute for group in proposal.attributes["groups"] for attribute in group["attributes"]
    }
    assert set(mined["Colour"]["values"]) == {"red", "blue", "black", "green"} and mined["Colour"]["products"] == 12
    shirt_leaves = {
        node["key"]
        for node in proposal.tree
        if node["level"] == 1 and set(node["product_ids"]) & {p.pk for p in catalog["shirts"]}
    }
    links = [link for link in proposal.attribute_links if link["attribute"] == "Colour"]
    assert links and {link["node_key"] for link in links} <= shirt_leaves
    assert all(0.3 <= link["coverage"] <= 1.0 for link in links)


def test_a_rename_is_suggested_only_when_the_node_does_not_say_the_live_name():
    assert names_agree("Eyewear", {"label": "Sunglasses / Eyewear", "terms": ["sunglasses", "eyewear"]})
    assert names_agree("Watches", {"label": "Dial / Analog", "terms": ["dial", "watch"]})
    assert not names_agree("Apparel", {"label": "T-Shirt / Men", "terms": ["t-shirt", "men"]})


def test_a_new_product_without_category_is_placed_at_once_after_an_apply(built, django_capture_on_commit_callbacks):
    changes_accept_all(proposal=built)
    proposal_apply(proposal=built)
    reference = Product.objects.get(title="Red cotton shirt slim fit")
    with django_capture_on_commit_callbacks(execute=True):
        newcomer = ProductFactory(title="Purple cotton shirt slim fit", category=None)
    newcomer.refresh_from_db()
    assert newcomer.category_id == reference.category_id
    assert newcomer.category_source == Product.CategorySource.AUTOMATIC


def test_with_the_broker_down_the_placement_is_kept_as_a_job_that_places_the_product(
    built, settings, monkeypatch, django_capture_on_commit_callbacks
):
    import kombu.exceptions

    from recommend.core.jobs import DEFERRED, job_run
    from recommend.hierarchy.tasks import place_new_product

    def refused(*args, **kwargs):
        raise kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    changes_accept_all(proposal=built)
    proposal_apply(proposal=built)
    reference = Product.objects.get(title="Red cotton shirt slim fit")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(place_new_product, "apply_async", refused)
    with django_capture_on_commit_callbacks(execute=True):
        newcomer = ProductFactory(title="Purple cotton shirt slim fit", category=None)

    job = Job.objects.get(kind=Job.Kind.PLACE_PRODUCTS)
    assert job.params == {"product_ids": [newcomer.pk]} and job.message.startswith(DEFERRED)
    assert Product.objects.get(pk=newcomer.pk).category_id is None

    job = job_run(job_id=job.pk)  # what a worker does once the sweep has sent it

    assert job.status == "done" and job.result == {"placed": 1, "products": 1}
    assert Product.objects.get(pk=newcomer.pk).category_id == reference.category_id
