"""Redis stopped while the site serves, on the real services: gunicorn (2 workers) on PostgreSQL with a
redis-server of the test's own as cache and broker, under client threads, and the test kills that Redis
(SIGKILL), then hangs a fresh one (SIGSTOP: the port still accepts connections, nothing ever answers).

Promised (README, "Production run"): with Redis down, pages and read APIs keep answering from the database, in
bounded time; product writes are kept (201), their classify / embed work stored as queued jobs; the throttles
fail open; once Redis is back the sweep sends the queued jobs and the throttles count again.

Throttles stay on (the production rates: 60 searches a minute per client): before the kill the test stays under
them, with Redis gone it sends more, and with Redis back the same burst is refused.
"""

import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from tests.integration.conftest import free_port, gunicorn
from tests.integration.redis_fault_site import (
    REDIS_SERVER,
    ROOT,
    Answer,
    Load,
    PrivateRedis,
    admin_execute,
    build_site,
    fetch,
    site_env,
)

pytestmark = pytest.mark.skipif(not Path(REDIS_SERVER).exists(), reason=f"{REDIS_SERVER} is not installed")

BOUND_SECONDS = 10  # every request answered within this, Redis killed or hung (a hang would be CLIENT_TIMEOUT)
# Short windows (defaults 5 and 10 s) so that each worker meets the hung Redis several times during the phase.
RETRY_AFTER = {"REDIS_RETRY_AFTER_SECONDS": "2", "BROKER_RETRY_AFTER_SECONDS": "3"}
BURST = 70  # API searches in a row from one client: over the 60/min search rate
DEFERRED = "not sent yet, the sweep sends it later"
SWEEP_SCRIPT = """
from recommend.core.jobs import job_sweep
total = 0
for _ in range(20):
    sent = job_sweep()["resent"]
    total += sent
    if not sent:
        break
print("RESENT", total)
"""


@dataclass
class Site:
    port: int
    token: str
    product: int
    redis: PrivateRedis
    env: dict[str, str]
    database_url: str
    log: Path


@pytest.fixture
def site(tmp_path):
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.fail("Needs DATABASE_URL on PostgreSQL; run `make test-integration`.", pytrace=False)
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    server = f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    redis_port = free_port(range(6390, 6400))
    name = f"test_redis_kill_{redis_port}"
    private_redis = PrivateRedis(redis_port, tmp_path)
    admin_execute(f"{server}/postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin_execute(f"{server}/postgres", f'CREATE DATABASE "{name}"')
    try:
        private_redis.start()
        env = {**site_env(database_url=f"{server}/{name}", redis_port=redis_port, workdir=tmp_path), **RETRY_AFTER}
        facts = build_site(env, tmp_path)
        assert facts["classifier"] and facts["similar"] == "active", facts
        port = free_port()
        with gunicorn(env, port, tmp_path / "gunicorn.log"):
            yield Site(port, facts["token"], facts["product"], private_redis, env, f"{server}/{name}",
                       tmp_path / "gunicorn.log")  # fmt: skip
    finally:
        private_redis.kill()
        admin_execute(f"{server}/postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def query(site: Site, sql: str, params: list | None = None) -> list[tuple]:
    with psycopg.connect(site.database_url) as conn:
        return conn.execute(sql, params or []).fetchall()


def warm_up(site: Site) -> None:
    """Each worker loads the encoder and the classifier on its first search: not part of any phase."""
    paths = ["/search/?q=blue+phone", "/api/v1/search/?q=laptop"]
    for _ in range(8):
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda path: fetch(site.port, path), paths))
        assert all(answer.status == 200 for answer in answers), answers
        if max(answer.seconds for answer in answers) < 1:
            return


def wrong(answers: list[Answer]) -> list[Answer]:
    """Answers that are not what a healthy site gives: 201 for a product write, 200 for everything else."""
    return [a for a in answers if a.status != (201 if a.path == "/api/v1/products/" else 200)]


def summary(name: str, answers: list[Answer]) -> str:
    writes = [a for a in answers if a.path == "/api/v1/products/"]
    reads = [a for a in answers if a.path != "/api/v1/products/"]
    slowest = max(reads, key=lambda a: a.seconds)
    statuses = sorted({a.status for a in answers})
    return (f"{name}: {len(answers)} requests ({len(writes)} writes), statuses {statuses}, slowest read "
            f"{slowest.seconds:.2f} s ({slowest.path})"
            + (f", slowest write {max(a.seconds for a in writes):.2f} s" if writes else ""))  # fmt: skip


def deferred_classify_jobs(site: Site, skus: list[str]) -> dict[str, tuple]:
    """sku -> (status, message) of the classify job holding that product's work."""
    rows = query(
        site,
        "SELECT p.sku, j.status, j.message FROM catalog_product p JOIN recommend_job j"
        " ON j.kind = 'classify' AND j.params -> 'product_ids' = jsonb_build_array(p.id) WHERE p.sku = ANY(%s)",
        [skus],
    )
    return {sku: (status, message) for sku, status, message in rows}


def test_pages_reads_and_writes_go_on_while_redis_is_killed_then_hung(site):
    mix = ["/", f"/p/{site.product}/", "/search/?q=blue+phone", "/api/v1/categories/",
           f"/api/v1/products/{site.product}/similar/", "/api/v1/search/?q=laptop", None]  # fmt: skip
    warm_up(site)
    facts = []

    # 1. Redis up: one round of the mix per thread (under the search rate).
    up = Load(site.port, site.token, mix, phase="up").run_rounds(1)
    facts.append(summary("redis up", up))
    assert not wrong(up), wrong(up)

    # 2. SIGKILL while the threads run; then one client sends more searches than its rate allows.
    load = Load(site.port, site.token, mix, phase="killed")
    load.start()
    time.sleep(1.0)
    site.redis.kill()
    killed_at = time.monotonic()
    burst = [fetch(site.port, f"/api/v1/search/?q=phone+{n % 7}", phase="burst") for n in range(BURST)]
    time.sleep(max(0.0, killed_at + 5 - time.monotonic()))
    killed = load.join()
    facts.append(summary("redis killed", killed) + f"; {summary('search burst', burst)}")
    assert not wrong(killed), wrong(killed)
    assert [a.status for a in burst] == [200] * BURST  # the throttle's counters are gone: it lets them through
    assert max(a.seconds for a in killed + burst) < BOUND_SECONDS
    assert sum(a.started > killed_at for a in killed) >= 10

    # 3. A fresh Redis on the same port, hung (SIGSTOP): every cache call and publish now waits for its timeout.
    site.redis.start()
    site.redis.signal(signal.SIGSTOP)
    log_offset = site.log.stat().st_size
    load = Load(site.port, site.token, mix, phase="hung")
    load.start()
    time.sleep(7)
    hung = load.join()
    hung_ended = time.monotonic()
    facts.append(summary("redis hung", hung))
    assert not wrong(hung), wrong(hung)
    assert max(a.seconds for a in hung) < BOUND_SECONDS, sorted(a.seconds for a in hung)[-5:]
    with site.log.open() as log:
        log.seek(log_offset)
        trips = log.read()
    # The hang was met (not only skipped): the cache and the broker each gave up on a timeout.
    assert f"cache redis 127.0.0.1:{site.redis.port} unreachable (TimeoutError" in trips
    assert f"broker redis://127.0.0.1:{site.redis.port}/1 unreachable (OperationalError: Timeout" in trips

    # Every write answered after the kill is stored, its classification kept as a queued job for the sweep.
    written = [a.sku for a in killed + hung if a.sku and a.started > killed_at]
    jobs = deferred_classify_jobs(site, written)
    assert sorted(jobs) == sorted(written) and written
    assert all(status == "queued" and message.startswith(DEFERRED) for status, message in jobs.values()), jobs
    # The embed work of those writes: one debounced similar-items rebuild, queued for the sweep too.
    (rebuild,) = query(site, "SELECT status, message FROM recommend_job WHERE kind = 'build_similar'")
    assert rebuild[0] == "queued" and rebuild[1].startswith(DEFERRED), rebuild

    # 4. Redis back (a fresh one): the sweep sends every queued job, and the throttle counts again.
    site.redis.kill()
    site.redis.start()
    waiting = query(site, "SELECT id, queue FROM recommend_job WHERE status = 'queued' AND message LIKE %s",
                    [f"{DEFERRED}%"])  # fmt: skip
    sweep = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SWEEP_SCRIPT],
        cwd=ROOT, env={**site.env, "JOB_STALE_AFTER_SECONDS": "0"}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert f"RESENT {len(waiting)}" in sweep.stdout, sweep.stdout + sweep.stderr[-3000:]
    messages = query(site, "SELECT message FROM recommend_job WHERE id = ANY(%s)", [[pk for pk, _ in waiting]])
    assert all(message.startswith("queued on ") for (message,) in messages), messages
    broker = site.redis.client(1)
    assert sum(broker.llen(queue) for queue in {queue for _, queue in waiting}) == len(waiting)

    # The workers' last failures are older than their retry windows: they use Redis again at once.
    time.sleep(max(0.0, hung_ended + max(float(v) for v in RETRY_AFTER.values()) + 0.5 - time.monotonic()))
    after = fetch(site.port, "/api/v1/products/", token=site.token, body={"sku": "RK-back", "title": "Red phone"})
    assert after.status == 201 and not deferred_classify_jobs(site, ["RK-back"])  # sent at once, no job
    again = [fetch(site.port, f"/api/v1/search/?q=phone+{n % 7}").status for n in range(BURST)]
    assert 429 in again and set(again) == {200, 429}, again
    facts.append(f"redis back: {len(waiting)} queued jobs sent by the sweep; search {again.index(429) + 1} -> 429")
    print("\n" + "\n".join(facts))
