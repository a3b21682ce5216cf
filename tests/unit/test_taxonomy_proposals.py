"""Taxonomy proposals (issue 10): build job, review, apply, undo, permissions, API, maintenance.

A hashed bag-of-words encoder replaces the sentence encoder, and the catalog has four obvious groups, so a build
takes well under a second.
"""

import pytest

from recommend.hierarchy.models import ProposalChange, TaxonomyProposal
from recommend.hierarchy.services import proposal_build_start
from recommend.models import Job
from tests.hierarchy_helpers import install_fake_encoder, make_catalog

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fake_encoder(monkeypatch):
    install_fake_encoder(monkeypatch)


@pytest.fixture
def catalog(tree):
    return make_catalog(tree)


@pytest.fixture
def built(catalog, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        proposal = proposal_build_start(depth=2)
    proposal.refresh_from_db()
    return proposal


def test_build_job_stores_a_proposal_with_nodes_and_changes(built):
    job = Job.objects.get(pk=built.job_id)
    print(job.status, job.error, job.result)
    for node in built.tree:
        print(node["key"], node["parent_key"], node["label"], node["size"], node["category_id"], node["examples"])
    for change in built.changes.all():
        print(change.kind, change.summary, change.product_count)
    assert job.status == Job.Status.DONE
    assert built.status == TaxonomyProposal.Status.READY
