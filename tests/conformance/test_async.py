"""The async API on every store: many tasks on one event loop never beat a limit, and tasks
cancelled mid-operation leave the store as lost replies do (a retry with the same idempotency
key settles each)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from liveops_rules import Coupon, RewardItem, User
from liveops_rules.accounting import AsyncAccounting, Outcome, check_ledger
from liveops_rules.stores import InMemoryStore, RedemptionStore
from liveops_rules.stores.calls import AsyncStore

from ..async_backed import async_form

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)
TASKS = 200


def _async_store(store: RedemptionStore) -> AsyncStore:
    return async_form(store, workers=8)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    try:
        yield running
    finally:
        running.close()


def _coupon(total: int | None, per_user: int | None = None) -> Coupon:
    return Coupon(
        external_id="race",
        enabled=True,
        bonus=[RewardItem("gem")],
        redeem_total_limit=total,
        redeem_user_limit=per_user,
    )


async def _prepared(store: RedemptionStore, coupon: Coupon, codes: list[str]) -> AsyncAccounting:
    accounting = AsyncAccounting(_async_store(store))
    await accounting.import_promotions([coupon])
    await accounting.add_codes(coupon, codes)
    return accounting


def test_two_hundred_tasks_on_one_loop_never_beat_the_total_limit(
    store: RedemptionStore, loop: asyncio.AbstractEventLoop
) -> None:
    async def scenario() -> list[Outcome]:
        async with await _prepared(store, _coupon(total=50), ["RACE"]) as accounting:
            return await asyncio.gather(
                *(accounting.redeem("RACE", User(f"u{n}"), AT) for n in range(TASKS))
            )

    outcomes = loop.run_until_complete(scenario())
    granted = [o for o in outcomes if o.ok]
    assert len(granted) == 50
    assert {o.refusal.code for o in outcomes if not o.ok} == {"limit_reached"}  # type: ignore[union-attr]
    assert len({o.operation_id for o in granted}) == 50
    assert store.counters()["t|coupon:race"].used == 50
    assert check_ledger(store) == []


def test_one_user_racing_itself_gets_its_one_use(
    store: RedemptionStore, loop: asyncio.AbstractEventLoop
) -> None:
    async def scenario() -> list[Outcome]:
        async with await _prepared(store, _coupon(total=None, per_user=1), ["MINE"]) as accounting:
            return await asyncio.gather(
                *(accounting.redeem("MINE", User("same"), AT) for _ in range(TASKS))
            )

    outcomes = loop.run_until_complete(scenario())
    assert sum(o.ok for o in outcomes) == 1
    assert store.counters()["u|coupon:race|same|"].used == 1
    assert check_ledger(store) == []


@pytest.mark.parametrize("cancellations", [1, 25])
def test_cancelled_tasks_apply_once_or_not_at_all_and_a_retry_settles_them(
    store: RedemptionStore, loop: asyncio.AbstractEventLoop, cancellations: int
) -> None:
    """Tasks are cancelled at random points (after 0-3 passes of the loop) until
    `cancellations` of them were cancelled before finishing; each is then retried with its
    idempotency key. Every user redeems at most once, the counters hold exactly the uses the
    final outcomes grant, and the ledger agrees."""
    rng = random.Random(cancellations)
    users = [f"p{n}" for n in range(TASKS)]

    async def scenario() -> tuple[int, dict[str, Outcome]]:
        async with await _prepared(store, _coupon(total=120, per_user=1), ["GO"]) as accounting:

            def redeem(user: str) -> asyncio.Task[Outcome]:
                return asyncio.ensure_future(
                    accounting.redeem("GO", User(user), AT, idempotency_key=f"key-{user}")
                )

            tasks = {user: redeem(user) for user in users}
            landed = 0
            for user in users:  # bounded: one try per task, then rounds of new tasks below
                if landed >= cancellations:
                    break
                for _ in range(rng.randrange(4)):
                    await asyncio.sleep(0)
                if not tasks[user].done():
                    tasks[user].cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
            cancelled = [user for user, task in tasks.items() if task.cancelled()]
            landed = len(cancelled)
            for _ in range(50):  # more rounds until enough cancellations landed (bounded)
                if landed >= cancellations:
                    break
                user = users[rng.randrange(TASKS)]
                if user in cancelled:
                    continue
                tasks[user] = redeem(user)
                for _ in range(rng.randrange(2)):
                    await asyncio.sleep(0)
                tasks[user].cancel()
                await asyncio.gather(tasks[user], return_exceptions=True)
                if tasks[user].cancelled():
                    cancelled.append(user)
                    landed += 1
            finals = {}
            for user in users:  # every user asks again with its key: the first outcome, or now
                finals[user] = await accounting.redeem(
                    "GO", User(user), AT, idempotency_key=f"key-{user}"
                )
            return landed, finals

    landed, finals = loop.run_until_complete(scenario())
    if not isinstance(store, InMemoryStore):  # a memory call never yields: cancels land before
        assert landed >= cancellations
    granted = [user for user, outcome in finals.items() if outcome.ok]
    assert len(granted) == min(120, TASKS)
    counters = store.counters()
    assert counters["t|coupon:race"].used == len(granted)
    assert all(counters[f"u|coupon:race|{user}|"].used == 1 for user in granted)
    assert all(
        counters.get(f"u|coupon:race|{user}|") is None
        or counters[f"u|coupon:race|{user}|"].used == 0
        for user in users
        if user not in granted
    )
    assert check_ledger(store) == []
