"""Issue 21, items 1, 4 and 5: a shopper's visitor id is a random id of its own, never a credential; popularity
counts distinct real visitors; export, erase and the opt-out cover the person across sign-ins."""

import importlib

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.sessions.models import Session
from django.test import Client

from catalog import events
from catalog.models import Interaction, VisitorPreference
from catalog.selectors import popular_products
from catalog.services import interactions_ingest
from catalog.visitors import VISITOR_ID, legacy_visitor_id
from tests.factories import ProductFactory, UserFactory, give_visitor, visitor_of

pytestmark = pytest.mark.django_db
BROWSER = {"HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"}
PASSWORD = "a-long-test-password-41"


def sign_in(client, user):
    """Through the real login view, so `user_logged_in` sees the browser's cookies (as in production)."""
    response = client.post("/admin/login/", {"username": user.username, "password": PASSWORD}, **BROWSER)
    assert response.status_code == 302, response.content[:300]


def person(**kwargs):
    user = UserFactory(is_staff=True, **kwargs)
    user.set_password(PASSWORD)
    user.save()
    return user


def test_a_page_view_gives_a_random_visitor_cookie_and_creates_no_session(client, tree):
    product = ProductFactory(category=tree["shirts"])

    for url in ("/", product.get_absolute_url(), tree["shirts"].get_absolute_url(), "/search/?q=shirt"):
        client.get(url, **BROWSER)

    visitor = visitor_of(client)
    assert VISITOR_ID.match(visitor) and visitor.startswith("v-")
    assert Session.objects.count() == 0 and settings.SESSION_COOKIE_NAME not in client.cookies
    assert set(Interaction.objects.values_list("visitor_id", flat=True)) == {visitor}
    cookie = client.cookies[settings.VISITOR_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_no_session_key_is_stored_exported_or_shown_and_a_visitor_id_signs_nobody_in(client, tree):
    boss = person(is_superuser=True, username="boss")
    product = ProductFactory(category=tree["shirts"])
    sign_in(client, boss)
    client.get(product.get_absolute_url(), **BROWSER)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value

    stored = list(Interaction.objects.values_list("visitor_id", "user_id"))
    assert stored == [(visitor_of(client), boss.pk)] and session_key not in stored[0][0]
    export = client.get("/api/v1/me/data/").content.decode()
    assert session_key not in export and visitor_of(client) in export

    viewer = person(username="viewer")  # a staffer who may only read interactions, as in the probe
    viewer.user_permissions.add(Permission.objects.get(codename="view_interaction"))
    spy = Client()
    sign_in(spy, viewer)
    listing = spy.get("/admin/catalog/interaction/").content.decode()
    assert visitor_of(client) in listing and session_key not in listing

    attacker = Client()
    attacker.cookies[settings.SESSION_COOKIE_NAME] = visitor_of(client)  # the id the admin showed
    assert attacker.get("/admin/").status_code == 302  # to the login page: not signed in as the superuser


def test_the_migration_replaces_session_keys_by_one_way_ids_and_the_browser_keeps_its_history(client, tree):
    product = ProductFactory(category=tree["shirts"])
    session = client.session
    session["seen"] = True
    session.save()
    key = session.session_key
    Interaction.objects.create(
        visitor_id=key, product=product, event="view", event_id="web:1", timestamp="2026-01-01T00:00Z"
    )
    Interaction.objects.create(
        visitor_id="customer-1", product=product, event="purchase", timestamp="2026-01-01T00:00Z"
    )
    VisitorPreference.objects.create(visitor_id=key, personalised=False)

    migration = importlib.import_module("recommend.migrations.0015_visitor_ids_not_session_keys")
    migration.forwards(apps, None)

    assert set(Interaction.objects.values_list("visitor_id", flat=True)) == {legacy_visitor_id(key), "customer-1"}
    assert VisitorPreference.objects.get().visitor_id == legacy_visitor_id(key)
    assert legacy_visitor_id(key) == migration.legacy_visitor_id(key)
    data = client.get("/api/v1/me/data/").json()  # the browser still holds that session and no visitor cookie
    assert data["visitor_ids"] == [legacy_visitor_id(key)] and len(data["events"]) == 1


def test_erase_covers_the_person_rotates_the_id_drops_buffered_events_and_empties_the_cart(
    client, tree, settings, monkeypatch
):
    shopper = person(username="ann")
    product, other = ProductFactory(category=tree["shirts"]), ProductFactory(category=tree["shirts"])
    client.get(product.get_absolute_url(), **BROWSER)  # anonymous, then signs in: the events join the account
    sign_in(client, shopper)
    client.post("/cart/add/", {"product_id": product.pk}, **BROWSER)
    first = visitor_of(client)
    client.post("/admin/logout/")
    elsewhere = Client()  # the same person on another device
    sign_in(elsewhere, shopper)
    elsewhere.get(other.get_absolute_url(), **BROWSER)

    exported = elsewhere.get("/api/v1/me/data/").json()
    assert {e["product_id"] for e in exported["events"]} == {product.pk, other.pk}
    assert set(exported["visitor_ids"]) == {first, visitor_of(elsewhere)}

    settings.SHOPPER_EVENTS = {"inline": False, "flush_seconds": 3600, "batch": 10_000}
    monkeypatch.setattr(events, "_ensure_flusher", lambda: None)  # no writer thread: the event waits
    elsewhere.get(product.get_absolute_url(), **BROWSER)  # still in this process's buffer at the erase
    before = visitor_of(elsewhere)
    erased = elsewhere.delete("/api/v1/me/data/").json()
    assert erased["events"] == 3
    events.events_flush()
    assert Interaction.objects.count() == 0 and elsewhere.session.get("cart") is None
    assert visitor_of(elsewhere) != before and elsewhere.session.get("_auth_user_id") == str(shopper.pk)
    late = interactions_ingest(events=[{"visitor_id": first, "event": "view", "product": product}])
    assert late["created"] == 0  # another web process's buffered event of an erased id is refused


def test_an_opt_out_follows_the_account_into_every_browser(client, tree):
    shopper = person(username="bo")
    product = ProductFactory(category=tree["shirts"])
    assert (
        client.put("/api/v1/me/personalisation/", {"enabled": False}, content_type="application/json").status_code
        == 200
    )
    sign_in(client, shopper)

    laptop = Client()
    sign_in(laptop, shopper)
    laptop.get(product.get_absolute_url(), **BROWSER)

    assert Interaction.objects.count() == 0
    assert laptop.get("/api/v1/me/data/").json()["personalisation"] is False


def test_popularity_counts_distinct_returning_visitors_not_reloads_robots_or_bursts(client, tree, settings):
    reloaded, liked = ProductFactory(category=tree["shirts"]), ProductFactory(category=tree["shirts"])
    for _ in range(40):  # a client that drops its cookies: 40 one-request visitors
        Client().get(reloaded.get_absolute_url(), **BROWSER)
    for _ in range(40):  # one browser reloading: one visitor
        client.get(reloaded.get_absolute_url(), **BROWSER)
    for n in range(2):  # two real visitors who came back
        shopper = Client()
        give_visitor(shopper, f"v-{n:032x}")
        shopper.get(liked.get_absolute_url(), **BROWSER)
        shopper.get(liked.get_absolute_url(), **BROWSER)

    assert [p.pk for p in popular_products(limit=2)] == [liked.pk, reloaded.pk]

    before = Interaction.objects.count()
    client.get(reloaded.get_absolute_url(), HTTP_USER_AGENT="Googlebot/2.1 (+http://www.google.com/bot.html)")
    assert Interaction.objects.count() == before
    settings.VISITOR_EVENTS_PER_MINUTE = 5
    from django.core.cache import cache

    cache.clear()
    for _ in range(20):
        Client().get(reloaded.get_absolute_url(), **BROWSER)
    assert Interaction.objects.count() == before + 5
