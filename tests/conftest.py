"""Servers for the tests: one Redis and one PostgreSQL shared by the session, started on
demand, and servers of a test's own for the tests that kill or restart them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from tests.servers import IN_CI, PostgresServer, RedisServer, ServerMissing

_S = TypeVar("_S", RedisServer, PostgresServer)


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
