"""Job handlers that misbehave on purpose, for tests/integration/test_job_faults.py.

Imported by the test process (so `job_create` knows the kinds) and by the test's workers (`celery -I`).
They use their own queue, so the session's worker on the real queues never receives them.
"""

import time
from dataclasses import dataclass
from pathlib import Path

from recommend.core.jobs import job_handler

FAULT_QUEUE = "job_faults"


@dataclass(frozen=True)
class SlowParams:
    seconds: float = 5.0
    runs_file: str = ""  # each run appends a line here, so a test can count how many times the handler ran


@job_handler("fault_slow", queue=FAULT_QUEUE, params=SlowParams, label="Slow test job")
def slow(job, params, progress):
    if params.runs_file:
        with open(params.runs_file, "a") as runs:
            runs.write(f"{job.pk} attempt {job.attempts}\n")
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < params.seconds:
        progress(min(elapsed / params.seconds, 0.99), "working")
        time.sleep(0.1)
    return {
        "slept": params.seconds,
        "runs": len(Path(params.runs_file).read_text().splitlines()) if params.runs_file else 0,
    }


@job_handler("fault_overrun", queue=FAULT_QUEUE, params=SlowParams, time_limit=2, label="Overrunning test job")
def overrun(job, params, progress):
    progress(0.1, "starting a long computation that never reports progress")
    time.sleep(params.seconds)  # Celery's soft time limit interrupts this
    return {}
