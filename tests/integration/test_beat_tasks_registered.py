"""A real `celery worker` registers the task of every celery beat entry (config/celery.py): none of the scheduled
work (recommender retrain, anonymous-event retention, session cleanup, the job sweep...) is sent to a worker that
does not know it. The worker has a broker key prefix of its own, so the session worker never answers for it."""

from celery import current_app

from tests.integration.conftest import start_celery_worker, stop_celery_worker


def test_a_real_worker_registers_every_beat_task(real_services, private_broker, tmp_path):
    prefix, _ = private_broker
    process = start_celery_worker(
        db=real_services,
        log_path=tmp_path / "worker.log",
        name="beatcheck",
        env_extra={"CELERY_BROKER_KEY_PREFIX": prefix},
    )
    try:
        replies = current_app.control.inspect(timeout=5.0).registered() or {}
    finally:
        stop_celery_worker(process)

    node = next(name for name in replies if name.startswith("beatcheck@"))
    registered = {line.split()[0] for line in replies[node]}  # "name [rate_limit=...]"
    unregistered = sorted(
        entry["task"] for entry in current_app.conf.beat_schedule.values() if entry["task"] not in registered
    )
    print(f"beat.unregistered_tasks = {len(unregistered)} {unregistered}")
    assert unregistered == []
