"""Fail fast while a Redis server is known to be down or hung (a circuit breaker per address, per process).

The cache ignores its errors (`IGNORE_EXCEPTIONS`: a failed call is a miss) and every call gives up after
`REDIS_SOCKET_TIMEOUT`, but a page makes a dozen cache calls: with a hung Redis (the process stopped, the
TCP port still accepting) each waits the whole timeout, so a page took 4-9 s and requests queued behind it.
A publish to a hung broker is worse: the send, then kombu's reconnects (each waits for a PING), ~4 socket
timeouts. So the first connection error or timeout on an address opens its circuit: for
`REDIS_RETRY_AFTER_SECONDS` (cache) or `BROKER_RETRY_AFTER_SECONDS` (broker) this process does not try that
address at all (a cache call is a miss at once, a publish goes to its fallback: a deferred job), then the
next call tries again. Each worker process pays one timeout per window instead of one per call.

Circuits are keyed by address, so a test pointing one client at a dead port never affects another.
"""

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import kombu.exceptions
import redis
from django.conf import settings
from kombu.utils.url import maybe_sanitize_url

logger = logging.getLogger(__name__)

# Errors of a broker that is down or unreachable (kombu wraps the transport's own).
BROKER_ERRORS: tuple[type[BaseException], ...] = (kombu.exceptions.OperationalError, OSError, ConnectionError)
# Errors of a cache server that is down or hung (a ResponseError is an answer: the server is up).
REDIS_DOWN_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

clock = time.monotonic  # tests move it on instead of sleeping
_lock = threading.Lock()
_open: dict[str, tuple[float, str]] = {}  # address -> (monotonic time it may be tried again, why it failed)


def circuit_failure(address: str) -> str | None:
    """Why `address` is skipped now ("failed 1.2 s ago: ..."), or None when it may be tried."""
    entry = _open.get(address)
    if entry is None:
        return None
    until, reason = entry
    now = clock()
    if now >= until:
        return None
    return f"{address} is skipped for {until - now:.1f} s more after an error: {reason}"


def circuit_trip(address: str, *, seconds: float, error: BaseException) -> None:
    """`address` failed: skip it for `seconds` (0 turns the breaker off)."""
    if seconds <= 0:
        return
    reason = f"{type(error).__name__}: {error}"[:200]
    with _lock:
        _open[address] = (clock() + seconds, reason)
    logger.warning("%s unreachable (%s): not tried again for %s s", address, reason, seconds)


def circuits_reset() -> None:
    """Forget every failure (tests; the next call tries each address again)."""
    with _lock:
        _open.clear()


class CircuitOpenError(redis.exceptions.ConnectionError):
    """A cache call skipped because its server failed moments ago (django-redis treats it as a miss)."""


class CircuitRedis(redis.Redis):
    """The cache's Redis client (django-redis `REDIS_CLIENT_CLASS`): skips a server that just failed."""

    def _address(self) -> str:
        kwargs = self.connection_pool.connection_kwargs
        where = kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
        return f"cache redis {where}"

    def execute_command(self, *args: Any, **options: Any) -> Any:
        address = self._address()
        if failure := circuit_failure(address):
            raise CircuitOpenError(failure)
        try:
            return super().execute_command(*args, **options)
        except REDIS_DOWN_ERRORS as error:
            circuit_trip(address, seconds=settings.REDIS_RETRY_AFTER_SECONDS, error=error)
            raise

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        if failure := circuit_failure(self._address()):
            raise CircuitOpenError(failure)
        return super().pipeline(transaction, shard_hint)


class BrokerCircuitOpenError(kombu.exceptions.OperationalError):
    """A publish skipped because the broker failed moments ago (callers take their broker-down path)."""


def broker_address() -> str:
    """The broker as logs and job messages may show it (a password in the URL is masked)."""
    from celery import current_app

    conf = current_app.conf
    return f"broker {maybe_sanitize_url(conf.broker_write_url or conf.broker_url)}"


@contextmanager
def broker_circuit() -> Iterator[None]:
    """Wrap one publish: raises BrokerCircuitOpenError at once while the broker's circuit is open, and
    opens it when the publish fails with a broker error (which is raised as before)."""
    address = broker_address()
    if failure := circuit_failure(address):
        raise BrokerCircuitOpenError(failure)
    try:
        yield
    except BROKER_ERRORS as error:
        circuit_trip(address, seconds=settings.BROKER_RETRY_AFTER_SECONDS, error=error)
        raise


class SkippedCallFilter(logging.Filter):
    """Drop django-redis' "Exception ignored" records of calls the circuit skipped: the trip logged once."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(getattr(error, "__cause__", None), CircuitOpenError)
