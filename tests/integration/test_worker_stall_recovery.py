"""Redis hangs for 20 s (SIGSTOP, then SIGCONT) under a real worker running a job that ends during the hang
("Couldn't ack"): the worker consumes again within 120 s,
by itself or through its watchdog (recommend.core.watchdog exits a worker that holds work without progress and
the test's supervisor loop restarts it, as systemd `Restart=always` would). Measured:
faults.worker_stall_recovery_seconds, from SIGCONT until a task sent after it is done."""

import signal
import threading
import time

import pytest

from recommend.core.jobs import job_create, job_sweep
from recommend.core.task_send import task_send_on_commit
from recommend.models import DerivedWork
from tests.integration import job_fault_handlers
from tests.integration.conftest import start_celery_worker, stop_celery_worker
from tests.integration.test_derived_work_lost import own_broker  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db(transaction=True)
HANG_SECONDS = 20
TARGET_SECONDS = 120


class Supervisor:
    """Restarts the worker whenever it exits, like systemd Restart=always."""

    def __init__(self, start) -> None:
        self.start, self.exits, self.stop = start, [], threading.Event()
        self.process = start(0)
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self) -> None:
        while not self.stop.wait(0.5):
            code = self.process.poll()
            if code is not None:
                self.exits.append(code)
                self.process = self.start(len(self.exits))

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        stop_celery_worker(self.process)


def probe():
    """A task whose outbox row the worker deletes when it ran."""
    from config.tasks import clear_expired_sessions

    task_send_on_commit(clear_expired_sessions, args=[], queue="default", fallback=lambda: None)
    return DerivedWork.objects.order_by("-created_at").values_list("pk", flat=True).first()


def done(work_id, timeout) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not DerivedWork.objects.filter(pk=work_id).exists():
            return time.monotonic() - started
        job_sweep()  # what beat does every minute (a message a dead worker swallowed is sent again)
        time.sleep(1)
    return None


def test_a_worker_consumes_again_after_redis_hung(own_broker, real_services, settings, tmp_path):  # noqa: F811
    url, server = own_broker
    settings.DERIVED_WORK_RESEND_SECONDS = 15
    env = {"CELERY_BROKER_URL": url, "WORKER_STALL_SECONDS": "30", "WORKER_WATCHDOG_INTERVAL": "5",
           "WORKER_LIVENESS_FILE": str(tmp_path / "alive")}  # fmt: skip

    def start(n):
        return start_celery_worker(db=real_services, log_path=tmp_path / f"worker-{n}.log", name="stall",
                                   queues=f"default,{job_fault_handlers.FAULT_QUEUE}", env_extra=env,
                                   extra_args=("-I", job_fault_handlers.__name__))  # fmt: skip

    supervisor = Supervisor(start)
    try:
        assert done(probe(), 30) is not None  # healthy
        job_create(kind="fault_slow", params={"seconds": 6})  # it ends (and is acked) while Redis hangs
        time.sleep(2)
        server.signal(signal.SIGSTOP)
        time.sleep(HANG_SECONDS)
        server.signal(signal.SIGCONT)
        resumed = time.monotonic()
        first = probe()
        waited = done(first, TARGET_SECONDS + 60)
        recovery = time.monotonic() - resumed if waited is not None else None
    finally:
        supervisor.close()
    logs = "".join(path.read_text() for path in sorted(tmp_path.glob("worker-*.log")))
    ack_failed, fired = "Couldn't ack" in logs, "worker watchdog: no progress" in logs or "wrote no heartbeat" in logs
    print(f"faults.worker_stall_recovery_seconds = {recovery and round(recovery, 1)}; worker exits {supervisor.exits}; "
          f"'Couldn't ack' logged: {ack_failed}; watchdog fired: {fired}")  # fmt: skip
    assert recovery is not None and recovery <= TARGET_SECONDS, logs[-4000:]
