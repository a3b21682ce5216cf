"""Redis comes back empty after products were saved: their classification must not be lost.

Real services: PostgreSQL (the test database), a redis-server of the test's own as the broker (so it can be
flushed without touching anyone else's queues), a real classifier and a real `celery worker`. Products are saved
(each save records its classify work in the outbox, recommend.DerivedWork, and sends it), the broker database is
flushed before any worker consumed a message (what a Redis restart without persistence does), then a worker
starts and one sweep runs: every product gets its category suggestions (faults.lost_derived_work = 0).
"""

import time
from pathlib import Path

import pytest
from celery import current_app

from catalog.models import Product
from recommend.classification.training import classifier_train
from recommend.core.jobs import automatic_jobs_suspended, job_sweep
from recommend.models import CategorySuggestion, DerivedWork
from tests.factories import ProductFactory
from tests.integration.conftest import drop_connection_pools, free_port, start_celery_worker, stop_celery_worker
from tests.integration.redis_fault_site import REDIS_SERVER, PrivateRedis
from tests.integration.test_classification_worker import labelled_catalog, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(REDIS_SERVER).exists(), reason=f"{REDIS_SERVER} is not installed"),
]
PRODUCTS = 30
TITLES = ["Nova Android Smartphone", "Acme Cookware Skillet", "Classic Ultrabook Laptop", "Red Evening Gown"]


@pytest.fixture
def own_broker(real_services, tmp_path):
    """This process' Celery on a redis-server of the test's own (database 1); yields (url, server)."""
    server = PrivateRedis(free_port(range(6400, 6420)), tmp_path)
    server.start()
    url = f"redis://127.0.0.1:{server.port}/1"
    names = ("broker_url", "broker_write_url", "broker_read_url")
    previous = {name: current_app.conf[name] for name in names}
    drop_connection_pools()
    current_app.conf.update(dict.fromkeys(names, url))
    try:
        yield url, server
    finally:
        drop_connection_pools(close=True)
        current_app.conf.update(previous)
        server.kill()


def test_work_lost_with_the_broker_is_done_after_a_sweep(own_broker, real_services, settings, tmp_path):
    url, server = own_broker
    with automatic_jobs_suspended():
        labelled_catalog(per_leaf=20)
        trained = classifier_train(demo=True, epochs=10, config_overrides={"validation_fraction": 0}, force=True)
    assert trained["activated"]

    new = [ProductFactory(title=f"{TITLES[n % 4]} {n}", brand=None).pk for n in range(PRODUCTS)]  # each commits
    assert DerivedWork.objects.count() == PRODUCTS and server.client(1).llen("inference") == PRODUCTS
    server.client(1).flushdb()  # Redis restarted empty: every message is gone, the outbox rows are not

    worker = start_celery_worker(
        db=real_services,
        log_path=tmp_path / "worker.log",
        name="outbox",
        queues="inference",
        env_extra={"CELERY_BROKER_URL": url, "ARTIFACT_ROOT": settings.STORAGES["artifacts"]["OPTIONS"]["location"]},
    )
    try:
        time.sleep(3)
        suggested = CategorySuggestion.objects.filter(product__in=new).values("product").distinct()
        lost_before_sweep = PRODUCTS - suggested.count()
        settings.DERIVED_WORK_RESEND_SECONDS = 1  # the sweep's "pending too long" (300 s by default)
        time.sleep(1.5)
        started = time.monotonic()
        counts = job_sweep()
        wait_for(lambda: not DerivedWork.objects.exists(), timeout=120)
        done_seconds = time.monotonic() - started
    finally:
        stop_celery_worker(worker)

    lost = PRODUCTS - suggested.count()
    unplaced = Product.objects.filter(pk__in=new, category__isnull=True, needs_review=False).count()
    print(
        f"faults.lost_derived_work = {lost} of {PRODUCTS} (before the sweep: {lost_before_sweep}); "
        f"resent {counts['derived_resent']}, all done {done_seconds:.1f} s after the sweep"
    )
    assert lost_before_sweep == PRODUCTS  # the flush really lost them
    assert counts["derived_resent"] == PRODUCTS
    assert lost == 0 and unplaced == 0
