"""Taxonomy proposals (issue 10): build job, review page, decisions, apply, undo, permissions, command.

A hashed bag-of-words encoder replaces the sentence encoder and the catalog has four obvious groups (see
tests/hierarchy_helpers.py), so a build takes about a second. API and maintenance: test_taxonomy_proposals_api.py.
"""
# ruff: noqa: F811  (the fixtures imported from tests.hierarchy_helpers are parameters here)

import html

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.urls import reverse

from catalog.models import Product
from recommend.core.jobs import job_run
from recommend.hierarchy import apply as apply_module
from recommend.hierarchy.apply import category_rows
from recommend.hierarchy.models import ProposalChange, TaxonomyProposal
from recommend.hierarchy.services import changes_accept_all, proposal_apply, proposal_build_start, proposal_undo
from recommend.models import Job, ModelVersion
from taxonomy.models import Category
from taxonomy.services import category_rename
from tests.factories import CategoryFactory, StaffFactory
from tests.hierarchy_helpers import built, catalog, fake_encoder  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def product_rows():
    return list(Product.objects.order_by("pk").values_list("pk", "category_id", "needs_review", "category_source"))


def review(client, proposal):
    return client.get(reverse("admin:recommend_taxonomyproposal_review", args=[proposal.pk]))


def post(client, name, proposal, data=None):
    return client.post(reverse(f"admin:recommend_taxonomyproposal_{name}", args=[proposal.pk]), data or {})


def test_build_job_stores_a_labelled_tree_and_its_changes(built):
    job = Job.objects.get(pk=built.job_id)
    assert job.status == Job.Status.DONE and job.queue == "training"
    assert built.status == TaxonomyProposal.Status.READY
    leaves = [node for node in built.tree if node["level"] == 1]
    assert sum(node["size"] for node in leaves) == 48  # every product in exactly one leaf
    assert sorted(pk for node in leaves for pk in node["product_ids"]) == sorted(
        Product.objects.values_list("pk", flat=True)
    )
    for node in built.tree:
        assert node["label"] and 1 <= len(node["examples"]) <= 3 and node["size"] == len(node["product_ids"])
        assert node["level"] == 0 or node["parent_key"] in built.nodes_by_key
    assert built.changes.exists()
    assert {change.kind for change in built.changes.all()} <= set(ProposalChange.Kind.values)
    version = ModelVersion.objects.get(pk=built.stats["model_version"])
    assert version.kind == ModelVersion.Kind.HIERARCHY and version.status == ModelVersion.Status.READY
    assert built.attributes["groups"]  # colours spread over every group: mined from the titles


def test_rerun_of_the_same_job_replaces_its_own_rows(built):
    changes = sorted(built.changes.values_list("kind", "summary"))
    # The worker died before it marked the job done: the sweep queues it again and it runs a second time.
    TaxonomyProposal.objects.filter(pk=built.pk).update(status=TaxonomyProposal.Status.BUILDING)
    Job.objects.filter(pk=built.job_id).update(status=Job.Status.QUEUED)
    job_run(job_id=built.job_id)
    assert TaxonomyProposal.objects.filter(job_id=built.job_id).count() == 1
    proposal = TaxonomyProposal.objects.get(job_id=built.job_id)
    assert sorted(proposal.changes.values_list("kind", "summary")) == changes
    assert ModelVersion.objects.filter(kind=ModelVersion.Kind.HIERARCHY).count() == 1


def test_a_late_rerun_never_replaces_staff_decisions(built):
    changes_accept_all(proposal=built)
    decided = sorted(built.changes.values_list("pk", "decision"))
    Job.objects.filter(pk=built.job_id).update(status=Job.Status.QUEUED)
    job = job_run(job_id=built.job_id)
    assert "skipped" in job.result and sorted(built.changes.values_list("pk", "decision")) == decided


def test_review_page_shows_both_trees_with_labels_sizes_examples_and_changes(built, client, staff):
    client.force_login(staff)
    page = review(client, built).content.decode()
    for node in built.tree:
        assert html.escape(node["label"]) in page
        assert f"({node['size']} products)" in page
        for title in node["examples"]:
            assert html.escape(title) in page
    assert "Live tree" in page and "Shirts" in page and "Electronics" in page
    for change in built.changes.all():
        assert html.escape(change.summary) in page
    assert "Accept all pending changes" in page


def test_list_page_offers_the_build_and_shows_the_progress(built, client, staff):
    client.force_login(staff)
    page = client.get(reverse("admin:recommend_taxonomyproposal_changelist")).content.decode()
    assert "Build taxonomy proposal" in page and f"#{built.pk} review" in page


def test_build_form_creates_a_job_for_a_subtree(catalog, tree, client, staff, django_capture_on_commit_callbacks):
    client.force_login(staff)
    url = reverse("admin:recommend_taxonomyproposal_build")
    assert "Build taxonomy proposal" in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"scope": tree["clothing"].pk, "depth": 2})
    assert response.status_code == 302
    proposal = TaxonomyProposal.objects.get()
    assert proposal.scope == tree["clothing"] and proposal.status == TaxonomyProposal.Status.READY
    clothing_products = set(
        Product.objects.filter(category__tree_id=tree["clothing"].tree_id).values_list("pk", flat=True)
    )
    assert {pk for node in proposal.tree if node["level"] == 0 for pk in node["product_ids"]} == clothing_products


def test_build_form_rejects_a_bad_depth_and_starts_nothing(catalog, client, staff):
    client.force_login(staff)
    response = client.post(reverse("admin:recommend_taxonomyproposal_build"), {"depth": 9})
    assert response.status_code == 200 and "Ensure this value is less than or equal to 5" in response.content.decode()
    assert not Job.objects.filter(kind=Job.Kind.BUILD_HIERARCHY).exists()


def test_staff_rename_a_node_and_drop_a_change(built, client, staff):
    client.force_login(staff)
    new = built.changes.filter(kind=ProposalChange.Kind.NEW).first()
    post(client, "rename", built, {"key": new.node_key, "name": "  Sneakers  "})
    new.refresh_from_db()
    built.refresh_from_db()
    assert new.name == "Sneakers" and built.nodes_by_key[new.node_key]["label"] == "Sneakers"
    post(client, "decide", built, {"change": new.pk, "decision": "dropped"})
    new.refresh_from_db()
    assert new.decision == ProposalChange.Decision.DROPPED
    response = post(client, "rename", built, {"key": new.node_key, "name": "   "})
    assert response.status_code == 302
    assert "cannot be empty" in review(client, built).content.decode()
    built.refresh_from_db()
    assert built.nodes_by_key[new.node_key]["label"] == "Sneakers"  # nothing changed on error


def test_apply_moves_every_product_into_its_node_and_undo_restores_exactly(built, client, staff):
    client.force_login(staff)
    tree_before, products_before = category_rows(), product_rows()
    post(client, "decide", built, {"all": "accept"})
    assert (
        "Yes, apply" in client.get(reverse("admin:recommend_taxonomyproposal_apply", args=[built.pk])).content.decode()
    )
    post(client, "apply", built)
    built.refresh_from_db()
    assert built.status == TaxonomyProposal.Status.APPLIED and built.applied_by == staff
    resolved = built.snapshot["node_categories"]
    for node in (n for n in built.tree if n["level"] == 1):  # in the node's category, or deeper live ones below
        for product in Product.objects.filter(pk__in=node["product_ids"]).select_related("category"):
            assert resolved[node["key"]] in [c.pk for c in product.category.get_ancestors(include_self=True)]
    created = Category.objects.filter(pk__in=built.snapshot["created"])
    assert created.exists() and set(created.values_list("source", flat=True)) == {Category.Source.PROPOSED}
    for node in built.tree:  # the tree follows the proposal: each node's category sits under its parent's
        if node["parent_key"]:
            assert Category.objects.get(pk=resolved[node["key"]]).parent_id == resolved[node["parent_key"]]
    assert ModelVersion.objects.get(pk=built.stats["model_version"]).status == ModelVersion.Status.ACTIVE
    post(client, "undo", built)
    built.refresh_from_db()
    assert built.status == TaxonomyProposal.Status.UNDONE
    assert category_rows() == tree_before
    assert product_rows() == products_before


def test_apply_is_one_transaction(built, monkeypatch):
    changes_accept_all(proposal=built)
    tree_before, products_before = category_rows(), product_rows()

    def broken(targets):
        raise RuntimeError("disk full")

    monkeypatch.setattr(apply_module, "_move_products", broken)
    with pytest.raises(RuntimeError):
        proposal_apply(proposal=built)
    assert category_rows() == tree_before and product_rows() == products_before
    built.refresh_from_db()
    assert built.status == TaxonomyProposal.Status.READY


def test_only_accepted_changes_are_applied(built, tree):
    changes_accept_all(proposal=built)
    dropped = built.changes.filter(kind=ProposalChange.Kind.RENAME)
    names = {change.target_id: change.target.name for change in dropped}
    dropped.update(decision=ProposalChange.Decision.DROPPED)
    proposal_apply(proposal=built)
    for pk, name in names.items():
        assert Category.objects.get(pk=pk).name == name


def test_undo_is_refused_once_the_tree_was_edited(built, client, staff, tree):
    client.force_login(staff)
    changes_accept_all(proposal=built)
    proposal_apply(proposal=built)
    category_rename(category=Category.objects.get(pk=tree["shirts"].pk), name="Tops")
    post(client, "undo", built)
    built.refresh_from_db()
    assert built.status == TaxonomyProposal.Status.APPLIED
    page = review(client, built).content.decode()
    assert "edited after this proposal was applied" in page and "Tops" in page


def test_apply_without_accepted_changes_says_so(built, client, staff):
    client.force_login(staff)
    post(client, "apply", built)
    assert "No change is accepted" in review(client, built).content.decode()
    built.refresh_from_db()
    assert built.status == TaxonomyProposal.Status.READY


def test_staff_without_taxonomy_permissions_get_403(built, client):
    viewer = StaffFactory(username="viewer", is_superuser=False)
    viewer.user_permissions.add(Permission.objects.get(codename="view_taxonomyproposal"))
    client.force_login(viewer)
    assert review(client, built).status_code == 200  # may look
    assert "Accept all" not in review(client, built).content.decode()
    tree_before = category_rows()
    assert client.get(reverse("admin:recommend_taxonomyproposal_build")).status_code == 403
    assert post(client, "decide", built, {"all": "accept"}).status_code == 403
    assert post(client, "apply", built).status_code == 403
    assert post(client, "undo", built).status_code == 403
    assert not built.changes.filter(decision=ProposalChange.Decision.ACCEPTED).exists()
    assert category_rows() == tree_before


def test_shoppers_cannot_open_the_review_page(built, client, shopper):
    client.force_login(shopper)
    assert review(client, built).status_code == 302  # the admin's login page


def test_apply_queues_one_classifier_retrain_and_similar_refresh(built, monkeypatch):
    from recommend.classification import receivers as classification_receivers
    from recommend.similarity import receivers as similarity_receivers

    calls = []
    monkeypatch.setattr(classification_receivers, "classifier_active", lambda: True)
    monkeypatch.setattr(classification_receivers, "classifier_retrain_queue", lambda reason: calls.append(reason))
    monkeypatch.setattr(similarity_receivers, "similar_items_active", lambda: True)
    changes_accept_all(proposal=built)
    proposal_apply(proposal=built)
    assert calls == ["taxonomy move"]
    assert Job.objects.filter(kind=Job.Kind.BUILD_SIMILAR, status=Job.Status.QUEUED).count() == 1


def test_build_command_waits_and_reports(catalog, capsys):
    call_command("build_taxonomy", "--depth", "2", "--wait")
    assert "is ready for review" in capsys.readouterr().out
    assert TaxonomyProposal.objects.get().status == TaxonomyProposal.Status.READY
    with pytest.raises(CommandError, match="No category with id"):
        call_command("build_taxonomy", "--scope", "999999")
    with pytest.raises(CommandError, match="--depth"):
        call_command("build_taxonomy", "--depth", "0")


def test_a_build_of_an_empty_subtree_fails_and_says_why(catalog, client, staff, django_capture_on_commit_callbacks):
    empty = CategoryFactory(name="Garden", slug="garden")
    with django_capture_on_commit_callbacks(execute=True):
        proposal = proposal_build_start(scope=empty, depth=2)
    proposal.refresh_from_db()
    assert proposal.status == TaxonomyProposal.Status.FAILED
    assert Job.objects.get(pk=proposal.job_id).status == Job.Status.FAILED
    client.force_login(staff)
    assert "no active products" in review(client, proposal).content.decode()


def hand_made_proposal(tree, changes):
    """A ready proposal over the `tree` fixture: Clothing (live) and a new "Fashion" on top, Women below."""
    nodes = [
        {"key": "0.0", "parent_key": None, "level": 0, "label": "Clothing", "category_id": tree["clothing"].pk},
        {"key": "0.1", "parent_key": None, "level": 0, "label": "Fashion", "category_id": None},
        {"key": "1.0", "parent_key": "0.1", "level": 1, "label": "Women", "category_id": tree["women"].pk},
    ]
    for node in nodes:
        node.update(size=0, examples=[], cohesion=1.0, product_ids=[])
    proposal = TaxonomyProposal.objects.create(status=TaxonomyProposal.Status.READY, depth=2, tree=nodes)
    for position, (kind, key, decision, extra) in enumerate(changes):
        ProposalChange.objects.create(
            proposal=proposal, kind=kind, node_key=key, decision=decision, summary=kind, position=position, **extra
        )
    return proposal


def test_a_move_under_a_dropped_new_category_is_skipped_with_a_note(tree):
    accepted, dropped = ProposalChange.Decision.ACCEPTED, ProposalChange.Decision.DROPPED
    proposal = hand_made_proposal(
        tree,
        [
            ("new", "0.1", dropped, {"name": "Fashion"}),
            ("move", "1.0", accepted, {"target": tree["women"]}),
            ("rename", "0.0", accepted, {"target": tree["clothing"], "name": "Apparel"}),
        ],
    )
    proposal_apply(proposal=proposal)
    proposal.refresh_from_db()
    assert Category.objects.get(pk=tree["women"].pk).parent_id == tree["clothing"].pk
    assert Category.objects.get(pk=tree["clothing"].pk).name == "Apparel"
    assert any("stayed" in note for note in proposal.snapshot["notes"])


def test_a_merge_moves_the_subcategories_hides_the_empty_category_and_undo_restores_it(tree, catalog):
    tree_before, products_before = category_rows(), product_rows()
    proposal = hand_made_proposal(
        tree,
        [("merge", "1.0", ProposalChange.Decision.ACCEPTED, {"target": tree["women"], "source": tree["men"]})],
    )
    proposal_apply(proposal=proposal)
    men, shirts = Category.objects.get(pk=tree["men"].pk), Category.objects.get(pk=tree["shirts"].pk)
    assert shirts.parent_id == tree["women"].pk and not men.is_active
    assert Product.objects.filter(category=shirts).count() == 12  # the products stay in their category
    proposal_undo(proposal=proposal)
    assert category_rows() == tree_before and product_rows() == products_before


@pytest.mark.parametrize("odd", ["²", "99999999999999999999999", "x"])
def test_deciding_on_an_odd_change_id_is_a_404(built, client, staff, odd):
    client.force_login(staff)

    assert post(client, "decide", built, {"change": odd, "decision": "accepted"}).status_code == 404
