"""Integration fixtures: the real PostgreSQL and Redis of the machine, and a real Celery worker.

Run with the environment from the Makefile's `test-integration` target (DATABASE_URL, REDIS_URL,
SECRET_KEY). The worker is a separate process on the test database, so tests that talk to it use
`transaction=True` and committed rows.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import kombu.pools
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
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"celery worker exited early:\n{log_path.read_text()}", pytrace=False)
            replies = app.control.ping(timeout=1.0)
            if any(reply_from.startswith(f"{name}@") for reply in replies for reply_from in reply):
                return process
        pytest.fail(f"celery worker did not answer a ping in 60 s:\n{log_path.read_text()}", pytrace=False)
    except BaseException:
        stop_celery_worker(process)  # never leave a worker behind (it would hold the test database open)
        raise


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
    one may be closed; the usual pool is dropped here and found again after the test. A closed private pool is
    also taken out of kombu's registry: the next test's private redis-server may get the same port, hence the
    same connection settings, and must not be handed a closed pool ("Acquire on closed pool").
    """
    if close and current_app._pool is not None:
        closed = current_app._pool
        closed.force_close_all()
        for group in kombu.pools._groups:
            for key, pool in list(group.items()):
                if pool is closed or getattr(pool, "connections", None) is closed:
                    dict.__delitem__(group, key)  # the stored key as is (EqualityDict would re-hash it)
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


def served_site_env(workdir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a site served in production shape (DEBUG off, its own VAR_DIR and static files) by a
    test's gunicorn or manage.py subprocess: nothing of the caller's environment but PATH and HOME."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(workdir)),
        "LANG": "C.UTF-8",
        "SECRET_KEY": "integration-tests-only",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_COOKIES": "0",
        "VAR_DIR": str(workdir / "var"),
        "STATIC_ROOT": str(workdir / "static"),
        "LOG_LEVEL": "WARNING",
        **overrides,
    }


def free_port(candidates: range | None = None) -> int:
    """A port nobody listens on: the first free one of `candidates`, or one the kernel picks."""
    for port in candidates or [0]:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    pytest.fail(f"no free port in {candidates}", pytrace=False)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def gunicorn(env: dict[str, str], port: int, log_path: Path) -> Iterator[None]:
    """Serve the site with 2 sync workers (gunicorn's default 30 s worker timeout) until the block ends."""
    log = open(log_path, "w")  # noqa: SIM115  (gunicorn writes to it for as long as it lives)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not answers(f"http://127.0.0.1:{port}/healthz"):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not come up:\n{log_path.read_text()[-4000:]}", pytrace=False)
            time.sleep(0.3)
        yield
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
