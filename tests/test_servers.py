"""The throwaway servers never let a test talk to someone else's server: a port taken between
the probe and the bind (by another server, as on a shared machine) is left for another."""

from __future__ import annotations

import psycopg
import pytest
import redis

from tests import servers
from tests.servers import PortTaken, PostgresServer, RedisServer


def redis_dir(port: int) -> str:
    client = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
    try:
        return str(client.config_get("dir")["dir"])
    finally:
        client.close()


def postgres_data(url: str) -> str:
    with psycopg.connect(url) as connection:
        row = connection.execute("SHOW data_directory").fetchone()
    assert row is not None
    return str(row[0])


@pytest.fixture
def taken_first(monkeypatch):
    """`taken_first(port)`: the next server start probes `port` first, then free ones."""
    probe = servers.free_port

    def take(port: int) -> None:
        offered = iter([port])
        monkeypatch.setattr(servers, "free_port", lambda: next(offered, None) or probe())

    return take


def test_a_redis_server_leaves_a_port_another_redis_took(own_redis, taken_first, request):
    taken_first(own_redis.port)
    server = RedisServer()
    request.addfinalizer(server.stop)
    assert server.port != own_redis.port
    assert redis_dir(server.port) == str(server.directory)
    assert redis_dir(own_redis.port) == str(own_redis.directory)  # the other one is untouched


def test_a_redis_restart_on_a_port_someone_else_took_fails_instead_of_using_it(
    own_redis, taken_first, request
):
    own_redis.kill()
    taken_first(own_redis.port)
    squatter = RedisServer()  # takes the port while ours is down
    request.addfinalizer(squatter.stop)
    assert squatter.port == own_redis.port
    with pytest.raises(PortTaken):
        own_redis.start()
    assert own_redis.process is None


def test_a_postgres_server_leaves_a_port_another_postgres_took(
    postgres_server, taken_first, request
):
    taken_first(postgres_server.port)
    server = PostgresServer()
    request.addfinalizer(server.destroy)
    assert server.port != postgres_server.port
    assert postgres_data(server.url) == str(server.data)
    assert postgres_data(postgres_server.url) == str(postgres_server.data)
