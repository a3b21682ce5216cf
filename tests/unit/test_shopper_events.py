"""Shopper events the storefront records, the batched writer, and block click-through in the admin."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog import events
from catalog.block_admin import block_summaries
from catalog.models import BlockStat, Interaction
from tests.factories import InteractionFactory, ProductFactory, visitor_of

pytestmark = pytest.mark.django_db


def stored(event):
    return list(Interaction.objects.filter(event=event).values_list("visitor_id", "product_id", "query"))


def test_a_product_view_is_recorded_under_the_visitors_own_id_not_the_session_key(client, tree):
    product = ProductFactory(category=tree["shirts"])

    client.get(product.get_absolute_url())

    assert stored("view") == [(visitor_of(client), product.pk, "")]


def test_a_recommendation_click_keeps_its_block_and_slot_and_counts_for_the_block(client, tree):
    product = ProductFactory(category=tree["shirts"])

    client.get(product.get_absolute_url(), {"ref": "similar:3"})
    client.get(product.get_absolute_url(), {"ref": "nonsense:1"})
    client.get(product.get_absolute_url(), {"ref": "similar:x"})

    assert stored("click") == [(visitor_of(client), product.pk, "similar:3")]
    assert list(BlockStat.objects.values_list("block", "clicks")) == [("similar", 1)]
    assert len(stored("view")) == 3


def test_search_and_add_to_cart_are_recorded(client, tree):
    product = ProductFactory(title="Oxford shirt", category=tree["shirts"])

    client.get("/search/", {"q": "oxford"})
    client.get("/search/", {"q": "oxford", "page": "2"})  # paging is not a new search
    client.post("/cart/add/", {"product_id": product.pk})

    visitor = visitor_of(client)
    assert stored("search") == [(visitor, None, "oxford")]
    assert stored("add_to_cart") == [(visitor, product.pk, "")]


def test_home_counts_an_impression_of_the_popular_block(client, tree):
    InteractionFactory.create_batch(3, product=ProductFactory(category=tree["shirts"]))

    client.get("/")
    client.get("/")

    assert BlockStat.objects.get(block="popular").impressions == 2
    assert 'href="/p/' in client.get("/").content.decode() and "?ref=popular:1" in client.get("/").content.decode()


def test_buffered_events_wait_for_the_flush_and_a_resent_batch_is_stored_once(client, tree, settings, monkeypatch):
    settings.SHOPPER_EVENTS = {"inline": False, "flush_seconds": 3600, "batch": 1000}
    monkeypatch.setattr(events, "_ensure_flusher", lambda: None)  # the test flushes by hand
    product = ProductFactory(category=tree["shirts"])

    client.get(product.get_absolute_url(), {"ref": "also_viewed:1"})

    assert events.events_pending() == 2 and not Interaction.objects.exists()
    batch = list(events._events)
    assert events.events_flush() == {"events": 2, "counters": 1}
    assert Interaction.objects.count() == 2 and BlockStat.objects.get().clicks == 1

    events._events.extend(batch)  # the same batch again (a retry after a timeout)
    events.events_flush()
    assert Interaction.objects.count() == 2


def test_with_the_database_down_a_flush_keeps_the_batch_and_logs_one_line(client, tree, settings, monkeypatch, caplog):
    import psycopg
    from django.db import OperationalError

    settings.SHOPPER_EVENTS = {"inline": False, "flush_seconds": 3600, "batch": 1000}
    monkeypatch.setattr(events, "_ensure_flusher", lambda: None)
    client.get(ProductFactory(category=tree["shirts"]).get_absolute_url())
    outage = OperationalError("connection refused")
    outage.__cause__ = psycopg.OperationalError("connection refused")  # no SQLSTATE: the connection failed

    def refused(batch):
        raise outage

    with monkeypatch.context() as patched:
        patched.setattr(events, "_write_events", refused)
        with pytest.raises(OperationalError):
            events.events_flush()
    assert events.events_pending() == 1
    assert [(r.levelname, r.exc_info) for r in caplog.records if "shopper events" in r.getMessage()] == [
        ("WARNING", None)
    ]

    events.events_flush()  # the database is back
    assert events.events_pending() == 0 and Interaction.objects.filter(event="view").count() == 1


def test_the_buffer_is_written_at_a_normal_shutdown(client, tree, settings, monkeypatch):
    settings.SHOPPER_EVENTS = {"inline": False, "flush_seconds": 3600, "batch": 1000}
    monkeypatch.setattr(events, "_ensure_flusher", lambda: None)
    client.get(ProductFactory(category=tree["shirts"]).get_absolute_url())

    events._flush_at_exit()  # what atexit runs

    assert events.events_pending() == 0 and Interaction.objects.filter(event="view").count() == 1


def test_a_full_batch_wakes_the_writer(client, tree, settings, monkeypatch):
    settings.SHOPPER_EVENTS = {"inline": False, "flush_seconds": 3600, "batch": 2}
    monkeypatch.setattr(events, "_ensure_flusher", lambda: None)
    events._wake.clear()
    product = ProductFactory(category=tree["shirts"])

    client.get(product.get_absolute_url())
    assert not events._wake.is_set()
    client.get(product.get_absolute_url())

    assert events._wake.is_set()
    events.events_flush()
    events._wake.clear()


def test_block_summaries_give_click_through_and_a_chart_per_block():
    today = timezone.localdate()
    BlockStat.objects.create(day=today, block="similar", impressions=100, clicks=5)
    BlockStat.objects.create(day=today - timedelta(days=1), block="similar", impressions=50, clicks=10)
    BlockStat.objects.create(day=today, block="popular", impressions=10, clicks=0)

    summaries = {s["block"]: s for s in block_summaries(today=today)}

    assert summaries["similar"]["impressions"] == 150 and summaries["similar"]["ctr_percent"] == 10.0
    assert summaries["popular"]["ctr_percent"] == 0.0
    chart = summaries["similar"]["chart"]
    assert [bar["h"] for bar in chart["bars"][-2:]] == [20.0, 40.0] and len(chart["points"].split()) == 2


def test_staff_see_block_click_through_in_the_admin(client, staff):
    BlockStat.objects.create(day=timezone.localdate(), block="similar", impressions=200, clicks=7)
    client.force_login(staff)

    page = client.get("/admin/catalog/blockstat/").content.decode()

    assert 'data-block="similar"' in page and "3.5 %" in page and "<svg" in page and "3.50 %" in page
