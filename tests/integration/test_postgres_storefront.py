"""The storefront on PostgreSQL: facet counts, filtered search on the tsvector index, shopper events."""

from decimal import Decimal

import pytest

from catalog import events
from catalog.models import BlockStat, Interaction, ProductAttributeValue
from recommend.core import vectors
from recommend.similarity.services import similarity_build
from tests.factories import AttributeFactory, BrandFactory, ProductFactory
from tests.fakes import bag_of_words

pytestmark = pytest.mark.django_db(transaction=True)


def test_facets_search_and_buffered_events_on_postgres(real_services, client, tree, monkeypatch, settings):
    monkeypatch.setattr(vectors, "encode_texts", bag_of_words)
    # Pages render {% static %}; without collectstatic the manifest storage of DEBUG=0 has no entries.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    acme, zed = BrandFactory(name="Acme"), BrandFactory(name="Zed")
    colour = AttributeFactory(name="Colour")
    for n, (brand, price, value) in enumerate([(acme, "300", "Red"), (acme, "1500", "Blue"), (zed, "700", "Red")]):
        product = ProductFactory(title=f"Cotton shirt {n}", brand=brand, price=Decimal(price), category=tree["shirts"])
        ProductAttributeValue.objects.create(product=product, attribute=colour, value=value)
    similarity_build(progress=lambda fraction, message: None)
    settings.SHOPPER_EVENTS = {"inline": False, "flush_seconds": 3600, "batch": 10**6}
    monkeypatch.setattr(events, "_ensure_flusher", lambda: None)

    category = client.get(tree["clothing"].get_absolute_url(), {"a": f"{colour.pk}:Red"}).content.decode()
    search = client.get("/search/", {"q": "cotton shirts", "brand": acme.pk}).content.decode()
    client.get(product.get_absolute_url(), {"ref": "similar:2"})
    written = events.events_flush()

    assert "Cotton shirt 0" in category and "Cotton shirt 2" in category and "Cotton shirt 1" not in category
    assert 'data-facet="Brand"' in category and 'data-facet="Colour"' in category
    assert "Cotton shirt 0" in search and "Cotton shirt 1" in search and "Cotton shirt 2" not in search
    assert written["events"] == 3  # the search, the view and the click
    assert set(Interaction.objects.values_list("event", flat=True)) == {"search", "view", "click"}
    assert BlockStat.objects.get(block="similar").clicks == 1
