"""The worker watchdog's rule: a worker that holds work while the broker answers and makes no progress for
WORKER_STALL_SECONDS exits (its supervisor restarts it); an idle worker, a busy one, or one cut off from the broker
never does. And the liveness command a container probe runs."""

import os
import threading
import time

import pytest
from django.core.management import CommandError, call_command

from recommend.core import watchdog
from recommend.core.watchdog import Observation, StallDecision, WorkerProbe
from recommend.models import Job

STALL = 60.0


def run(decision, looks):
    """Feed (seconds, observation fields) in order; the reasons given, None while fine."""
    return [decision.observe(Observation(now=t, **fields)) for t, fields in looks]


def test_work_waiting_and_no_progress_past_the_limit_is_a_stall():
    reasons = run(
        StallDecision(stall_after=STALL, last_progress=0.0),
        [
            (10, {"progressed": False, "waiting": 3, "active": 0}),
            (61, {"progressed": False, "waiting": 3, "active": 0}),
        ],
    )

    assert reasons[0] is None
    assert "no progress for 61 s with 3 message(s) waiting" in reasons[1]


def test_an_idle_worker_is_never_stalled_and_the_clock_starts_at_its_last_idle_look():
    decision = StallDecision(stall_after=STALL, last_progress=0.0)
    reasons = run(
        decision,
        [
            (500, {"progressed": False, "waiting": 0, "active": 0}),  # nothing to do for minutes: fine
            (530, {"progressed": False, "waiting": 2, "active": 0}),
            (560, {"progressed": False, "waiting": 2, "active": 0}),
            (561, {"progressed": False, "waiting": 2, "active": 0}),
        ],
    )

    assert reasons[:3] == [None, None, None]
    assert reasons[3] is not None


@pytest.mark.parametrize(
    "progress",
    [{"progressed": True}, {"fresh_heartbeat": True}, {"busy_in_limit": True}],
    ids=["tasks-done-or-received", "a-job-heartbeats", "a-small-task-in-its-time-limit"],
)
def test_a_worker_that_progresses_is_never_stalled_however_long_the_queue(progress):
    looks = [(t, {"waiting": 500, "active": 1, "progressed": False, **progress}) for t in range(0, 3600, 10)]

    assert set(run(StallDecision(stall_after=STALL, last_progress=0.0), looks)) == {None}


def test_no_decision_while_the_broker_cannot_be_asked_and_the_clock_restarts_when_it_answers():
    decision = StallDecision(stall_after=STALL, last_progress=0.0)
    away = [(t, {"progressed": False, "waiting": None, "active": 0}) for t in range(0, 300, 10)]
    back = [(300 + t, {"progressed": False, "waiting": 4, "active": 0}) for t in (10, 50, 61)]

    reasons = run(decision, away + back)

    assert set(reasons[:-1]) == {None}  # 5 minutes unreachable: no restart (it would not help)
    assert reasons[-1] is not None  # 61 s after Redis answered again, still stuck: restart


def test_a_job_running_here_without_heartbeat_is_a_stall_at_once():
    reason = StallDecision(stall_after=STALL, last_progress=0.0).observe(
        Observation(now=5, progressed=True, waiting=0, active=1, stale_jobs=(42,))
    )

    assert reason == "job(s) [42] running here wrote no heartbeat for over 60 s"


def test_the_probe_reads_job_heartbeats_of_this_worker_only(db, settings, monkeypatch):
    settings.WORKER_STALL_SECONDS = 60
    monkeypatch.setattr(watchdog, "queue_size", lambda queue: 0)
    probe = WorkerProbe(hostname="w1@host", queues=["default"])
    now = watchdog.timezone.now()
    old = now - watchdog.timedelta(seconds=120)
    Job.objects.create(kind="classify", status="running", worker="w1@host", started_at=now, heartbeat_at=old)
    Job.objects.create(kind="classify", status="running", worker="w1@host", started_at=old, heartbeat_at=old)  # before
    Job.objects.create(kind="classify", status="running", worker="w2@host", started_at=now, heartbeat_at=old)
    fresh = Job.objects.create(kind="classify", status="running", worker="w1@host", started_at=now, heartbeat_at=now)

    seen = probe.look()

    assert seen.waiting == 0 and seen.fresh_heartbeat and len(seen.stale_jobs) == 1
    assert fresh.pk not in seen.stale_jobs


def test_the_probe_says_nothing_when_the_broker_is_away(monkeypatch):
    monkeypatch.setattr(watchdog, "queue_size", lambda queue: None)

    assert WorkerProbe(hostname="w@h", queues=["default", "inference"]).look().waiting is None


def test_the_watch_loop_calls_on_stall_and_touches_the_liveness_file_while_healthy(settings, tmp_path):
    settings.WORKER_WATCHDOG_INTERVAL = 0.01
    settings.WORKER_LIVENESS_FILE = str(tmp_path / "alive")

    class Probe:
        looks = 0

        def look(self):
            self.looks += 1
            return Observation(now=self.looks * 1.0, progressed=False, waiting=1, active=0)

    stalls = []
    watchdog.watch(probe=Probe(), decision=StallDecision(stall_after=3, last_progress=0.0), stop=threading.Event(),
                   on_stall=stalls.append)  # fmt: skip

    assert len(stalls) == 1 and "no progress" in stalls[0]
    assert (tmp_path / "alive").exists()


def test_liveness_command(settings, tmp_path):
    alive = tmp_path / "alive"
    with pytest.raises(CommandError, match="does not exist"):
        call_command("worker_liveness", file=str(alive))
    watchdog.liveness_touch(alive)
    call_command("worker_liveness", file=str(alive))  # exit 0
    old = time.time() - 600
    os.utime(alive, (old, old))
    with pytest.raises(CommandError, match="not alive: last healthy look 600 s ago"):
        call_command("worker_liveness", file=str(alive), max_age=60)
