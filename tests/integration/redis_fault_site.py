"""A site of its own for tests/integration/test_redis_killed_while_serving.py: a private redis-server the test may
kill or hang, a PostgreSQL database with a small catalog and real models, gunicorn serving it, and client threads.

Nothing here touches the machine's own Redis or the test database: the site lives in a database created for the
test (dropped after) and a redis-server process the test started on a port of its own.
"""

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import redis

from tests.integration.conftest import served_site_env

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = "/usr/bin/redis-server"
SETUP_TIMEOUT = 240

# Run by `manage.py shell -c` on the new database: migrate, a labelled catalog, a real classifier and similar-items
# build (so product writes need classify and embed work, and the search page runs the classifier), a staff token.
SETUP_SCRIPT = """
import json
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from catalog.models import Product
from recommend.classification.training import classifier_train
from recommend.core.jobs import automatic_jobs_suspended
from recommend.similarity.services import similarity_build
from tests.integration.test_classification_worker import labelled_catalog

with automatic_jobs_suspended():
    labelled_catalog(per_leaf=30)
    ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    trained = classifier_train(demo=True, epochs=10, config_overrides={"validation_fraction": 0}, force=True)
    similar = similarity_build(progress=lambda fraction, message: None)
staff = User.objects.create_user("staff", password="pw-for-tests-only", is_staff=True, is_superuser=True)
site = {"token": Token.objects.create(user=staff).key, "product": ids[0], "classifier": trained["activated"],
        "similar": similar.status}
print("SITE " + json.dumps(site))
"""


class PrivateRedis:
    """A redis-server process of the test's own on one port: started, killed (SIGKILL) or hung (SIGSTOP)."""

    def __init__(self, port: int, log_dir: Path) -> None:
        self.port, self.log_dir, self.process = port, log_dir, None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.log_dir / f"redis-{self.starts}.log", "w")  # noqa: SIM115  (the server writes to it)
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.client(0).ping():
                    return
            except redis.exceptions.RedisError:
                time.sleep(0.05)
        pytest.fail(f"redis-server on port {self.port} did not answer in 10 s", pytrace=False)

    def client(self, db: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=2, socket_connect_timeout=2)

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL (a stopped process dies too) and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


def site_env(*, database_url: str, redis_port: int, workdir: Path) -> dict[str, str]:
    """The production shape on `redis_port` (no throttle switches: the throttles are under test too)."""
    return served_site_env(
        workdir,
        DATABASE_URL=database_url,
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        CELERY_BROKER_URL=f"redis://127.0.0.1:{redis_port}/1",
        TORCH_DEVICE="cpu",
    )


def admin_execute(admin_url: str, sql: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)


def build_site(env: dict[str, str], workdir: Path) -> dict:
    """Migrate and fill the site's database while collectstatic runs beside it; returns the setup's facts."""
    manage = [sys.executable, "manage.py"]
    setup = subprocess.Popen([*manage, "shell", "-c", SETUP_SCRIPT], cwd=ROOT, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    static = subprocess.run([*manage, "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, text=True,
                            capture_output=True, timeout=SETUP_TIMEOUT)  # fmt: skip
    output, _ = setup.communicate(timeout=SETUP_TIMEOUT)
    (workdir / "setup.log").write_text(output)
    assert static.returncode == 0, static.stdout + static.stderr
    assert setup.returncode == 0, output[-4000:]
    line = next(line for line in output.splitlines() if line.startswith("SITE "))
    return json.loads(line.removeprefix("SITE "))


@dataclass
class Answer:
    phase: str
    path: str
    status: int  # 0: no HTTP answer at all (refused, reset, or no answer within CLIENT_TIMEOUT)
    seconds: float
    started: float  # time.monotonic() when the request was sent
    sku: str = ""


CLIENT_TIMEOUT = 30  # longer than the bound the test asserts: a slow answer is measured, a hang is recorded as 0


def fetch(port: int, path: str, *, token: str = "", body: dict | None = None, phase: str = "") -> Answer:
    headers = {"Authorization": f"Token {token}"} if token else {}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:
        status = 0
    return Answer(phase, path, status, round(time.monotonic() - started, 3), started, (body or {}).get("sku", ""))


class Load:
    """Client threads cycling through `paths` (None: a product write) until stopped, or for `rounds` cycles."""

    def __init__(self, port: int, token: str, paths: list[str | None], *, phase: str, threads: int = 3) -> None:
        self.port, self.token, self.paths, self.phase = port, token, paths, phase
        self.answers: list[Answer] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.client, args=(n,), daemon=True) for n in range(threads)]
        self.rounds: int | None = None
        self.lock = threading.Lock()

    def client(self, number: int) -> None:
        done, offset = 0, number * 2  # the threads start at different places in the mix
        while not self.stop.is_set() and (self.rounds is None or done < self.rounds * len(self.paths)):
            path = self.paths[(offset + done) % len(self.paths)]
            if path is None:
                sku = f"RK-{self.phase}-{number}-{done}"
                answer = fetch(self.port, "/api/v1/products/", token=self.token, phase=self.phase,
                               body={"sku": sku, "title": f"Red android phone {sku}"})  # fmt: skip
            else:
                answer = fetch(self.port, path, phase=self.phase)
            with self.lock:
                self.answers.append(answer)
            done += 1

    def run_rounds(self, rounds: int) -> list[Answer]:
        self.rounds = rounds
        self.start()
        return self.join(stop=False)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self, *, stop: bool = True) -> list[Answer]:
        if stop:
            self.stop.set()
        for thread in self.threads:
            thread.join(timeout=CLIENT_TIMEOUT + 5)
        assert not any(thread.is_alive() for thread in self.threads), "a client thread never got an answer"
        return self.answers
