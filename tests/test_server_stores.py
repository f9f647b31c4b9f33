"""What the Redis and PostgreSQL stores promise beyond the shared conformance suite."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import redis
from redis.crc import key_slot

from liveops_rules import Coupon, RewardItem, StoreError, User
from liveops_rules.accounting import Accounting, check_ledger
from liveops_rules.stores.postgres_store import SCHEMA_VERSION, PostgresStore, schema_sql
from liveops_rules.stores.redis_store import RedisStore

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)


def exercise(accounting: Accounting) -> None:
    """One of every kind of operation."""
    promotion = Coupon(
        external_id="slots",
        enabled=True,
        bonus=[RewardItem("gem")],
        redeem_total_limit=10,
        redeem_user_limit=2,
        redeem_code_limit=5,
    )
    accounting.import_promotions([promotion])
    accounting.add_codes(promotion, ["SLOT1", "SLOT2"])
    assert accounting.redeem("SLOT1", User("ann"), AT, idempotency_key="k1").ok
    held = accounting.reserve(User("bob"), AT, hold=timedelta(minutes=5), code="SLOT2")
    accounting.commit(held.operation_id, AT)
    gone = accounting.reserve(User("cy"), AT, hold=timedelta(minutes=5), code="SLOT2")
    accounting.release(gone.operation_id, AT)
    accounting.set_user_limit(promotion, "ann", 3, AT)
    accounting.change_user_limit(promotion, "ann", 1, AT)
    accounting.reset_user_limit(promotion, "bob", AT)
    assert check_ledger(accounting.store) == []


def test_every_key_of_a_redis_store_lives_in_one_cluster_slot(redis_server, closing):
    prefix = f"slot-{uuid.uuid4().hex}"
    store = closing(RedisStore(redis_server.url, prefix=prefix))
    exercise(Accounting(store))
    admin = closing(redis.Redis.from_url(redis_server.url))
    keys = list(admin.scan_iter(match=f"{{{prefix}}}:*"))
    assert len(keys) > 10
    assert {key_slot(key) for key in keys} == {key_slot(prefix.encode())}


def test_redis_scripts_are_loaded_again_after_script_flush(redis_server, closing):
    store = closing(RedisStore(redis_server.url, prefix=f"flush-{uuid.uuid4().hex}"))
    accounting = Accounting(store)
    exercise(accounting)
    closing(redis.Redis.from_url(redis_server.url)).script_flush()
    assert accounting.redeem("SLOT1", User("dee"), AT).ok
    assert check_ledger(store) == []


def test_a_redis_store_of_another_schema_version_is_refused(redis_server, closing):
    prefix = f"v-{uuid.uuid4().hex}"
    closing(redis.Redis.from_url(redis_server.url)).set(f"{{{prefix}}}:schema", "99")
    with pytest.raises(StoreError, match="schema version 99"):
        RedisStore(redis_server.url, prefix=prefix)


def test_create_schema_is_idempotent_and_safe_to_run_concurrently(postgres_server, closing):
    schema = f"cs_{uuid.uuid4().hex}"
    errors: list[BaseException] = []

    def create() -> None:
        try:
            PostgresStore.create_schema(postgres_server.url, schema=schema)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    PostgresStore.create_schema(postgres_server.url, schema=schema)
    with psycopg.connect(postgres_server.url) as connection:
        versions = connection.execute(f"SELECT version FROM {schema}.schema_version").fetchall()
    assert versions == [(SCHEMA_VERSION,)]
    exercise(Accounting(closing(PostgresStore(postgres_server.url, schema=schema, pool_size=1))))


def test_the_shipped_sql_file_is_what_create_schema_runs():
    sql = schema_sql("shop_a")
    assert "{schema}" not in sql
    assert 'CREATE TABLE IF NOT EXISTS "shop_a".counters' in sql


def test_a_postgres_schema_of_another_version_is_refused(postgres_server):
    schema = f"ver_{uuid.uuid4().hex}"
    PostgresStore.create_schema(postgres_server.url, schema=schema)
    with psycopg.connect(postgres_server.url, autocommit=True) as connection:
        connection.execute(f"UPDATE {schema}.schema_version SET version = 99")
    with pytest.raises(StoreError, match="version 99"):
        PostgresStore(postgres_server.url, schema=schema, pool_size=1)


def test_serialization_failures_are_retried_inside_the_store(postgres_server, closing):
    # Under SERIALIZABLE, concurrent upserts of one row fail with serialization errors: the
    # store must retry them, never surface them, and still never pass the limit.
    from liveops_rules import open_store
    from tests.test_concurrency import hammer, prepare

    isolation = "options=-c%20default_transaction_isolation%3Dserializable"
    uri = (
        f"{postgres_server.url}?schema=ser_{uuid.uuid4().hex}&create_schema=true"
        f"&pool_size=8&retry_window=60&{isolation}"
    )
    store = closing(open_store(uri))
    assert isinstance(store, PostgresStore)
    accounting = prepare(store, ["RACE1"], redeem_total_limit=200)
    won = hammer(accounting, 8, 60, lambda w, a: ("RACE1", f"user-{w}-{a}"))
    assert won == 200
    assert store.retries > 0, "no serialization failure happened: the test proved nothing"
    assert store.counters()["t|coupon:race"].used == 200
    assert check_ledger(store) == []
