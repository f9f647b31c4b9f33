"""Stores are chosen by URI."""

from __future__ import annotations

import uuid

import pytest

from liveops_rules import (
    InMemoryStore,
    RedemptionStore,
    SQLiteStore,
    StoreError,
    ValidationError,
    open_store,
)


def test_memory_and_sqlite_uris(tmp_path, closing):
    assert isinstance(closing(open_store("memory://")), InMemoryStore)
    store = closing(open_store(f"sqlite:///{tmp_path / 'a.db'}?synchronous=normal"))
    assert isinstance(store, SQLiteStore)
    assert isinstance(store, RedemptionStore)


@pytest.mark.parametrize(
    "uri",
    ["bogus://x", "sqlite://host/x.db", "sqlite:///", "sqlite:///x.db?journal=off", 5],
)
def test_bad_uris_are_validation_errors(uri, closing):
    with pytest.raises(ValidationError):
        closing(open_store(uri))  # type: ignore[arg-type]


def test_redis_uris_carry_the_prefix(redis_server, closing):
    from liveops_rules.stores.redis_store import RedisStore

    store = closing(open_store(f"{redis_server.url}?prefix=shop1&retry_window=2"))
    assert isinstance(store, RedisStore)
    assert store.prefix == "shop1"
    store.put_promotion("coupon:x", "{}")
    same = closing(open_store(f"{redis_server.url}?prefix=shop1"))
    assert same.promotion("coupon:x") == "{}"
    other = closing(open_store(f"{redis_server.url}?prefix=shop2"))
    assert other.promotion("coupon:x") is None


def test_postgresql_uris_carry_the_schema_and_create_it_only_when_asked(postgres_server, closing):
    from liveops_rules.stores.postgres_store import PostgresStore

    schema = f"opened_{uuid.uuid4().hex}"  # not left over from an earlier test
    with pytest.raises(StoreError, match="create_schema"):
        closing(open_store(f"{postgres_server.url}?schema={schema}"))
    uri = f"{postgres_server.url}?schema={schema}&create_schema=true&pool_size=2"
    store = closing(open_store(uri))
    assert isinstance(store, PostgresStore)
    assert store.schema == schema
    store.close()
    closing(open_store(f"{postgres_server.url}?schema={schema}"))


@pytest.mark.parametrize(
    "uri",
    [
        "redis://127.0.0.1:1/0?prefix={bad}",
        "redis://127.0.0.1:1/0?retry_window=soon",
        "postgresql://127.0.0.1:1/db?schema=Bad-Name",
        "postgresql://127.0.0.1:1/db?pool_size=0",
        "postgresql://127.0.0.1:1/db?create_schema=maybe",
    ],
)
def test_bad_server_options_are_validation_errors(uri, closing):
    with pytest.raises(ValidationError):
        closing(open_store(uri))


def test_unreachable_servers_are_store_errors(closing):
    from liveops_rules.stores.postgres_store import PostgresStore
    from liveops_rules.stores.redis_store import RedisStore

    with pytest.raises(StoreError, match=r"Redis at 127\.0\.0\.1:1"):
        closing(RedisStore("redis://127.0.0.1:1/0", retry_window=0.2))
    with pytest.raises(StoreError, match=r"PostgreSQL at 127\.0\.0\.1:1"):
        closing(PostgresStore("postgresql://postgres@127.0.0.1:1/db", connect_timeout=1))


def test_unopenable_files_are_store_errors(tmp_path, closing):
    with pytest.raises(StoreError, match="cannot open"):
        closing(SQLiteStore(tmp_path / "no" / "such" / "dir.db"))
