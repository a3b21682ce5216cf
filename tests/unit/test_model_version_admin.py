"""Model versions in the admin: read-only pages with metric tables, side-by-side comparison, Activate, Roll back."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse

from recommend.models import ModelVersion
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

EVALUATION = {"rule": "crc32(id) % 100 < 20", "size": 7412, "fingerprint": "ab12cd34ef56aa"}


def make_version(version: int, status: str, path_accuracy: float, **metrics) -> ModelVersion:
    return ModelVersion.objects.create(
        kind="classifier",
        version=version,
        status=status,
        params={"limit": 12000, "evaluation": EVALUATION},
        metrics={"heldout.path_accuracy": path_accuracy, "heldout.level1.accuracy": 0.99, **metrics},
    )


@pytest.fixture
def versions():
    old = make_version(1, ModelVersion.Status.RETIRED, 0.953)
    current = make_version(
        2,
        ModelVersion.Status.ACTIVE,
        0.877,
        **{"compared_with.version": 1, "compared_with.path_accuracy": 0.953, "activated": True},
    )
    candidate = make_version(3, ModelVersion.Status.READY, 0.961)
    return {"old": old, "current": current, "candidate": candidate}


@pytest.fixture
def viewer(client):
    user = UserFactory(username="viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_modelversion"))
    client.force_login(user)
    return client


def test_the_version_page_is_read_only_with_metrics_as_a_table(admin_client, versions):
    page = admin_client.get(reverse("admin:recommend_modelversion_change", args=[versions["current"].pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert "<textarea" not in html and 'name="_save"' not in html
    assert "<th>heldout.path_accuracy</th><td>0.877</td>" in html
    # The comparison with the then-active version on the same set, side by side.
    assert "<th>path_accuracy</th><td>0.877</td><td>0.953</td>" in html


def test_posting_the_version_form_changes_nothing(admin_client, versions):
    url = reverse("admin:recommend_modelversion_change", args=[versions["candidate"].pk])

    admin_client.post(url, {"status": "active", "metrics": "{}"})

    versions["candidate"].refresh_from_db()
    assert versions["candidate"].status == "ready" and versions["candidate"].metrics["heldout.path_accuracy"] == 0.961


def test_compare_shows_the_versions_of_a_kind_side_by_side(admin_client, versions):
    page = admin_client.get(reverse("admin:recommend_modelversion_compare", args=["classifier"]))

    html = page.content.decode()
    assert page.status_code == 200
    assert html.index(">v3<") < html.index(">v2<") < html.index(">v1<")
    assert "<td>0.961</td><td>0.877</td><td>0.953</td>" in html
    assert "not all measured on the same evaluation set" not in html


def test_compare_warns_when_versions_were_measured_on_different_sets(admin_client, versions):
    versions["old"].params = {"evaluation": {**EVALUATION, "fingerprint": "ffff0000"}}
    versions["old"].save()

    page = admin_client.get(reverse("admin:recommend_modelversion_compare", args=["classifier"]))

    assert b"not all measured on the same evaluation set" in page.content


def test_the_compare_action_opens_the_selected_versions(admin_client, versions):
    selected = [versions["old"].pk, versions["candidate"].pk]
    response = admin_client.post(
        reverse("admin:recommend_modelversion_changelist"),
        {"action": "compare_selected", "_selected_action": selected},
    )

    assert response.status_code == 302
    page = admin_client.get(response["Location"]).content.decode()
    assert ">v3<" in page and ">v1<" in page and ">v2<" not in page


def test_activate_switches_in_one_step_and_is_logged(admin_client, versions):
    response = admin_client.post(reverse("admin:recommend_modelversion_activate", args=[versions["candidate"].pk]))

    assert response.status_code == 302
    statuses = dict(ModelVersion.objects.values_list("version", "status"))
    assert statuses == {1: "retired", 2: "retired", 3: "active"}
    entry = LogEntry.objects.get(object_id=str(versions["candidate"].pk))
    assert entry.change_message == "Activated classifier v3 (was v2)."


def test_activate_needs_the_change_permission(viewer, versions):
    viewer.post(reverse("admin:recommend_modelversion_activate", args=[versions["candidate"].pk]))

    versions["candidate"].refresh_from_db()
    assert versions["candidate"].status == "ready" and not LogEntry.objects.exists()


def test_viewers_see_the_page_without_the_buttons(viewer, versions):
    page = viewer.get(reverse("admin:recommend_modelversion_change", args=[versions["candidate"].pk]))

    assert page.status_code == 200 and b"Activate v3" not in page.content


def test_activate_is_a_post(admin_client, versions):
    url = reverse("admin:recommend_modelversion_activate", args=[versions["candidate"].pk])

    assert admin_client.get(url).status_code == 405


def test_a_failed_version_cannot_be_activated(admin_client, versions):
    failed = make_version(4, ModelVersion.Status.FAILED, 0.5)

    response = admin_client.post(reverse("admin:recommend_modelversion_activate", args=[failed.pk]), follow=True)

    assert b"Only a ready or retired version can be activated" in response.content
    assert ModelVersion.objects.get(status="active").version == 2


def test_roll_back_restores_the_previously_active_version_and_logs_it(admin_client, versions):
    versions["old"].activated_at = versions["old"].created_at
    versions["old"].save()
    page = admin_client.get(reverse("admin:recommend_modelversion_change", args=[versions["current"].pk]))
    assert b"Roll back to the previous version" in page.content

    admin_client.post(reverse("admin:recommend_modelversion_rollback", args=["classifier"]))

    assert ModelVersion.objects.get(status="active").version == 1
    assert LogEntry.objects.get().change_message == "Rolled classifier back to v1 (was v2)."


def test_roll_back_without_an_earlier_version_says_so(admin_client, db):
    make_version(1, ModelVersion.Status.ACTIVE, 0.9)

    response = admin_client.post(reverse("admin:recommend_modelversion_rollback", args=["classifier"]), follow=True)

    assert b"No earlier classifier version to roll back to" in response.content
    assert ModelVersion.objects.get().status == "active"


def test_compare_skips_odd_ids_in_its_list(admin_client, versions):
    url = reverse("admin:recommend_modelversion_compare", args=["classifier"])
    page = admin_client.get(url, {"ids": f"²,{versions['candidate'].pk},99999999999999999999999,x"})

    html = page.content.decode()
    assert page.status_code == 200
    assert f">v{versions['candidate'].version}<" in html  # the one real id in the list, alone
    assert all(f">v{v.version}<" not in html for key, v in versions.items() if key != "candidate")
