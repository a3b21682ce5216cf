"""Staff open a taxonomy proposal's review page in Chromium, accept a change, apply it (with the confirmation)."""

import pytest

from recommend.hierarchy.models import ProposalChange, TaxonomyProposal
from recommend.hierarchy.services import proposal_build_run
from recommend.models import Job
from taxonomy.models import Category
from tests.factories import CategoryFactory, StaffFactory
from tests.hierarchy_helpers import install_fake_encoder, make_catalog

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def proposal(monkeypatch):
    install_fake_encoder(monkeypatch)
    clothing = CategoryFactory(name="Clothing", slug="clothing")
    men = CategoryFactory(name="Men", slug="men", parent=clothing)
    tree = {
        "clothing": clothing,
        "men": men,
        "shirts": CategoryFactory(name="Shirts", slug="shirts", parent=men),
        "women": CategoryFactory(name="Women", slug="women", parent=clothing),
        "electronics": CategoryFactory(name="Electronics", slug="electronics"),
    }
    make_catalog(tree)
    job = Job.objects.create(kind=Job.Kind.BUILD_HIERARCHY, params={"depth": 2}, queue="training")
    result = proposal_build_run(job=job, scope_id=None, depth=2, method="direct", progress=lambda f, m="": None)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.DONE, progress=1.0, result=result)
    return TaxonomyProposal.objects.get(job=job)


def test_review_accept_and_apply(live_server, page, screenshot, proposal):
    StaffFactory(username="boss", password="correct-horse-battery")
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "correct-horse-battery")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/recommend/taxonomyproposal/{proposal.pk}/review/")

    proposed = page.locator("#proposed-tree")
    for node in proposal.tree:
        item = proposed.locator(f"li[data-key='{node['key']}']")
        assert node["label"] in item.locator(".label").inner_text()
        assert f"({node['size']} products)" in item.inner_text()
        assert node["examples"][0] in item.locator(".examples").inner_text()
    assert "Shirts" in page.locator("#live-tree").inner_text()
    screenshot("taxonomy-proposal-review")

    change = proposal.changes.filter(kind=ProposalChange.Kind.NEW, product_count__gt=0).first()
    page.locator(f"#change-{change.pk}").get_by_role("button", name="Accept").click()
    assert "Accepted" in page.locator(f"#change-{change.pk}").inner_text()
    page.click("#apply")
    assert "Yes, apply 1 changes" in page.locator("#confirm-apply").input_value()
    page.click("#confirm-apply")
    assert "Applied: 1 categories created" in page.locator(".messagelist").inner_text()
    screenshot("taxonomy-proposal-applied")

    proposal.refresh_from_db()
    assert proposal.status == TaxonomyProposal.Status.APPLIED
    created = Category.objects.get(pk=proposal.snapshot["created"][0])
    assert created.source == Category.Source.PROPOSED and created.products.count() == change.product_count
    assert page.locator("#undo").is_visible()
