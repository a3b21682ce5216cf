"""An import killed half-way (SIGKILL, as an OOM kill or a lost machine would): with --strict nothing is
written; without, the batches written so far stay and a rerun completes the file without duplicates."""

import os
import signal
import subprocess
import sys
import time

import pytest

from catalog.models import Product
from tests.integration.conftest import ROOT

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 20_000


@pytest.fixture
def big_file(tmp_path):
    path = tmp_path / "products.csv"
    lines = ["sku,title,price"] + [f"K{n:06d},Killed import product {n},{n % 97}.50" for n in range(ROWS)]
    path.write_text("\n".join(lines) + "\n")
    return path


def start_import(db, path, *extra):
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "IMPORT_BATCH_SIZE": "200",
    }
    command = [sys.executable, "manage.py", "import_catalog", "--file", str(path), "-v0",
               "--map", "sku=sku", "--map", "title=title", "--map", "price=price", *extra]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def kill_when(process, condition, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        assert process.poll() is None, "the import finished before it could be killed: use a larger file"
        time.sleep(0.05)
    assert process.poll() is None, "the import finished before it could be killed: use a larger file"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def test_a_killed_import_without_strict_keeps_its_batches_and_a_rerun_completes_it(real_services, big_file):
    process = start_import(real_services, big_file)
    kill_when(process, lambda: Product.objects.count() >= 1000)
    written = Product.objects.count()
    assert 0 < written < ROWS

    rerun = start_import(real_services, big_file)
    assert rerun.wait(timeout=300) == 0, rerun.stdout.read().decode()

    assert Product.objects.count() == ROWS
    assert Product.objects.values("sku").distinct().count() == ROWS


def test_a_killed_strict_import_writes_nothing(real_services, big_file):
    process = start_import(real_services, big_file, "--strict")
    started = time.monotonic()
    kill_when(process, lambda: time.monotonic() - started > 3)

    assert Product.objects.count() == 0
