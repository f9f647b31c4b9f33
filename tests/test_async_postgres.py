"""AsyncPostgresStore, the PostgreSQL store on psycopg's async connections: the same tables as
the sync store, lost commit replies retried and counted once, the caller's own async
transaction, opening errors at the first call, and what it refuses before connecting. (The
conformance suite runs the async API on it too: tests/async_backed.py.)"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from liveops_rules import Coupon, OutcomeUnknownError, RewardItem, User
from liveops_rules.accounting import AsyncAccounting, check_ledger
from liveops_rules.errors import StoreError, ValidationError
from liveops_rules.stores.asynchronous import open_async_store
from liveops_rules.stores.calls import call
from liveops_rules.stores.postgres_async import AsyncPostgresStore
from liveops_rules.stores.postgres_store import PostgresStore
from tests.lossy_proxy import LossyProxy

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)
COUPON = Coupon(
    external_id="faults", enabled=True, bonus=[RewardItem("gem")], redeem_total_limit=1_000
)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def schema(postgres_server: Any) -> str:
    name = f"ap_{uuid.uuid4().hex}"
    PostgresStore.create_schema(postgres_server.url, schema=name)
    return name


async def _prepared(store: AsyncPostgresStore) -> AsyncAccounting:
    accounting = AsyncAccounting(store)
    await accounting.import_promotions([COUPON])
    await accounting.add_codes(COUPON, ["FAULT1"])
    assert (await accounting.redeem("FAULT1", User("warm-up"), AT)).ok
    return accounting


def _proxied(url: str, port: int) -> str:
    return url.replace(url.split("@", 1)[1].split("/", 1)[0], f"127.0.0.1:{port}", 1)


def test_open_async_store_gives_postgres_its_async_driver_on_the_sync_stores_tables(
    postgres_server: Any, closing: Any, loop: asyncio.AbstractEventLoop
) -> None:
    name = f"ap_{uuid.uuid4().hex}"

    async def scenario() -> bool:
        store = open_async_store(
            f"{postgres_server.url}?schema={name}&create_schema=true&pool_size=3"
        )
        assert isinstance(store, AsyncPostgresStore)
        assert store.settings.pool_size == 3
        async with AsyncAccounting(store) as accounting:
            await accounting.import_promotions([COUPON])
            await accounting.add_codes(COUPON, ["SPRING1"])
            return (await accounting.redeem("SPRING1", User("u1"), AT)).ok

    assert loop.run_until_complete(scenario())
    kept = closing(PostgresStore(postgres_server.url, schema=name, pool_size=1))
    assert kept.counters()["t|coupon:faults"].used == 1
    assert kept.code_owner("SPRING1") == "coupon:faults"
    assert check_ledger(kept) == []


def test_like_opens_the_same_tables_and_refuses_what_it_cannot_copy(
    postgres_server: Any, schema: str, closing: Any, loop: asyncio.AbstractEventLoop
) -> None:
    sync = closing(PostgresStore(postgres_server.url, schema=schema, pool_size=2))
    sync.put_promotion("coupon:x", '{"a":1}')

    async def scenario() -> Any:
        async with AsyncPostgresStore.like(sync, pool_size=5) as store:
            assert store.settings.pool_size == 5
            return await store.perform(call("promotion", "coupon:x"))

    assert loop.run_until_complete(scenario()) == '{"a":1}'
    with pytest.raises(ValidationError, match="a PostgresStore opened with a URL"):
        AsyncPostgresStore.like(object())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("uri", "options", "message"),
    [
        ("postgresql://u@127.0.0.1:1/db?bogus=1", {}, "unknown option bogus"),
        ("postgresql://u@127.0.0.1:1/db?pool_size=0", {}, "an integer from 1 to 1000"),
        ("postgresql://u@127.0.0.1:1/db?pool_size=x", {}, "uri option pool_size"),
        ("postgresql://u@127.0.0.1:1/db?schema=Bad-Name", {}, "a lower-case SQL name"),
        ("postgresql://u@127.0.0.1:1/db?retry_window=nan", {}, "retry_window"),
        ("postgresql://u@127.0.0.1:1/db?create_schema=maybe", {}, "uri option create_schema"),
        ("postgresql://u@127.0.0.1:1/db", {"workers": 4}, "none for PostgreSQL"),
    ],
)
def test_open_async_store_refuses_bad_postgres_uris_before_connecting(
    uri: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        open_async_store(uri, **options)


def test_the_constructor_refuses_bad_arguments() -> None:
    with pytest.raises(ValidationError, match="not both"):
        AsyncPostgresStore()
    with pytest.raises(ValidationError, match="a psycopg AsyncConnection"):
        AsyncPostgresStore(connection=object())  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="true or false"):
        AsyncPostgresStore("postgresql://u@127.0.0.1:1/db", create_schema="yes")  # type: ignore[arg-type]
    store = AsyncPostgresStore("postgresql://u:hunter2secret@127.0.0.1:1/db")
    assert "hunter2secret" not in repr(store)
    assert "hunter2secret" not in repr(store.settings)


@pytest.mark.parametrize("key", [None, "order-1"], ids=["no-key", "idempotency-key"])
def test_a_lost_commit_reply_is_retried_inside_the_async_store_and_counted_once(
    postgres_server: Any,
    schema: str,
    closing: Any,
    loop: asyncio.AbstractEventLoop,
    key: str | None,
) -> None:
    proxy = closing(LossyProxy(postgres_server.port))

    async def scenario() -> bool:
        url = _proxied(postgres_server.url, proxy.port)
        store = AsyncPostgresStore(url, schema=schema, pool_size=2)
        async with await _prepared(store) as accounting:
            proxy.cut_after(b"COMMIT")
            outcome = await accounting.redeem("FAULT1", User("buyer"), AT, idempotency_key=key)
            return outcome.ok

    assert loop.run_until_complete(scenario())
    assert proxy.cuts == 1
    kept = closing(PostgresStore(postgres_server.url, schema=schema, pool_size=1))
    assert kept.counters()["t|coupon:faults"].used == 2
    assert sum(e.event == "redeem" for e in kept.ledger()) == 2
    assert check_ledger(kept) == []


def test_a_lost_commit_reply_past_the_window_is_unknown_and_the_retry_replays_it(
    postgres_server: Any, schema: str, closing: Any, loop: asyncio.AbstractEventLoop
) -> None:
    proxy = closing(LossyProxy(postgres_server.port))

    async def scenario() -> Any:
        url = _proxied(postgres_server.url, proxy.port)
        store = AsyncPostgresStore(url, schema=schema, pool_size=2, retry_window=0)
        async with await _prepared(store) as accounting:
            proxy.cut_after(b"COMMIT")
            with pytest.raises(OutcomeUnknownError, match="may or may not"):
                await accounting.redeem("FAULT1", User("buyer"), AT, idempotency_key="order-2")
            return await accounting.redeem("FAULT1", User("buyer"), AT, idempotency_key="order-2")

    again = loop.run_until_complete(scenario())
    assert proxy.cuts == 1
    assert again.ok
    assert again.replayed
    kept = closing(PostgresStore(postgres_server.url, schema=schema, pool_size=1))
    assert kept.counters()["t|coupon:faults"].used == 2
    assert [e.idempotency_key for e in kept.ledger()].count("order-2") == 1
    assert check_ledger(kept) == []


def test_an_unreachable_server_is_reported_at_the_first_call_without_blocking_the_loop(
    loop: asyncio.AbstractEventLoop,
) -> None:
    with socket.socket() as held:  # bound, not listening: refused, and the port stays ours
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        store = AsyncPostgresStore(f"postgresql://u@127.0.0.1:{port}/db", retry_window=0.3)

        async def scenario() -> tuple[BaseException, int]:
            ticks = 0
            failed: list[BaseException] = []

            async def first_call() -> None:
                try:
                    await store.perform(call("counters"))
                except StoreError as error:
                    failed.append(error)

            waiting = asyncio.ensure_future(first_call())
            while not waiting.done():
                ticks += 1
                await asyncio.sleep(0)
            await store.aclose()
            return failed[0], ticks

        failed, ticks = loop.run_until_complete(scenario())
    assert f"cannot connect to PostgreSQL at 127.0.0.1:{port}/db" in str(failed)
    assert ticks > 100  # the loop ran other work while the store waited between tries


def test_missing_tables_and_a_missing_database_are_reported_at_the_first_call(
    postgres_server: Any, loop: asyncio.AbstractEventLoop, monkeypatch: Any
) -> None:
    tries: list[int] = []
    connect = psycopg.AsyncConnection.connect

    async def counted(*args: Any, **options: Any) -> Any:
        tries.append(1)
        return await connect(*args, **options)

    async def scenario() -> None:
        async with AsyncPostgresStore(postgres_server.url, schema="no_such_tables") as store:
            with pytest.raises(StoreError, match="create_schema"):
                await store.perform(call("counters"))
        monkeypatch.setattr(psycopg.AsyncConnection, "connect", counted)
        missing = postgres_server.url.rsplit("/", 1)[0] + "/nosuchdb"
        async with AsyncPostgresStore(missing, retry_window=30) as store:
            with pytest.raises(StoreError, match='database "nosuchdb" does not exist'):
                await store.perform(call("counters"))

    loop.run_until_complete(scenario())
    assert len(tries) == 1  # named at once: no retry makes the database exist


def test_the_redemption_commits_or_rolls_back_with_the_callers_async_transaction(
    postgres_server: Any, schema: str, closing: Any, loop: asyncio.AbstractEventLoop
) -> None:
    outside = closing(PostgresStore(postgres_server.url, schema=schema, pool_size=1))

    async def scenario() -> list[bool]:
        seen = []
        async with await psycopg.AsyncConnection.connect(postgres_server.url) as connection:
            store = AsyncPostgresStore(connection=connection, schema=schema)
            async with AsyncAccounting(store) as accounting:
                async with connection.transaction():
                    await accounting.import_promotions([COUPON])
                    await accounting.add_codes(COUPON, ["EMBED1"])

                class DeclinedError(Exception):
                    pass

                try:
                    async with connection.transaction():
                        assert (await accounting.redeem("EMBED1", User("a"), AT)).ok
                        raise DeclinedError
                except DeclinedError:
                    pass
                seen.append("t|coupon:faults" in outside.counters())
                async with connection.transaction():
                    assert (await accounting.redeem("EMBED1", User("b"), AT)).ok
                    seen.append("t|coupon:faults" in outside.counters())  # not yet committed
            seen.append(outside.counters()["t|coupon:faults"].used == 1)
            seen.append(not connection.closed)  # the caller's connection stays open
        return seen

    assert loop.run_until_complete(scenario()) == [False, False, True, True]
    assert check_ledger(outside) == []


def test_a_store_belongs_to_one_loop_refuses_calls_once_closed_and_closes_when_cancelled(
    postgres_server: Any, schema: str, loop: asyncio.AbstractEventLoop
) -> None:
    store = AsyncPostgresStore(postgres_server.url, schema=schema, pool_size=1)
    assert loop.run_until_complete(store.perform(call("promotion", "coupon:a"))) is None
    other = asyncio.new_event_loop()
    try:
        with pytest.raises(ValidationError, match="the event loop that first used it"):
            other.run_until_complete(store.perform(call("promotion", "coupon:a")))
    finally:
        other.close()

    async def close_cancelled() -> None:
        store._idle.clear()  # a call in flight that never ends, as far as aclose can tell
        closing_task = asyncio.ensure_future(store.aclose())
        await asyncio.sleep(0)
        closing_task.cancel()
        await asyncio.gather(closing_task, return_exceptions=True)
        with pytest.raises(ValidationError, match="a closed one"):
            await store.perform(call("promotion", "coupon:a"))

    loop.run_until_complete(close_cancelled())
    assert store._pool is not None
    assert store._pool.closed
    with pytest.raises(ValidationError, match="a RedemptionStore method"):
        loop.run_until_complete(
            AsyncPostgresStore(postgres_server.url, schema=schema).perform(call("close"))
        )
