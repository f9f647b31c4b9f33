"""Errors that are what they seem: each store reports what went wrong at once, in the library's
own error types, with the server's reason, and retries only what a retry can mend."""

from __future__ import annotations

import secrets
import socket
import sqlite3
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from liveops_rules import (
    Coupon,
    RewardItem,
    StoreError,
    TransactionConflictError,
    User,
    ValidationError,
)
from liveops_rules.accounting import Accounting, check_ledger
from liveops_rules.stores import CounterSpec, CountRequest, SQLiteStore, open_store

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)
HOLD = timedelta(minutes=10)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def coupon(external_id: str = "winter", **limits: int) -> Coupon:
    return Coupon(external_id=external_id, enabled=True, bonus=[RewardItem("gem")], **limits)


def prepared(store, *promotions: Coupon) -> Accounting:
    accounting = Accounting(store)
    for promotion in promotions or (coupon(),):
        accounting.import_promotions([promotion])
        accounting.add_codes(promotion, [promotion.external_id.upper()])
    return accounting


# -- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture
def postgres_schema(postgres_server):
    from liveops_rules.stores.postgres_store import PostgresStore

    schema = f"e_{uuid.uuid4().hex}"
    PostgresStore.create_schema(postgres_server.url, schema=schema)
    return schema


@pytest.fixture
def postgres_store(postgres_server, postgres_schema):
    from liveops_rules.stores.postgres_store import PostgresStore

    store = PostgresStore(postgres_server.url, schema=postgres_schema, pool_size=2, retry_window=30)
    yield store
    store.close()


def test_postgres_raises_an_error_no_retry_can_mend_at_once(postgres_store):
    user = secrets.token_urlsafe(6000)  # random: the index cannot compress it below 2.7 KB
    request = CountRequest(
        "op-1", None, "", AT, None, user, "coupon:x", None, 1,
        (CounterSpec(f"u|coupon:x|{user}|", 1),), "",
    )  # fmt: skip
    with pytest.raises(StoreError) as raised:
        postgres_store.count(request)  # the engine refuses such ids; the store is asked here
    assert type(raised.value) is StoreError  # not OutcomeUnknownError after 30 s of retries
    assert "index row" in str(raised.value)
    assert postgres_store.retries == 0


def test_an_embedded_lock_cycle_raises_a_conflict_at_once(postgres_server, postgres_schema):
    import psycopg

    from liveops_rules.stores.postgres_store import PostgresStore

    first, second = coupon("first"), coupon("second")
    setup = PostgresStore(postgres_server.url, schema=postgres_schema, pool_size=1)
    try:
        prepared(setup, first, second)
    finally:
        setup.close()
    both_counted_once = threading.Barrier(2, timeout=60)
    outcomes: dict[str, object] = {}
    stores: list[PostgresStore] = []

    def caller(name: str, codes: tuple[str, str]) -> None:
        with psycopg.connect(postgres_server.url) as connection:
            store = PostgresStore(connection=connection, schema=postgres_schema)
            stores.append(store)
            accounting = Accounting(store)
            try:
                with connection.transaction():
                    assert accounting.redeem(codes[0], User(name), AT).ok
                    both_counted_once.wait()
                    assert accounting.redeem(codes[1], User(name), AT).ok
                outcomes[name] = "committed"
            except TransactionConflictError as error:
                outcomes[name] = error

    threads = [
        threading.Thread(target=caller, args=("a", ("FIRST", "SECOND"))),
        threading.Thread(target=caller, args=("b", ("SECOND", "FIRST"))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    conflicts = [o for o in outcomes.values() if isinstance(o, TransactionConflictError)]
    assert len(conflicts) == 1, outcomes  # PostgreSQL broke the cycle by failing one of them
    assert "run it again" in str(conflicts[0])
    assert sorted(o for o in outcomes.values() if o == "committed") == ["committed"]
    assert all(store.retries == 0 for store in stores)  # no retry inside a doomed transaction


def test_an_unreachable_postgres_fails_within_the_retry_window_with_its_reason(capfd):
    port = closed_port()
    with pytest.raises(StoreError, match=f"cannot connect to PostgreSQL at 127.0.0.1:{port}"):
        open_store(f"postgresql://postgres@127.0.0.1:{port}/postgres?retry_window=0.2")
    assert capfd.readouterr().err == ""  # no pool log lines


def test_a_missing_database_is_named_at_once(postgres_server, capfd, monkeypatch):
    import psycopg

    tries = []
    connect = psycopg.connect

    def counted(*args, **options):
        tries.append(1)
        return connect(*args, **options)

    monkeypatch.setattr(psycopg, "connect", counted)
    url = postgres_server.url.rsplit("/", 1)[0] + "/nosuchdb?retry_window=30"
    with pytest.raises(StoreError, match='database "nosuchdb" does not exist'):
        open_store(url)
    assert len(tries) == 1  # not tried again: no retry makes the database exist
    assert capfd.readouterr().err == ""


def test_a_missing_role_is_named_at_once(postgres_server, monkeypatch):
    import psycopg

    tries = []
    connect = psycopg.connect

    def counted(*args, **options):
        tries.append(1)
        return connect(*args, **options)

    monkeypatch.setattr(psycopg, "connect", counted)
    role = f"r_{uuid.uuid4().hex}"
    url = postgres_server.url.replace("postgres@", f"{role}:some-secret@", 1)
    with pytest.raises(StoreError, match=f'role "{role}" does not exist') as raised:
        open_store(url + "?retry_window=30")
    assert len(tries) == 1
    assert "some-secret" not in str(raised.value)


@pytest.mark.parametrize("option", ["bogus=1", "sslmdoe=require"])
def test_an_unknown_postgres_uri_option_is_named(postgres_server, option):
    with pytest.raises(ValidationError, match="unknown option") as raised:
        open_store(f"{postgres_server.url}?{option}")
    assert option.split("=")[0] in str(raised.value)
    assert "sslmode" in str(raised.value)  # the known ones are listed


@pytest.mark.parametrize("window", ["nan", "inf", "-1", "1e9"])
@pytest.mark.parametrize("scheme", ["postgresql", "redis"])
def test_retry_windows_are_finite_and_bounded(scheme, window):
    port = closed_port()
    with pytest.raises(ValidationError, match="retry_window"):
        open_store(f"{scheme}://127.0.0.1:{port}/0?retry_window={window}")


def test_a_database_without_tables_says_how_to_create_them(postgres_server):
    with pytest.raises(StoreError, match=r"create_schema=true"):
        open_store(f"{postgres_server.url}?schema=never_created")


def test_a_version_1_postgres_schema_is_upgraded_by_create_schema(postgres_server):
    import psycopg

    from liveops_rules.stores.postgres_store import PostgresStore

    schema = f"v1_{uuid.uuid4().hex}"
    PostgresStore.create_schema(postgres_server.url, schema=schema)
    store = PostgresStore(postgres_server.url, schema=schema, pool_size=1)
    try:
        accounting = prepared(store, coupon(redeem_user_limit=1))
        hold = accounting.reserve(User("u1"), AT, hold=HOLD, code="WINTER")
    finally:
        store.close()
    with psycopg.connect(postgres_server.url, autocommit=True) as connection:  # back to v1
        connection.execute(f'ALTER TABLE "{schema}".counters DROP COLUMN epoch')
        connection.execute(f'ALTER TABLE "{schema}".operations DROP COLUMN epochs')
        connection.execute(f'ALTER TABLE "{schema}".operations DROP COLUMN nonce')
        connection.execute(f'UPDATE "{schema}".schema_version SET version = 1')
    with pytest.raises(StoreError, match=r"version 1.*create_schema"):
        PostgresStore(postgres_server.url, schema=schema, pool_size=1)
    PostgresStore.create_schema(postgres_server.url, schema=schema)
    store = PostgresStore(postgres_server.url, schema=schema, pool_size=1)
    try:
        accounting = Accounting(store)
        accounting.commit(hold.operation_id, AT)
        accounting.reset_user_limit("coupon:winter", "u1", AT)
        assert accounting.redeem("WINTER", User("u1"), AT).ok
        assert check_ledger(store) == []
    finally:
        store.close()


# -- Redis ------------------------------------------------------------------------------------


def test_an_unknown_redis_uri_option_is_named(redis_server):
    with pytest.raises(ValidationError, match="unknown option bogus") as raised:
        open_store(f"{redis_server.url}?bogus=1")
    assert "socket_timeout" in str(raised.value)


def test_an_unreachable_redis_fails_within_the_retry_window():
    port = closed_port()
    with pytest.raises(StoreError, match=f"127.0.0.1:{port} is unreachable"):
        open_store(f"redis://127.0.0.1:{port}/0?retry_window=0.2")


def test_a_version_1_redis_store_is_migrated_and_its_holds_settle(redis_server):
    import redis

    from liveops_rules.stores.redis_store import RedisStore

    prefix = f"v1-{uuid.uuid4().hex}"
    store = RedisStore(redis_server.url, prefix=prefix)
    try:
        accounting = prepared(store, coupon(redeem_total_limit=5))
        kept = accounting.reserve(User("u1"), AT, hold=HOLD, code="WINTER")
        lapsing = accounting.reserve(User("u2"), AT, hold=HOLD / 2, code="WINTER")
    finally:
        store.close()
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    base = "{" + prefix + "}:"
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for hold, length in ((kept, HOLD), (lapsing, HOLD / 2)):  # as version 1 kept them
        micros = (AT + length - epoch) // timedelta(microseconds=1)
        client.hset(base + "o:" + hold.operation_id, "e", str(micros))
        for key in ("t|coupon:winter", "c|coupon:winter|WINTER"):
            client.delete(base + "h:" + key)
    for key in ("t|coupon:winter", "c|coupon:winter|WINTER"):
        for hold, length in ((kept, HOLD), (lapsing, HOLD / 2)):
            score = (AT + length - epoch) // timedelta(microseconds=1)
            client.zadd(base + "h:" + key, {hold.operation_id: score})
    client.set(base + "schema", "1")
    client.close()
    store = RedisStore(redis_server.url, prefix=prefix)
    try:
        accounting = Accounting(store)
        later = AT + HOLD / 2  # the shorter hold has expired, the other has not
        assert store.counter("t|coupon:winter", later).reserved == 1
        accounting.commit(kept.operation_id, later)
        assert store.counter("t|coupon:winter", later).used == 1
        assert check_ledger(store) == []
    finally:
        store.close()


# -- SQLite -----------------------------------------------------------------------------------


def test_an_in_memory_sqlite_store_is_shared_by_threads():
    store = open_store("sqlite:///:memory:")
    try:
        accounting = prepared(store, coupon(redeem_total_limit=10))
        outcomes = []
        threads = [
            threading.Thread(
                target=lambda n=n: outcomes.append(accounting.redeem("WINTER", User(f"u{n}"), AT))
            )
            for n in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(outcome.ok for outcome in outcomes)
        assert store.counter("t|coupon:winter", AT).used == 4
        assert check_ledger(store) == []
    finally:
        store.close()


def test_a_write_lock_held_past_the_busy_timeout_is_a_store_error(tmp_path):
    path = tmp_path / "locked.db"
    store = SQLiteStore(path, timeout=0.2)
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        accounting = prepared(store)
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError, match=r"0\.2 s busy timeout"):
            accounting.redeem("WINTER", User("u1"), AT)
        blocker.execute("ROLLBACK")
        assert accounting.redeem("WINTER", User("u1"), AT).ok
        assert check_ledger(store) == []
    finally:
        blocker.close()
        store.close()


@pytest.mark.parametrize("timeout", [float("nan"), -1, "60"])
def test_sqlite_timeouts_are_seconds(tmp_path, timeout):
    with pytest.raises(ValidationError, match="timeout"):
        SQLiteStore(tmp_path / "s.db", timeout=timeout)


@pytest.mark.parametrize(
    "uri",
    [
        "postgresql://app:s3cret-pw@127.0.0.1:{port}/db?retry_window=0",
        "postgresql://app:s3%ZZcret-pw@127.0.0.1:{port}/db",  # libpq quotes a bad escape
        "redis://app:s3cret-pw@127.0.0.1:{port}/0?retry_window=0",
        "redis://app:s3cret-pw@127.0.0.1:notaport/0",
    ],
)
def test_library_errors_about_a_uri_never_show_its_password(uri, capfd):
    with pytest.raises((StoreError, ValidationError)) as raised:
        open_store(uri.format(port=closed_port()))
    shown = str(raised.value) + capfd.readouterr().err
    assert "s3cret" not in shown
    assert "cret-pw" not in shown
