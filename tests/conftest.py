"""Servers for the tests: one Redis and one PostgreSQL shared by the session, started on
demand, and servers of a test's own for the tests that kill or restart them.

Every test is also checked for leaks: at its teardown the garbage is collected, so that a
finalizer's complaint (an unclosed connection's ResourceWarning, which filterwarnings=error
makes an error) is charged to the test that leaked and not to an innocent later one, and a
connection pool or proxy the test left running fails it."""

from __future__ import annotations

import contextlib
import gc
import re
import threading
from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

import pytest
from hypothesis import HealthCheck, settings

from tests.lossy_proxy import THREAD_PREFIX as PROXY_THREADS
from tests.servers import IN_CI, PostgresServer, RedisServer, ServerMissing

_S = TypeVar("_S", RedisServer, PostgresServer)

# No property test depends on the machine's speed: no deadline per example, and no health
# check that fails when generating data is slow (both fire on a busy machine).
settings.register_profile(
    "machine-independent", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("machine-independent")

# The threads psycopg_pool starts for a pool (named "<pool>-scheduler", "<pool>-worker-<n>")
# and the proxy's: alive after a test's teardown, they belong to something left open.
_LEAK_THREAD = re.compile(rf"(.+-(scheduler|worker-\d+)|{PROXY_THREADS}-.*)")


def _serve(start: Callable[[], _S], stop: Callable[[_S], None]) -> Iterator[_S]:
    """Start a server, or fail (CI=true) or skip naming the package when it is missing."""
    try:
        server = start()
    except ServerMissing as error:
        if IN_CI:
            pytest.fail(f"CI=true and {error}", pytrace=False)
        pytest.skip(str(error))
    yield server
    stop(server)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server on loopback with appendfsync always, for the whole session."""
    yield from _serve(RedisServer, RedisServer.stop)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster on loopback, for the whole session."""
    yield from _serve(PostgresServer, PostgresServer.destroy)


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own, to kill and restart."""
    yield from _serve(RedisServer, RedisServer.stop)


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of the test's own, to crash and restart."""
    yield from _serve(PostgresServer, PostgresServer.destroy)


class Closable(Protocol):
    def close(self) -> None: ...


_C = TypeVar("_C", bound=Closable)


@pytest.fixture
def closing() -> Iterator[Callable[[_C], _C]]:
    """`closing(thing)` returns `thing` and closes it after the test, passed or failed (the
    last registered first; every one is closed even when another's close raises)."""
    with contextlib.ExitStack() as stack:

        def register(thing: _C) -> _C:
            stack.callback(thing.close)
            return thing

        yield register


def pytest_sessionfinish() -> None:
    """Give the objects frozen after each test back to the collector."""
    gc.unfreeze()


def _leak_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if _LEAK_THREAD.fullmatch(t.name) and t.is_alive()}


_DROPPED_OPEN: list[str] = []  # pools that were garbage while open: a store never closed


def _record_pools_dropped_open() -> None:
    """A pool dropped without close() is deleted at once (its threads then stop) when nothing
    else refers to it: its threads cannot tell, so its finalizer does."""
    try:
        from psycopg_pool import ConnectionPool
    except ImportError:  # the postgres extra is not installed: no pools
        return
    finalize = ConnectionPool.__del__

    def recording_finalize(pool: ConnectionPool) -> None:  # type: ignore[type-arg]
        try:
            dropped_open = not pool.closed
        except AttributeError:  # its __init__ failed: it never opened
            dropped_open = False
        if dropped_open:
            _DROPPED_OPEN.append(pool.name)
        finalize(pool)

    ConnectionPool.__del__ = recording_finalize  # type: ignore[method-assign]


_record_pools_dropped_open()


@pytest.fixture(autouse=True)
def _no_leaks() -> Iterator[None]:
    """Collect the garbage at teardown, and fail a test that left a pool or proxy open."""
    before = _leak_threads()
    _DROPPED_OPEN.clear()
    yield
    gc.collect()
    # What survives is moved out of the collector's sight: the next test's collection scans
    # only what was made since (a full one takes up to seconds on this suite's heap).
    gc.freeze()
    found = []
    if left := sorted(thread.name for thread in _leak_threads() - before):
        found.append(f"threads {left} still run")
    if _DROPPED_OPEN:
        found.append(f"{len(_DROPPED_OPEN)} connection pool(s) were dropped unclosed")
        _DROPPED_OPEN.clear()
    if found:
        pytest.fail(f"the test left a store or LossyProxy open: {'; '.join(found)}", pytrace=False)
