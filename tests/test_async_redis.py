"""AsyncRedisStore, the Redis store on redis.asyncio: the same keys as the sync store, lost
replies retried inside the store and counted once, a retry window that waits without blocking
the loop, and what it refuses before anything is sent. (The conformance suite runs the async
API on it too: tests/async_backed.py.)"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis

from liveops_rules import Coupon, OutcomeUnknownError, RewardItem, User
from liveops_rules.accounting import AsyncAccounting, check_ledger
from liveops_rules.errors import StoreError, ValidationError
from liveops_rules.stores.asynchronous import open_async_store
from liveops_rules.stores.calls import call
from liveops_rules.stores.redis_async import AsyncRedisStore
from liveops_rules.stores.redis_store import RedisStore
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


def _prefix() -> str:
    return f"ar-{uuid.uuid4().hex}"


async def _prepared(store: AsyncRedisStore) -> AsyncAccounting:
    accounting = AsyncAccounting(store)
    await accounting.import_promotions([COUPON])
    await accounting.add_codes(COUPON, ["FAULT1"])
    assert (await accounting.redeem("FAULT1", User("warm-up"), AT)).ok  # scripts loaded
    return accounting


def test_open_async_store_gives_redis_its_async_driver_on_the_sync_stores_keys(
    redis_server: Any, closing: Any, loop: asyncio.AbstractEventLoop
) -> None:
    prefix = _prefix()

    async def scenario() -> bool:
        store = open_async_store(f"{redis_server.url}?prefix={prefix}&retry_window=2")
        assert isinstance(store, AsyncRedisStore)
        assert store.settings.retry_window == 2.0
        async with AsyncAccounting(store) as accounting:
            await accounting.import_promotions([COUPON])
            await accounting.add_codes(COUPON, ["SPRING1"])
            return (await accounting.redeem("SPRING1", User("u1"), AT)).ok

    assert loop.run_until_complete(scenario())
    kept = closing(RedisStore(redis_server.url, prefix=prefix))
    assert kept.counters()["t|coupon:faults"].used == 1
    assert kept.code_owner("SPRING1") == "coupon:faults"
    assert check_ledger(kept) == []


def test_like_opens_the_same_keys_and_refuses_what_is_not_a_redis_store(
    redis_server: Any, closing: Any, loop: asyncio.AbstractEventLoop
) -> None:
    sync = closing(RedisStore(redis_server.url, prefix=_prefix(), retry_window=3))
    sync.put_promotion("coupon:x", '{"a":1}')

    async def scenario() -> Any:
        async with AsyncRedisStore.like(sync) as store:
            assert store.settings.retry_window == 3.0
            return await store.perform(call("promotion", "coupon:x"))

    assert loop.run_until_complete(scenario()) == '{"a":1}'
    with pytest.raises(ValidationError, match="a RedisStore"):
        AsyncRedisStore.like(object())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("uri", "options", "message"),
    [
        ("redis://127.0.0.1:1/0?bogus=1", {}, "unknown option bogus"),
        ("redis://127.0.0.1:1/0?retry_window=-1", {}, "seconds from 0 to 3600"),
        ("redis://127.0.0.1:1/0?retry_window=x", {}, "uri option retry_window"),
        ("redis://127.0.0.1:1/0?prefix=a{b", {}, "without { or }"),
        ("redis://127.0.0.1:1/0", {"workers": 4}, "none for Redis"),
        ("rediss://127.0.0.1:99999/0", {}, "valid URL"),
    ],
)
def test_open_async_store_refuses_bad_redis_uris_before_connecting(
    uri: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        open_async_store(uri, **options)


def test_no_password_is_printed() -> None:
    store = AsyncRedisStore("redis://:hunter2secret@127.0.0.1:1/0", prefix="p")
    assert "hunter2secret" not in repr(store)
    assert "hunter2secret" not in repr(store.settings)
    with pytest.raises(ValidationError) as raised:
        open_async_store("redis://:hunter2secret@127.0.0.1:1/0?bogus=1")
    assert "hunter2secret" not in str(raised.value)


@pytest.mark.parametrize("key", [None, "order-1"], ids=["no-key", "idempotency-key"])
def test_a_lost_reply_is_retried_inside_the_async_store_and_counted_once(
    redis_server: Any, closing: Any, loop: asyncio.AbstractEventLoop, key: str | None
) -> None:
    proxy = closing(LossyProxy(redis_server.port))
    prefix = _prefix()

    async def scenario() -> bool:
        store = AsyncRedisStore(f"redis://127.0.0.1:{proxy.port}/0", prefix=prefix)
        async with await _prepared(store) as accounting:
            proxy.cut_after(b"EVALSHA")
            outcome = await accounting.redeem("FAULT1", User("buyer"), AT, idempotency_key=key)
            return outcome.ok

    assert loop.run_until_complete(scenario())
    assert proxy.cuts == 1
    kept = closing(RedisStore(redis_server.url, prefix=prefix))
    assert kept.counters()["t|coupon:faults"].used == 2
    assert sum(e.event == "redeem" for e in kept.ledger()) == 2
    assert check_ledger(kept) == []


def test_a_lost_reply_past_the_window_is_unknown_and_the_retry_replays_it(
    redis_server: Any, closing: Any, loop: asyncio.AbstractEventLoop
) -> None:
    proxy = closing(LossyProxy(redis_server.port))
    prefix = _prefix()

    async def scenario() -> Any:
        store = AsyncRedisStore(f"redis://127.0.0.1:{proxy.port}/0", prefix=prefix, retry_window=0)
        async with await _prepared(store) as accounting:
            proxy.cut_after(b"EVALSHA")
            with pytest.raises(OutcomeUnknownError, match="may or may not"):
                await accounting.redeem("FAULT1", User("buyer"), AT, idempotency_key="order-2")
            return await accounting.redeem("FAULT1", User("buyer"), AT, idempotency_key="order-2")

    again = loop.run_until_complete(scenario())
    assert proxy.cuts == 1
    assert again.ok
    assert again.replayed
    kept = closing(RedisStore(redis_server.url, prefix=prefix))
    assert kept.counters()["t|coupon:faults"].used == 2
    assert [e.idempotency_key for e in kept.ledger() if e.event == "redeem"].count("order-2") == 1
    assert check_ledger(kept) == []


def test_an_unreachable_redis_is_retried_without_blocking_the_loop(
    loop: asyncio.AbstractEventLoop,
) -> None:
    # A bound socket that does not listen: connections to it are refused, and no other
    # process can take its port while the test holds it.
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        connects = [0]

        async def scenario() -> tuple[BaseException, int]:
            store = AsyncRedisStore(f"redis://127.0.0.1:{port}/0", prefix="p", retry_window=0.3)
            client = store._client
            execute = client.execute_command

            async def counted(*args: Any, **options: Any) -> Any:
                connects[0] += 1
                return await execute(*args, **options)

            client.execute_command = counted  # type: ignore[method-assign]
            ticks = 0
            failed: BaseException | None = None

            async def redeem() -> None:
                nonlocal failed
                try:
                    await store.perform(call("counters"))
                except StoreError as error:
                    failed = error

            waiting = asyncio.ensure_future(redeem())
            while not waiting.done():  # the loop runs others while the store waits
                ticks += 1
                await asyncio.sleep(0)
            await store.aclose()
            assert failed is not None
            return failed, ticks

        failed, ticks = loop.run_until_complete(scenario())
    assert f"127.0.0.1:{port} is unreachable" in str(failed)
    assert connects[0] > 1  # tried again within the window
    # Blocking pauses would leave the other task a few turns per try (while connecting);
    # pauses on the loop leave it hundreds (the window's 0.3 s are spent in them).
    assert ticks > 20 * connects[0]


def test_scripts_are_loaded_again_after_script_flush(
    redis_server: Any, closing: Any, loop: asyncio.AbstractEventLoop
) -> None:
    admin = closing(redis.Redis.from_url(redis_server.url))

    async def scenario() -> bool:
        async with await _prepared(
            AsyncRedisStore(redis_server.url, prefix=_prefix())
        ) as accounting:
            admin.script_flush()
            return (await accounting.redeem("FAULT1", User("dee"), AT)).ok

    assert loop.run_until_complete(scenario())


def test_another_schema_version_is_refused_at_the_first_call_with_nothing_written(
    redis_server: Any, closing: Any, loop: asyncio.AbstractEventLoop
) -> None:
    prefix = _prefix()
    admin = closing(redis.Redis.from_url(redis_server.url, decode_responses=True))
    admin.set(f"{{{prefix}}}:schema", "99")

    async def scenario() -> None:
        async with AsyncAccounting(AsyncRedisStore(redis_server.url, prefix=prefix)) as accounting:
            with pytest.raises(StoreError, match="schema version 99"):
                await accounting.import_promotions([COUPON])

    loop.run_until_complete(scenario())
    assert sorted(admin.scan_iter(match=f"{{{prefix}}}:*")) == [f"{{{prefix}}}:schema"]


def test_a_closed_store_refuses_calls_and_close_waits_for_calls_in_flight(
    redis_server: Any, closing: Any, loop: asyncio.AbstractEventLoop
) -> None:
    prefix = _prefix()

    async def scenario() -> list[Any]:
        store = AsyncRedisStore(redis_server.url, prefix=prefix)
        await store.perform(call("put_promotion", "coupon:a", '{"a":1}'))
        in_flight = asyncio.ensure_future(store.perform(call("promotion", "coupon:a")))
        await asyncio.sleep(0)  # the read has started
        await store.aclose()
        assert in_flight.done()
        with pytest.raises(ValidationError, match="a closed one"):
            await store.perform(call("promotion", "coupon:a"))
        await store.aclose()  # closing twice is a no-op
        return [in_flight.result()]

    assert loop.run_until_complete(scenario()) == ['{"a":1}']


def test_a_method_no_store_has_is_refused(
    redis_server: Any, loop: asyncio.AbstractEventLoop
) -> None:
    async def scenario() -> None:
        async with AsyncRedisStore(redis_server.url, prefix=_prefix()) as store:
            for method in ("close", "_run", "check_schema", "flushall"):
                with pytest.raises(ValidationError, match="a RedemptionStore method"):
                    await store.perform(call(method))

    loop.run_until_complete(scenario())


def test_a_store_belongs_to_the_loop_of_its_first_call(
    redis_server: Any, loop: asyncio.AbstractEventLoop
) -> None:
    store = AsyncRedisStore(redis_server.url, prefix=_prefix())
    assert loop.run_until_complete(store.perform(call("promotion", "coupon:a"))) is None
    other = asyncio.new_event_loop()
    try:
        with pytest.raises(ValidationError, match="the event loop that first used it"):
            other.run_until_complete(store.perform(call("promotion", "coupon:a")))
    finally:
        other.close()
    loop.run_until_complete(store.aclose())


def test_bad_arguments_fail_before_anything_is_sent(loop: asyncio.AbstractEventLoop) -> None:
    # An unreachable server: any command would wait out the window first.
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        url = f"redis://127.0.0.1:{held.getsockname()[1]}/0"

        async def scenario() -> None:
            async with AsyncRedisStore(url, prefix="p", retry_window=60) as store:
                with pytest.raises(AttributeError):
                    await store.perform(call("count", "not a request"))
                with pytest.raises(TypeError):
                    await store.perform(call("code_owner"))
                assert await store.perform(call("code_owners", [])) == {}  # nothing to send

        loop.run_until_complete(asyncio.wait_for(scenario(), timeout=30))


def test_a_cancelled_close_still_closes_the_connections(
    redis_server: Any, closing: Any, loop: asyncio.AbstractEventLoop
) -> None:
    name = f"ar{uuid.uuid4().hex}"
    admin = closing(redis.Redis.from_url(redis_server.url, decode_responses=True))

    def connected() -> int:
        return sum(client["name"] == name for client in admin.client_list())

    async def scenario() -> None:
        store = AsyncRedisStore(f"{redis_server.url}?client_name={name}", prefix=_prefix())
        await store.perform(call("promotion", "coupon:a"))
        assert connected() == 1
        store._idle.clear()  # a call in flight that never ends, as far as aclose can tell
        closing_task = asyncio.ensure_future(store.aclose())
        await asyncio.sleep(0)
        closing_task.cancel()
        await asyncio.gather(closing_task, return_exceptions=True)
        assert closing_task.cancelled()
        await store.aclose()

    loop.run_until_complete(scenario())
    assert connected() == 0


def test_a_user_allowed_set_but_not_setnx_opens_the_store(redis_server: Any, closing: Any) -> None:
    user, password = f"u{uuid.uuid4().hex}", uuid.uuid4().hex
    admin = closing(redis.Redis.from_url(redis_server.url, decode_responses=True))
    admin.acl_setuser(
        user,
        enabled=True,
        passwords=[f"+{password}"],
        keys=["*"],
        commands=["+@all", "-setnx"],
    )
    try:
        url = f"redis://{user}:{password}@127.0.0.1:{redis_server.port}/0"
        store = closing(RedisStore(url, prefix=_prefix()))
        store.put_promotion("coupon:a", '{"a":1}')
        assert store.promotion("coupon:a") == '{"a":1}'
    finally:
        admin.acl_deluser(user)
