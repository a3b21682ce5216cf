"""Permissions: job admin and job API need the recommend job permissions (and, to start a kind, what its admin
form checks); params and tracebacks are hidden without view permission; duplicate merges need
catalog.change_product too; inactive products and categories are 404 in the API as in the storefront."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from recommend.models import Job
from tests.factories import CategoryFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def staff_with(*perms):
    user = UserFactory(username=f"clerk-{'-'.join(p.split('.')[-1] for p in perms) or 'none'}", is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


def api_for(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def failed_job(db):
    return Job.objects.create(
        kind=Job.Kind.IMPORT, status=Job.Status.FAILED, params={"preset": "groceries", "data_dir": "/secret/path"},
        error="Traceback (most recent call last): ... /secret/path", message="failed",
    )  # fmt: skip


def test_staff_without_job_permissions_cannot_list_view_or_retry_jobs(client, failed_job):
    client.force_login(staff_with())

    listed = client.get(reverse("admin:recommend_job_changelist"))
    viewed = client.get(reverse("admin:recommend_job_change", args=[failed_job.pk]))
    retried = client.post(
        reverse("admin:recommend_job_changelist"), {"action": "retry", "_selected_action": [failed_job.pk]}
    )

    assert (listed.status_code, viewed.status_code, retried.status_code) == (403, 403, 403)
    failed_job.refresh_from_db()
    assert failed_job.status == Job.Status.FAILED


def test_view_permission_lists_jobs_but_retry_needs_change(client, failed_job):
    client.force_login(staff_with("recommend.view_job"))

    assert client.get(reverse("admin:recommend_job_changelist")).status_code == 200
    client.post(reverse("admin:recommend_job_changelist"), {"action": "retry", "_selected_action": [failed_job.pk]})
    failed_job.refresh_from_db()
    assert failed_job.status == Job.Status.FAILED


def test_jobs_api_needs_job_view_permission(failed_job):
    assert api_for(staff_with()).get("/api/v1/jobs/").status_code == 403
    assert api_for(staff_with()).get(f"/api/v1/jobs/{failed_job.pk}/").status_code == 403


def test_jobs_api_start_needs_the_permissions_the_import_form_checks(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    viewer = api_for(staff_with("recommend.view_job", "recommend.add_job"))

    response = viewer.post("/api/v1/jobs/", {"preset": "groceries", "limit": 1}, format="json")

    assert response.status_code == 403 and "add products" in response.json()["detail"]
    assert not Job.objects.exists()


def test_jobs_api_hides_params_and_traceback_from_users_without_view_permission(failed_job, monkeypatch):
    from recommend.core import job_apis

    def created(**kwargs):
        return Job.objects.create(kind=kwargs["kind"], params=kwargs["params"], error="Traceback ...")

    monkeypatch.setattr(job_apis, "job_create", created)
    importer = api_for(staff_with("catalog.add_product"))  # may start imports, may not read jobs
    viewer = api_for(staff_with("recommend.view_job"))

    started = importer.post("/api/v1/jobs/", {"preset": "groceries"}, format="json")
    shown = viewer.get(f"/api/v1/jobs/{failed_job.pk}/").json()

    assert started.status_code == 202 and "params" not in started.json() and "error" not in started.json()
    assert importer.get(f"/api/v1/jobs/{started.json()['id']}/").status_code == 403
    assert shown["params"]["data_dir"] == "/secret/path" and shown["error"].startswith("Traceback")


def test_inactive_products_and_categories_are_404_in_the_api(api_client):
    hidden_category = CategoryFactory(name="Old", slug="old", is_active=False)
    hidden = ProductFactory(title="Gone", is_active=False)

    assert api_client.get(f"/api/v1/products/{hidden.pk}/").status_code == 404
    assert api_client.get(f"/api/v1/categories/{hidden_category.pk}/").status_code == 404
    assert api_client.get(f"/api/v1/products/{hidden.pk}/similar/").status_code == 404


def test_staff_who_may_change_products_still_see_inactive_ones(staff_api_client):
    hidden = ProductFactory(title="Gone", is_active=False)

    assert staff_api_client.get(f"/api/v1/products/{hidden.pk}/").status_code == 200


@pytest.fixture
def pair(db):
    from recommend.models import DuplicatePair

    return DuplicatePair.objects.create(
        left=ProductFactory(title="A"), right=ProductFactory(title="A copy"), score=0.99
    )


def merge_pair(client, pair):
    return client.post(
        reverse("admin:recommend_duplicatepair_changelist"),
        {"action": "merge_keep_left", "_selected_action": [pair.pk]},
    )


def test_a_duplicate_merge_needs_catalog_change_product_too(client, pair):
    client.force_login(staff_with("recommend.view_duplicatepair", "recommend.change_duplicatepair"))

    merge_pair(client, pair)
    group = client.post(
        reverse("admin:recommend_duplicatepair_group_merge"),
        {"ids": f"{pair.left_id},{pair.right_id}", "keep": pair.left_id, "confirm": "yes"},
    )

    pair.right.refresh_from_db()
    assert pair.right.is_active and pair.right.merged_into_id is None
    assert group.status_code == 403


def test_a_duplicate_merge_with_both_permissions_merges(client, pair):
    client.force_login(
        staff_with("recommend.view_duplicatepair", "recommend.change_duplicatepair", "catalog.change_product")
    )

    merge_pair(client, pair)

    pair.right.refresh_from_db()
    assert pair.right.merged_into_id == pair.left_id
