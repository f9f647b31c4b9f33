"""The async API's shape and its stores, and the engine's steps driven by hand: one set of
decisions behind `Accounting` and `AsyncAccounting`."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import typing
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from liveops_rules import (
    Accounting,
    AccountingSteps,
    AsyncAccounting,
    AsyncMemoryStore,
    Coupon,
    InMemoryStore,
    RewardItem,
    SQLiteStore,
    StoreCall,
    ThreadedStore,
    User,
    ValidationError,
    open_async_store,
    run_steps,
)
from liveops_rules.accounting.engine import OPERATIONS
from liveops_rules.stores.protocol import IdempotencyConflict

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)
COUPON = Coupon(external_id="spring", enabled=True, bonus=[RewardItem("gem", 2)])
HOUR = timedelta(hours=1)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    try:
        yield running
    finally:
        running.close()


def _public(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, callable) if not name.startswith("_")}


def test_both_apis_offer_every_operation_of_the_engine_with_its_signature() -> None:
    assert _public(AccountingSteps) == set(OPERATIONS)
    assert _public(Accounting) == set(OPERATIONS)
    assert _public(AsyncAccounting) == set(OPERATIONS) | {"aclose"}
    for name in OPERATIONS:
        steps = getattr(AccountingSteps, name)
        for api in (Accounting, AsyncAccounting):
            method = getattr(api, name)
            assert method.__wrapped__ is steps, (api, name)  # the operation of its own name
            assert method.__doc__ == steps.__doc__
            assert steps.__doc__
        assert inspect.iscoroutinefunction(getattr(AsyncAccounting, name))
        assert not inspect.iscoroutinefunction(getattr(Accounting, name))


def test_the_steps_of_a_redeem_are_store_calls_a_driver_of_ones_own_can_perform() -> None:
    store = InMemoryStore()
    accounting = Accounting(store)
    accounting.import_promotions([COUPON])
    accounting.add_codes(COUPON, ["SPRING1"])
    engine = AccountingSteps()
    asked: list[str] = []
    steps = engine.redeem("SPRING1", User("u1"), AT)
    answer: Any = None
    try:
        while True:
            wanted = steps.send(answer)
            assert isinstance(wanted, StoreCall)
            asked.append(wanted.method)
            answer = getattr(store, wanted.method)(*wanted.args, **wanted.kwargs)
    except StopIteration as done:
        outcome = done.value
    assert outcome.ok
    assert outcome.items == (RewardItem("gem", 2),)
    assert asked == ["code_owner", "promotion", "count"]
    # The engine learnt the code and the promotion: the next redeem asks only to count.
    asked.clear()
    steps = engine.redeem("SPRING1", User("u2"), AT)
    answer = None
    try:
        while True:
            wanted = steps.send(answer)
            asked.append(wanted.method)
            answer = getattr(store, wanted.method)(*wanted.args, **wanted.kwargs)
    except StopIteration:
        pass
    assert asked == ["count"]
    assert store.counters()["t|coupon:spring"].used == 2


def test_a_store_error_is_thrown_into_the_steps_where_the_call_was() -> None:
    class Conflicting(InMemoryStore):
        def recall(self, key: str, fingerprint: str) -> str | None:
            raise IdempotencyConflict(key)

    store = Conflicting()
    accounting = Accounting(store)
    accounting.import_promotions([COUPON])
    accounting.add_codes(COUPON, ["SPRING1"])
    with pytest.raises(Exception, match="idempotency key 'k' was used for a different request"):
        accounting.redeem("SPRING1", User("u1"), AT, idempotency_key="k")
    assert store.counters() == {}


def test_an_interrupt_during_a_store_call_closes_the_steps_and_propagates() -> None:
    closed: list[bool] = []

    def steps() -> Any:
        try:
            yield StoreCall("promotion", ("coupon:x",))
        finally:
            closed.append(True)

    class Interrupted:
        def promotion(self, ref: str) -> None:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_steps(steps(), Interrupted())
    assert closed == [True]


def test_async_accounting_refuses_what_is_not_an_async_store() -> None:
    with pytest.raises(ValidationError, match="an async store"):
        AsyncAccounting(InMemoryStore())  # type: ignore[arg-type]


def test_open_async_store_gives_each_scheme_its_driver(
    tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    async def scenario() -> list[bool]:
        memory = open_async_store("memory://")
        sqlite = open_async_store(f"sqlite:///{tmp_path / 'a.db'}")
        kinds = [isinstance(memory, AsyncMemoryStore), isinstance(sqlite, ThreadedStore)]
        for store in (memory, sqlite):
            async with AsyncAccounting(store) as accounting:
                await accounting.import_promotions([COUPON])
                await accounting.add_codes(COUPON, ["SPRING1"])
                outcome = await accounting.redeem("SPRING1", User("u1"), AT)
                kinds.append(outcome.ok)
        return kinds

    assert loop.run_until_complete(scenario()) == [True, True, True, True]
    # What the async SQLite store kept is in the file, for any other store on it.
    kept = SQLiteStore(tmp_path / "a.db")
    try:
        assert kept.counters()["t|coupon:spring"].used == 1
    finally:
        kept.close()


@pytest.mark.parametrize(
    ("uri", "options", "message"),
    [
        ("ftp://x", {}, "a URI starting memory://"),
        ("memory://", {"workers": 2}, "none for memory://"),
        ("sqlite:///x.db", {"workers": 0}, r"an integer in 1\.\.256"),
        ("sqlite:///x.db", {"workers": True}, r"an integer in 1\.\.256"),
        (5, {}, "a store URI"),
    ],
)
def test_open_async_store_refuses_bad_input_before_opening(
    uri: Any, options: dict[str, Any], message: str, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError, match=message):
        open_async_store(uri, **options)
    assert list(tmp_path.iterdir()) == []


def test_a_threaded_store_refuses_calls_once_closed_and_closes_its_store_once(
    tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    closes: list[int] = []

    class Counted(SQLiteStore):
        def close(self) -> None:
            closes.append(1)
            super().close()

    threaded = ThreadedStore(Counted(tmp_path / "b.db"))

    async def scenario() -> None:
        await threaded.perform(StoreCall("promotion_refs"))
        await threaded.aclose()
        await threaded.aclose()
        with pytest.raises(ValidationError, match="an open store"):
            await threaded.perform(StoreCall("promotion_refs"))

    loop.run_until_complete(scenario())
    assert closes == [1]


def test_a_threaded_store_never_runs_a_call_on_the_loop(
    tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    import threading

    seen: list[str] = []

    class Watched(SQLiteStore):
        def promotion_refs(self) -> list[str]:
            seen.append(threading.current_thread().name)
            return super().promotion_refs()

    async def scenario() -> None:
        async with ThreadedStore(Watched(tmp_path / "c.db")) as threaded:
            await threaded.perform(StoreCall("promotion_refs"))

    loop.run_until_complete(scenario())
    assert seen
    assert seen[0].startswith("liveops-store")


def test_refused_workers_and_stores_are_typed_errors() -> None:
    with pytest.raises(ValidationError, match="a RedemptionStore"):
        ThreadedStore(object())  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="an InMemoryStore"):
        AsyncMemoryStore(object())  # type: ignore[arg-type]


def test_each_api_shows_what_its_operations_return_not_their_steps() -> None:
    for name in OPERATIONS:
        for api in (Accounting, AsyncAccounting):
            shown = inspect.signature(getattr(api, name)).return_annotation
            assert isinstance(shown, str)
            assert not shown.startswith("Steps["), (api, name, shown)
            hints = typing.get_type_hints(getattr(api, name))
            assert (
                hints["return"]
                == typing.get_type_hints(getattr(AccountingSteps, name))["return"].__args__[2]
            )


def test_a_closed_memory_store_refuses_calls(loop: asyncio.AbstractEventLoop) -> None:
    async def scenario() -> None:
        store = AsyncMemoryStore()
        await store.aclose()
        with pytest.raises(ValidationError, match="an open store"):
            await store.perform(StoreCall("promotion_refs"))

    loop.run_until_complete(scenario())


def test_a_threaded_call_sees_the_callers_context_variables(
    tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("rid", default=None)
    seen: list[str | None] = []

    class Watched(SQLiteStore):
        def promotion_refs(self) -> list[str]:
            seen.append(request_id.get())
            return super().promotion_refs()

    async def scenario() -> None:
        async with ThreadedStore(Watched(tmp_path / "d.db")) as threaded:
            request_id.set("req-42")
            await threaded.perform(StoreCall("promotion_refs"))

    loop.run_until_complete(scenario())
    assert seen == ["req-42"]


def test_each_checkout_takes_its_own_api(loop: asyncio.AbstractEventLoop) -> None:
    from liveops_rules import Cart, CartLine, ItemDiscount, Pricing

    sale = ItemDiscount(promotion_id=1, enabled=True, discount_percent="10", items=["sword"])
    cart = Cart(currency="USD", lines=[CartLine(sku="sword", quantity=1, price="10.00")])
    pricing = Pricing([sale])
    hold = timedelta(minutes=5)
    asynchronous = AsyncAccounting(AsyncMemoryStore())
    synchronous = Accounting(InMemoryStore())
    with pytest.raises(ValidationError, match="acheckout, acommit and arelease take an Async"):
        pricing.checkout(asynchronous, cart, User("u1"), AT, hold=hold)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="checkout, commit and release take an Accounting"):
        loop.run_until_complete(pricing.acheckout(synchronous, cart, User("u1"), AT, hold=hold))  # type: ignore[arg-type]
    done = loop.run_until_complete(pricing.acheckout(asynchronous, cart, User("u1"), AT, hold=hold))
    with pytest.raises(ValidationError, match="an Accounting"):
        done.commit(asynchronous, AT)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="an AsyncAccounting"):
        loop.run_until_complete(done.acommit(synchronous, AT))  # type: ignore[arg-type]
    loop.run_until_complete(asynchronous.aclose())


def _sword_and_shield(swords: int) -> tuple[list[Any], Any]:
    """Two discounts of 3 a player each (on a sword, on a shield) and a cart of both."""
    from liveops_rules import Cart, CartLine, ItemDiscount, PromotionLimits

    discounts = [
        ItemDiscount(
            promotion_id=n,
            enabled=True,
            discount_percent="10",
            items=[sku],
            limits=PromotionLimits(per_user=3),
        )
        for n, sku in ((1, "sword"), (2, "shield"))
    ]
    cart = Cart(
        currency="USD",
        lines=[
            CartLine(sku="sword", quantity=swords, price="10.00"),
            CartLine(sku="shield", quantity=1, price="30.00"),
        ],
    )
    return discounts, cart


def test_a_cancelled_checkout_leaves_holds_a_retry_of_its_order_takes_over(
    tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    """A cancelled task does no more I/O, so its holds stay until they expire; the order's
    retry replays them instead of holding the capacity twice."""
    import random

    from liveops_rules import (
        Checkout,
        Pricing,
        check_ledger,
    )

    (limited, other), cart = _sword_and_shield(swords=2)
    pricing = Pricing([limited, other])
    rng = random.Random(7)
    store = SQLiteStore(tmp_path / "c.db")
    wanted = 5  # cancellations that landed between a checkout's two holds

    async def scenario() -> list[int]:
        left = []
        async with AsyncAccounting(ThreadedStore(store, owned=False)) as accounting:
            await accounting.import_promotions([limited, other])
            landed = 0
            for n in range(2_000):
                if landed >= wanted:
                    break
                user, order = User(f"u{n}"), f"order-{n}"
                task = asyncio.ensure_future(
                    pricing.acheckout(accounting, cart, user, AT, hold=HOUR, order_id=order)
                )
                await asyncio.sleep(rng.uniform(0, 0.005))  # cancelled at any of its calls
                task.cancel()
                (finished,) = await asyncio.gather(task, return_exceptions=True)
                if not task.cancelled():
                    assert isinstance(finished, Checkout), finished  # done before the cancel
                    continue
                held = [
                    (await accounting.user_limit(p, user.id, AT)).available < 3
                    for p in (limited, other)
                ]
                landed += any(held) and not all(held)  # after one hold, before the other
                again = await pricing.acheckout(
                    accounting, cart, user, AT, hold=HOUR, order_id=order
                )
                assert sorted(r.quantity for r in again.reservations) == [1, 2]
                left.append((await accounting.user_limit(limited, user.id, AT)).available)
                left.append((await accounting.user_limit(other, user.id, AT)).available)
        assert landed == wanted
        return left[-2 * wanted :]

    try:
        assert set(loop.run_until_complete(scenario())) == {1, 2}  # each held once
        assert check_ledger(store) == []
    finally:
        store.close()


def test_an_interrupt_from_the_store_still_releases_what_a_checkout_held() -> None:
    """A KeyboardInterrupt raised by a store call reaches the checkout's steps, whose clean-up
    gives back the holds it made (as before the checkout was steps)."""
    from liveops_rules import Pricing

    limited, cart = _sword_and_shield(swords=1)

    class Interrupting(InMemoryStore):
        counts = 0

        def count(self, request: Any) -> Any:
            self.counts += 1
            if self.counts == 2:  # the second hold: the first is made
                raise KeyboardInterrupt
            return super().count(request)

    store = Interrupting()
    accounting = Accounting(store)
    accounting.import_promotions(limited)
    with pytest.raises(KeyboardInterrupt):
        Pricing(limited).checkout(accounting, cart, User("u1"), AT, hold=HOUR)
    assert [e.event for e in store.ledger()] == ["reserve", "release"]
    assert all(accounting.user_limit(p, "u1", AT).available == 3 for p in limited)


def test_offer_chains_refuse_value_points_of_another_store() -> None:
    from liveops_rules import AsyncOfferChains, AsyncRewardChains, OfferChains, RewardChains

    with pytest.raises(ValidationError, match="a RewardChains on this store"):
        OfferChains(InMemoryStore(), value_points=RewardChains(InMemoryStore()))
    same = InMemoryStore()
    assert OfferChains(same, value_points=RewardChains(same)).value_points is not None
    with pytest.raises(ValidationError, match="an AsyncRewardChains on this store"):
        AsyncOfferChains(AsyncMemoryStore(), value_points=AsyncRewardChains(AsyncMemoryStore()))


def test_a_chain_count_takes_a_plain_refusal_or_steps_giving_one() -> None:
    from liveops_rules import DailyChains, Refusal
    from liveops_rules.stores import CounterSpec

    chains = DailyChains(InMemoryStore())
    full = [CounterSpec("u|test|p1|", 0)]  # a limit of 0: every count is refused

    def steps(_: Any) -> Any:
        return Refusal("by_steps", "refused")
        yield  # steps that ask the store nothing

    for refusal, code in ((lambda _: Refusal("plain", "refused"), "plain"), (steps, "by_steps")):
        outcome = chains.count("claim", "test:1", "p1", AT, full, version=None, refusal=refusal)
        assert outcome is not None
        assert outcome.refusal is not None
        assert outcome.refusal.code == code
