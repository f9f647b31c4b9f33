"""Servers shared by the whole session: one Redis and one PostgreSQL, started on demand."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import IN_CI, PostgresServer, RedisServer, ServerMissing


def _missing(error: ServerMissing) -> None:
    if IN_CI:
        pytest.fail(f"CI=true and {error}", pytrace=False)
    pytest.skip(str(error))


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server on loopback with appendfsync always, for the whole session."""
    try:
        server = RedisServer()
    except ServerMissing as error:
        _missing(error)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster on loopback, for the whole session."""
    try:
        server = PostgresServer()
    except ServerMissing as error:
        _missing(error)
    yield server
    server.destroy()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own, to kill and restart."""
    try:
        server = RedisServer()
    except ServerMissing as error:
        _missing(error)
    yield server
    server.stop()


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of the test's own, to crash and restart."""
    try:
        server = PostgresServer()
    except ServerMissing as error:
        _missing(error)
    yield server
    server.destroy()
