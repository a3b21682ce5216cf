"""Activating a model version while requests are being served: similar items switch between two built
versions again and again under concurrent readers (live server on PostgreSQL and Redis), and no request
fails or comes back empty during the swaps."""

import json
import threading
import time
import urllib.request

import pytest

from recommend.core import vectors
from recommend.core.registry import model_version_activate
from recommend.similarity.services import similarity_build
from tests.factories import BrandFactory, InteractionFactory, ProductFactory
from tests.fakes import bag_of_words

pytestmark = pytest.mark.django_db(transaction=True)

SWAPS = 20


def test_no_request_fails_while_the_active_version_is_swapped(real_services, live_server, tree, monkeypatch):
    monkeypatch.setattr(vectors, "encode_texts", bag_of_words)
    brand = BrandFactory(name="Acme")
    products = [
        ProductFactory(title=f"Cotton shirt pocket {n}", category=tree["shirts"], brand=brand) for n in range(12)
    ]
    for visitor in range(6):
        for product in products[visitor : visitor + 3]:
            InteractionFactory(visitor_id=f"v{visitor}", product=product)
    first = similarity_build(progress=lambda fraction, message: None)
    second = similarity_build(progress=lambda fraction, message: None)
    answers, failures, stop = [], [], threading.Event()

    def reader(offset):
        while not stop.is_set():
            product = products[(offset + len(answers)) % len(products)]
            url = f"{live_server.url}/api/v1/products/{product.pk}/similar/?strategy=content"
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    body = json.loads(response.read())
                answers.append(body["model_version"])
                if not body["results"]:
                    failures.append(f"{url}: empty under v{body['model_version']}")
            except Exception as error:  # any failed request is the finding
                failures.append(f"{url}: {error}")

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for swap in range(SWAPS):
        model_version_activate(version=first if swap % 2 else second)
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join(timeout=20)

    assert failures == []
    assert len(answers) > SWAPS and set(answers) == {first.pk, second.pk}  # both versions served
