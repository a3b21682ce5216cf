"""PostgreSQL restarted under load (requests after it succeed).

A private PostgreSQL cluster (initdb in a temporary folder, its own port: the machine's server is never
touched) holds a small migrated catalog, and gunicorn serves it with the production settings shape
(DEBUG=0, persistent connections with health checks, no Redis). Client threads read (product list and
detail API, categories, a storefront product page) and ingest events, each with a unique event_id,
while the cluster is restarted with `pg_ctl restart -m fast`. Then:

- no 500 anywhere; a request that overlapped the outage is a success, a 503 with Retry-After
  (config.middleware.DatabaseUnavailableMiddleware) or a failed connection, nothing else;
- every request that finished before the restart began, and every one that started after it was
  done (plus a short grace), succeeded;
- every event answered 201 is in the database.

Needs the PostgreSQL server binaries (Debian: /usr/lib/postgresql/*/bin); run as root, the cluster
belongs to the `postgres` user.
"""

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path

import psycopg
import pytest

from tests.integration.conftest import free_port, gunicorn, served_site_env

ROOT = Path(__file__).resolve().parents[2]
THREADS = 4
LOAD_BEFORE_SECONDS = 4.0  # load on the healthy site before the restart
LOAD_AFTER_SECONDS = 5.0  # load after `pg_ctl restart` returned (the server accepts connections again)
GRACE_SECONDS = 1.0  # after the restart, then every request must succeed
REQUEST_TIMEOUT_SECONDS = 15
MIN_REQUESTS = 20  # before and after the restart, so the run proves something

# Run in the site's own process by `manage.py shell -c`: the schema, two categories, a few products and a
# staff token for the event ingest (it needs catalog.add_interaction). Prints {"token", "ids"} as JSON.
SETUP = """
import json
from django.core.management import call_command
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from catalog.models import Product
from recommend.core.jobs import automatic_jobs_suspended
from taxonomy.models import Category

call_command("migrate", verbosity=0)
ids = []
with automatic_jobs_suspended():
    clothing = Category.objects.create(name="Clothing", slug="clothing")
    shirts = Category.objects.create(name="Shirts", slug="shirts", parent=clothing)
    for n in range(8):
        ids.append(Product.objects.create(sku=f"PG-{n}", title=f"Cotton shirt {n}", price=10 + n, category=shirts).pk)
staff = User.objects.create_superuser("ingest", "ingest@example.com", "postgres-restart-test-only")
print(json.dumps({"token": Token.objects.create(user=staff).key, "ids": ids}))
"""


def postgres_bin() -> Path | None:
    """The newest installed server's bin folder (Debian keeps initdb and pg_ctl off the PATH)."""

    def version(folder: str) -> int:
        name = Path(folder).parent.name
        return int(name) if name.isdigit() else 0

    folders = [Path(f) for f in sorted(glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)]
    if shutil.which("pg_ctl"):
        folders.append(Path(shutil.which("pg_ctl")).parent)  # type: ignore[arg-type]
    return next((f for f in folders if (f / "initdb").exists() and (f / "pg_ctl").exists()), None)


def server_user_prefix() -> list[str]:
    """initdb refuses to run as root: as root the cluster belongs to the `postgres` user."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no `postgres` user to own a private cluster")
    if not shutil.which("runuser"):
        pytest.skip("running as root without `runuser` to start PostgreSQL as the `postgres` user")
    return [shutil.which("runuser"), "-u", "postgres", "--"]  # type: ignore[list-item]


def run(command: list[str], *, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@dataclass
class Cluster:
    bin: Path
    base: Path
    port: int
    prefix: list[str]

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1"
        log = str(self.base / "server.log")
        run([*self.prefix, str(self.bin / "pg_ctl"), "-D", str(self.base / "data"), "-o", options, "-l", log, *args])

    def log_tail(self) -> str:
        path = self.base / "server.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@pytest.fixture
def private_postgres():
    folder = postgres_bin()
    if folder is None:
        pytest.skip("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    prefix = server_user_prefix()
    base = Path(tempfile.mkdtemp(prefix="pg-restart-"))
    cluster = Cluster(bin=folder, base=base, port=free_port(), prefix=prefix)
    try:
        if prefix:
            shutil.chown(base, user="postgres")
        initdb = [str(folder / "initdb"), "-D", str(base / "data"), "-A", "trust", "-U", "postgres"]
        run([*prefix, *initdb, "--encoding=UTF8", "--locale=C", "--no-sync"])
        cluster.pg_ctl("-w", "start")
        yield cluster
    finally:
        subprocess.run(
            [*prefix, str(folder / "pg_ctl"), "-D", str(base / "data"), "-m", "immediate", "stop"],
            capture_output=True, timeout=60,
        )  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class Shop:
    url: str
    token: str
    product_ids: list[int]
    log: Path


@pytest.fixture
def shop(private_postgres, tmp_path):
    """The migrated site on the private cluster, served by gunicorn (2 workers) on a free port."""
    env = served_site_env(
        tmp_path,
        DATABASE_URL=private_postgres.url,
        REDIS_URL="",  # per-process memory cache and in-process tasks: only PostgreSQL is under test
        CELERY_BROKER_URL="",
        API_THROTTLE="0",
    )
    setup = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", SETUP],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    # DEBUG=0 pages need the static manifest; collected meanwhile (it needs no database).
    run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env)
    out, err = setup.communicate(timeout=180)
    assert setup.returncode == 0, f"migrate and setup failed:\n{out[-3000:]}\n{err[-3000:]}"
    site = json.loads(out.strip().splitlines()[-1])

    port, log = free_port(), tmp_path / "gunicorn.log"
    with gunicorn(env, port, log):
        yield Shop(url=f"http://127.0.0.1:{port}", token=site["token"], product_ids=site["ids"], log=log)


@dataclass
class Outcome:
    kind: str
    started: float
    ended: float
    status: int | None  # None: no HTTP answer (the connection failed)
    retry_after: str = ""
    body: bytes = b""
    event_id: str = ""


@dataclass
class Load:
    shop: Shop
    outcomes: list[Outcome] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def request(self, kind: str, product_id: int, thread: int) -> Outcome:
        path, data, headers, event_id = {
            "products": ("/api/v1/products/?page_size=5", None, {}, ""),
            "product": (f"/api/v1/products/{product_id}/", None, {}, ""),
            "categories": ("/api/v1/categories/", None, {}, ""),
            "page": (f"/p/{product_id}/", None, {}, ""),
        }.get(kind, ("/api/v1/interactions/", None, {}, ""))
        if kind == "event":
            event_id = f"restart-{uuid.uuid4().hex}"
            event = {"visitor_id": f"restart-{thread}", "event": "view", "product": product_id, "event_id": event_id}
            data = json.dumps(event).encode()
            headers = {"Content-Type": "application/json", "Authorization": f"Token {self.shop.token}"}
        request = urllib.request.Request(self.shop.url + path, data=data, headers=headers)
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:
                status, retry_after, body = response.status, "", response.read()
        except urllib.error.HTTPError as error:
            status, retry_after, body = error.code, error.headers.get("Retry-After", ""), error.read()
        except OSError:
            status, retry_after, body = None, "", b""
        return Outcome(kind, started, time.monotonic(), status, retry_after, body, event_id)

    def client(self, thread: int) -> None:
        kinds = ["products", "event", "page", "product", "categories", "event"]
        n = thread
        while not self.stop.is_set():
            outcome = self.request(kinds[n % len(kinds)], self.shop.product_ids[n % len(self.shop.product_ids)], thread)
            with self.lock:
                self.outcomes.append(outcome)
            n += 1


def stored_event_ids(cluster: Cluster) -> set[str]:
    with psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="postgres") as db:
        rows = db.execute("SELECT event_id FROM catalog_interaction WHERE event_id LIKE 'restart-%'").fetchall()
    return {row[0] for row in rows}


def test_requests_after_a_postgres_restart_under_load_succeed(private_postgres, shop):
    load = Load(shop)
    clients = [threading.Thread(target=load.client, args=(n,), daemon=True) for n in range(THREADS)]
    for thread in clients:
        thread.start()
    time.sleep(LOAD_BEFORE_SECONDS)
    restart_began = time.monotonic()
    private_postgres.pg_ctl("-m", "fast", "-w", "restart")
    restart_done = time.monotonic()
    time.sleep(LOAD_AFTER_SECONDS)
    load.stop.set()
    for thread in clients:
        thread.join(timeout=REQUEST_TIMEOUT_SECONDS + 5)
    stored = stored_event_ids(private_postgres)

    outcomes = load.outcomes
    before, during, after = [], [], []
    for outcome in outcomes:
        if outcome.ended < restart_began:
            before.append(outcome)
        elif outcome.started > restart_done + GRACE_SECONDS:
            after.append(outcome)
        else:
            during.append(outcome)
    refused = [o for o in during if o.status == 503]
    refused_late = [o for o in refused if o.started > restart_done]  # the grace is for these
    accepted = {o.event_id for o in outcomes if o.kind == "event" and o.status == 201}
    sent = {o.event_id for o in outcomes if o.kind == "event"}
    print(
        f"\nrequests: {len(before)} before the restart, {len(during)} overlapping it ({len(refused)} answered 503, "
        f"{len(refused_late)} of them started after pg_ctl returned, {sum(o.status is None for o in during)} "
        f"without an answer), {len(after)} after it; restart took "
        f"{restart_done - restart_began:.2f} s; events: {len(sent)} sent, {len(accepted)} accepted, "
        f"{len(stored)} stored"
    )
    context = f"gunicorn log:\n{shop.log.read_text()[-3000:]}\nPostgreSQL log:\n{private_postgres.log_tail()}"

    def summary(items: list[Outcome]) -> list[tuple[str, int | None, bytes]]:
        return [(o.kind, o.status, o.body[:200]) for o in items][:10]

    assert not any(thread.is_alive() for thread in clients), "a client thread did not finish"
    assert len(before) >= MIN_REQUESTS and len(after) >= MIN_REQUESTS, (len(before), len(after))
    assert during, "no request overlapped the restart: the load did not cover it"
    server_errors = [o for o in outcomes if o.status is not None and o.status >= 500 and o.status != 503]
    assert not server_errors, summary(server_errors)
    failed_outside = [o for o in before + after if o.status is None or not 200 <= o.status < 300]
    assert not failed_outside, f"{summary(failed_outside)}\n{context}"
    unexpected = [o for o in during if o.status is not None and not 200 <= o.status < 300 and o.status != 503]
    assert not unexpected, summary(unexpected)
    assert all(o.retry_after == "5" for o in refused), summary(refused)
    for outcome in refused:
        if outcome.kind != "page":
            assert json.loads(outcome.body) == {"detail": "the database is unavailable; retry shortly"}
    assert all(json.loads(o.body)["created"] == 1 for o in outcomes if o.event_id in accepted)
    assert accepted, "no event was accepted"
    assert accepted <= stored, f"{len(accepted - stored)} events answered 201 are not stored"
    assert stored <= sent
