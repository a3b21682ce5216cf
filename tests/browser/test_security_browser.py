"""Under the Content-Security-Policy, in a real browser: staff log in through the admin form (django-axes in the
way), the model version page's confirm buttons still ask first (a nonce'd script, no inline onclick), and
Swagger UI renders from files served by the site itself. No page reports a CSP violation."""

import pytest

from recommend.core.registry import model_version_create, model_version_mark, model_version_save_artifact
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def violations(page):
    seen = []
    page.on("console", lambda message: seen.append(message.text) if "Content Security Policy" in message.text else None)
    return seen


def log_in(page, live_server):
    staff = StaffFactory(username="boss")
    staff.set_password("right-password-1")
    staff.save()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("right-password-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/admin/")


def test_activate_asks_for_confirmation_under_the_csp(live_server, page, violations, tmp_path):
    source = tmp_path / "weights.bin"
    source.write_bytes(b"weights")
    version = model_version_save_artifact(version=model_version_create(kind="classifier"), local_path=source)
    model_version_mark(version=version, status="ready")
    log_in(page, live_server)
    asked = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.goto(f"{live_server.url}/admin/recommend/modelversion/{version.pk}/change/")
    page.get_by_role("button", name=f"Activate v{version.version}").click()

    version.refresh_from_db()
    assert asked and "active version" in asked[0]
    assert version.status == "ready"  # dismissed: nothing happened
    assert violations == []


def test_swagger_ui_renders_offline_from_local_files(live_server, page, violations):
    external = []
    page.on("request", lambda request: external.append(request.url) if live_server.url not in request.url else None)
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .info", timeout=15000)

    assert external == [] and violations == []
