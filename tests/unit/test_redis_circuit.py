"""The circuit breaker in front of Redis (config.redis_circuit): after a connection error or timeout, the cache
and the broker's publishes skip that server for a while instead of waiting for its timeout on every call."""

import kombu.exceptions
import pytest
import redis
from django_redis.cache import RedisCache

from config import redis_circuit
from recommend.classification.tasks import classify_products
from recommend.core import jobs
from recommend.core.jobs import DEFERRED, job_dispatch
from recommend.core.task_send import task_send
from recommend.models import Job

DEAD = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def dead_cache() -> RedisCache:
    options = {"IGNORE_EXCEPTIONS": True, "REDIS_CLIENT_CLASS": "config.redis_circuit.CircuitRedis"}
    return RedisCache(DEAD, {"OPTIONS": options})


@pytest.fixture
def redis_calls(monkeypatch):
    """Every command that reaches redis-py, failing as a stopped server would (a timeout)."""
    calls = []

    def timed_out(self, *args, **options):
        calls.append(args[0])
        raise redis.exceptions.TimeoutError("Timeout reading from socket")

    monkeypatch.setattr(redis.Redis, "execute_command", timed_out)
    return calls


def later(monkeypatch, seconds: float) -> None:
    now = redis_circuit.clock()
    monkeypatch.setattr(redis_circuit, "clock", lambda: now + seconds)


def test_a_cache_server_that_timed_out_is_skipped_until_its_window_passes(redis_calls, settings, monkeypatch):
    cache = dead_cache()

    assert cache.get("a") is None and redis_calls == ["GET"]
    assert cache.set("b", 1) is None and cache.get("c", "miss") == "miss"
    assert redis_calls == ["GET"]  # skipped: misses at once, the server is not asked

    later(monkeypatch, settings.REDIS_RETRY_AFTER_SECONDS + 0.1)
    assert cache.get("d") is None and redis_calls == ["GET", "GET"]  # tried again, failed again


def test_an_error_answer_from_a_live_server_does_not_open_the_circuit(monkeypatch):
    calls = []

    def refused_command(self, *args, **options):
        calls.append(args[0])
        raise redis.exceptions.ResponseError("OOM command not allowed when used memory > 'maxmemory'")

    monkeypatch.setattr(redis.Redis, "execute_command", refused_command)
    cache = dead_cache()

    cache.get("a")
    cache.get("b")

    assert calls == ["GET", "GET"]


def test_only_the_failed_address_is_skipped(redis_calls, monkeypatch):
    dead_cache().get("a")
    other = RedisCache("redis://127.0.0.1:2/0", {"OPTIONS": dead_cache()._params["OPTIONS"]})

    other.get("b")

    assert redis_calls == ["GET", "GET"]


def test_a_skipped_call_is_not_logged_but_the_failure_is(redis_calls, settings, caplog):
    settings.DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    cache = dead_cache()

    for key in "abc":
        cache.get(key)

    ignored = [r for r in caplog.records if r.name == "django_redis.cache"]
    tripped = [r for r in caplog.records if r.name == "config.redis_circuit"]
    assert len(ignored) == 1 and len(tripped) == 1
    assert "cache redis 127.0.0.1:1 unreachable (TimeoutError" in tripped[0].getMessage()


@pytest.fixture
def publishes(settings, monkeypatch):
    """The broker configured but timing out: every publish that reaches kombu is counted and fails."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    sent = []

    def timed_out(*args, **kwargs):
        sent.append(args)
        raise kombu.exceptions.OperationalError("Timeout reading from socket")

    monkeypatch.setattr(jobs.current_app, "send_task", timed_out)
    monkeypatch.setattr(classify_products, "apply_async", timed_out)
    return sent


@pytest.mark.django_db
def test_after_a_failed_publish_the_broker_is_not_tried_until_its_window_passes(publishes, settings, monkeypatch):
    first, second, third = (Job.objects.create(kind=Job.Kind.BUILD_SIMILAR) for _ in range(3))

    assert not job_dispatch(job_id=first.pk, defer=True) and len(publishes) == 1
    assert not job_dispatch(job_id=second.pk, defer=True) and len(publishes) == 1

    second.refresh_from_db()
    assert second.status == Job.Status.QUEUED and second.message.startswith(DEFERRED)
    assert "is skipped for" in second.message and "Timeout reading from socket" in second.message

    later(monkeypatch, settings.BROKER_RETRY_AFTER_SECONDS + 0.1)
    assert not job_dispatch(job_id=third.pk, defer=True) and len(publishes) == 2


def test_a_task_send_while_the_broker_is_skipped_goes_straight_to_its_fallback(publishes):
    kept = []

    for product_id in (1, 2):
        sent = task_send(classify_products, args=[[product_id]], queue="inference", fallback=lambda: kept.append(1))
        assert not sent

    assert len(publishes) == 1 and kept == [1, 1]


def test_the_broker_address_in_messages_hides_its_password(settings, monkeypatch):
    monkeypatch.setattr(jobs.current_app.conf, "broker_write_url", "redis://:s3cret@cache:6379/1")

    assert redis_circuit.broker_address() == "broker redis://:**@cache:6379/1"
