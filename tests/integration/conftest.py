"""Integration fixtures: the real PostgreSQL and Redis of the machine, and a real Celery worker.

Run with the environment from the Makefile's `test-integration` target (DATABASE_URL, REDIS_URL,
SECRET_KEY). The worker is a separate process on the test database, so tests that talk to it use
`transaction=True` and committed rows.
"""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from celery import current_app
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def real_services(django_db_setup):
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine or not settings.REDIS_URL:
        pytest.fail(
            "Integration tests need DATABASE_URL (PostgreSQL) and REDIS_URL; run `make test-integration`.",
            pytrace=False,
        )
    return settings.DATABASES["default"]


def start_celery_worker(
    *, db, log_path, name, queues="default,inference,training", pool="solo", env_extra=None, extra_args=()
):
    """Start a real `celery worker` subprocess on the test database and wait until it answers a ping."""
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "JOB_PROGRESS_INTERVAL": "0",
        "VAR_DIR": str(log_path.parent / "var"),
        **(env_extra or {}),
    }
    from config.celery import app

    log = open(log_path, "w")  # noqa: SIM115  (the worker writes to it for as long as it lives)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queues, f"--pool={pool}",
         "--loglevel=INFO", "--without-gossip", "--without-mingle", "-n", f"{name}@%h", *extra_args],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"celery worker exited early:\n{log_path.read_text()}", pytrace=False)
        replies = app.control.ping(timeout=1.0)
        if any(reply_from.startswith(f"{name}@") for reply in replies for reply_from in reply):
            return process
    process.terminate()
    pytest.fail(f"celery worker did not answer a ping in 60 s:\n{log_path.read_text()}", pytrace=False)


def stop_celery_worker(process):
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def celery_worker_process(real_services, tmp_path_factory):
    """A real `celery worker` on all three queues, pointed at the test database."""
    from config.celery import app

    app.control.purge()
    process = start_celery_worker(
        db=real_services, log_path=tmp_path_factory.mktemp("worker") / "worker.log", name="itest"
    )
    yield process
    stop_celery_worker(process)


def drop_connection_pools(*, close=False):
    """The next send or ping takes a connection pool for the current transport options.

    Kombu keeps one pool per connection settings for the whole process (kombu.pools), so only the private
    one, never used again, may be closed; the usual pool is dropped here and found again after the test.
    """
    if close and current_app._pool is not None:
        current_app._pool.force_close_all()
    current_app._pool = None
    current_app.amqp._producer_pool = None


@pytest.fixture
def private_broker(real_services):
    """This process' Celery on a key prefix of its own (restored after); yields (prefix, redis client)."""
    prefix = f"itest-{uuid.uuid4().hex[:12]}:"
    previous = current_app.conf.broker_transport_options
    drop_connection_pools()
    current_app.conf.broker_transport_options = {**previous, "global_keyprefix": prefix}
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        yield prefix, client
    finally:
        drop_connection_pools(close=True)
        current_app.conf.broker_transport_options = previous
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        client.close()
