"""API throttles per scope: the N+1-th request in the window answers 429 with a JSON message."""

from pathlib import Path

import pytest
from rest_framework.settings import api_settings

from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    def set_rates(**rates):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None, "classify": None, "search": None, **rates},
        }
        assert api_settings.DEFAULT_THROTTLE_RATES["anon"] == rates.get("anon")

    return set_rates


def statuses(call, n):
    return [call().status_code for _ in range(n)]


def test_anonymous_requests_over_the_rate_get_429_with_json(rates, api_client):
    rates(anon="3/min")

    answers = statuses(lambda: api_client.get("/api/v1/brands/"), 4)
    response = api_client.get("/api/v1/brands/")

    assert answers == [200, 200, 200, 429]
    assert response.status_code == 429 and "throttled" in response.json()["detail"]
    assert response["Retry-After"]


def test_signed_in_users_have_their_own_rate(rates, staff_api_client, api_client):
    rates(anon="1/min", user="2/min")

    assert statuses(lambda: staff_api_client.get("/api/v1/brands/"), 3) == [200, 200, 429]
    assert api_client.get("/api/v1/brands/").status_code == 200  # a different client, a different bucket


def test_search_has_its_own_scope(rates, api_client):
    ProductFactory(title="Blue shirt")
    rates(search="2/min")

    assert statuses(lambda: api_client.get("/api/v1/search/", {"q": "shirt"}), 3) == [200, 200, 429]
    assert api_client.get("/api/v1/brands/").status_code == 200  # other endpoints are not counted


def test_classify_has_its_own_scope(rates, staff_api_client):
    rates(classify="1/min")

    first = staff_api_client.post("/api/v1/classify/", {"title": "Blue shirt"}, format="json")
    second = staff_api_client.post("/api/v1/classify/", {"title": "Blue shirt"}, format="json")

    assert first.status_code == 503  # no classifier yet, but the request counted
    assert second.status_code == 429 and second.json()["detail"]


def test_default_rates_are_set_and_overridable_by_environment():
    import os
    import subprocess
    import sys

    code = "from config import settings as s; print(s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'])"
    env = {**os.environ, "THROTTLE_SEARCH_RATE": "5/min", "THROTTLE_USER_RATE": "off"}
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True)
    out = out.stdout

    assert "'search': '5/min'" in out and "'user': None" in out and "'anon': '300/min'" in out


def admin_login(client, password):
    return client.post("/admin/login/?next=/admin/", {"username": "staff", "password": password})


def test_admin_login_locks_a_username_out_after_repeated_failures(client, staff, settings):
    settings.AXES_FAILURE_LIMIT = 3
    staff.set_password("right-password")
    staff.save()

    failures = [admin_login(client, "wrong").status_code for _ in range(3)]
    locked = admin_login(client, "right-password")

    assert failures[:2] == [200, 200]  # the form again, with its error
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_good_admin_login_still_works_and_resets_the_count(client, staff, settings):
    settings.AXES_FAILURE_LIMIT = 3
    staff.set_password("right-password")
    staff.save()

    admin_login(client, "wrong")
    response = admin_login(client, "right-password")

    assert response.status_code == 302 and client.session["_auth_user_id"] == str(staff.pk)


def test_the_storefront_search_page_shares_the_search_rate(rates, client):
    ProductFactory(title="Blue shirt")
    rates(search="2/min")

    answers = statuses(lambda: client.get("/search/", {"q": "shirt"}), 3)
    response = client.get("/search/", {"q": "shirt"})

    assert answers == [200, 200, 429]
    assert "Too many searches" in response.content.decode()
    assert client.get("/search/").status_code == 200  # an empty search runs nothing


def test_logins_without_a_request_still_work(client, staff):
    """The test client's login() (and management commands) pass no request: axes must not refuse them."""
    staff.set_password("right-password")
    staff.save()

    assert client.login(username="staff", password="right-password")
    assert client.get("/admin/").status_code == 200


def test_a_forged_x_forwarded_for_does_not_give_a_fresh_bucket(rates, api_client):
    rates(anon="2/min")

    answers = [api_client.get("/api/v1/brands/", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code for n in range(3)]

    assert answers == [200, 200, 429]


def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(rates, api_client, settings):
    from config.client_ip import client_ip

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}  # TRUSTED_PROXIES=1
    rates(anon="1/min")

    # The proxy appends the address it saw; whatever the client wrote before it is ignored.
    first = api_client.get("/api/v1/brands/", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.7")
    again = api_client.get("/api/v1/brands/", HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.7")
    other = api_client.get("/api/v1/brands/", HTTP_X_FORWARDED_FOR="203.0.113.8")

    assert [first.status_code, again.status_code, other.status_code] == [200, 429, 200]
    assert client_ip(again.wsgi_request) == "203.0.113.7"


def test_the_admin_lockout_counts_by_the_real_address_not_the_forged_header(client, settings):
    from axes.helpers import get_client_ip_address

    request = client.get("/healthz", HTTP_X_FORWARDED_FOR="6.6.6.6", REMOTE_ADDR="198.51.100.4").wsgi_request

    assert get_client_ip_address(request) == "198.51.100.4"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}  # TRUSTED_PROXIES=1
    assert get_client_ip_address(request) == "6.6.6.6"
