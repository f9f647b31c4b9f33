"""A hypothesis state machine climbs two weekly offer chains as one player (one resets on
completion, one does not) with random claim / order / pay / abandon / time steps, and
compares every answer and the player's view with a plain reference written from
`reference/chains.md` section 3. A step whose hold expired is free again: nothing settles it
first (an abandon after the expiry answers False, nothing was held any more)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from liveops_rules import (
    AccountingError,
    IntervalType,
    OfferChain,
    OfferChains,
    OfferChainStep,
    OfferItem,
    OfferOrder,
    Outcome,
    RecurrentSchedule,
    User,
    ValidityWindow,
    check_ledger,
)
from liveops_rules.chains.reward import RewardChains
from liveops_rules.models.chains import (
    ChainReward,
    RewardChain,
    RewardChainStep,
    ValuePoint,
    ValuePointReward,
)
from liveops_rules.stores import InMemoryStore, RedemptionStore, SQLiteStore

START = datetime(2026, 11, 21, 12, tzinfo=UTC)  # a Saturday, a day and a half before a reset
PLAYER = User("climber")
HOLD = timedelta(minutes=10)
WEEKLY = RecurrentSchedule(IntervalType.WEEKLY, hour=0, day_of_week=1)
# step number -> (sku, free?) in both chains; only the paid steps' items have a price
STEPS = {1: ("coin", True), 2: ("sword", False), 3: ("shield", False)}
PRICES = {"sword": Decimal("10.00"), "shield": Decimal("20.00")}
POINTS = {"coin": 1, "sword": 10, "shield": 100}  # value points per item
LAST = max(STEPS)


def week(at: datetime) -> int:
    """The reference's own reading of the schedule: weeks start Monday 00:00 UTC."""
    return (at - datetime(2026, 11, 2, tzinfo=UTC)) // timedelta(weeks=1)


@attrs.define
class Order:
    """An order as the reference sees it: its chain, step, the period and iteration it holds
    the step in, when the hold ends, and what became of it."""

    chain: str
    step: int
    week: int
    iteration: int
    expires: datetime
    status: str = "open"  # open, paid, abandoned, expired


class Reference:
    """One player's climb of each chain: per (chain, week) the iteration and the steps done
    in it; the orders; the value points earned."""

    def __init__(self, resets: dict[str, bool]) -> None:
        self.resets = resets
        self.iteration: dict[tuple[str, int], int] = {}
        self.done: dict[tuple[str, int], set[int]] = {}
        self.orders: dict[str, Order] = {}
        self.points = 0

    def place(self, chain: str, at: datetime) -> tuple[str, int, int]:
        key = (chain, week(at))
        return chain, key[1], self.iteration.get(key, 0)

    def done_now(self, chain: str, at: datetime) -> set[int]:
        return self.done.get((chain, week(at)), set())

    def held_now(self, chain: str, at: datetime) -> set[int]:
        _, at_week, iteration = self.place(chain, at)
        return {
            o.step
            for o in self.orders.values()
            if (o.chain, o.week, o.iteration, o.status) == (chain, at_week, iteration, "open")
        }

    def next_step(self, chain: str, at: datetime) -> int | None:
        done = self.done_now(chain, at)
        return next((n for n in sorted(STEPS) if n not in done), None)

    def decide(self, chain: str, step: int, at: datetime, *, claiming: bool) -> str | None:
        if step not in STEPS:
            return "chain_step_not_found"
        if STEPS[step][1] != claiming:
            return "wrong_endpoint"
        if self.next_step(chain, at) is None:
            return "chain_completed"
        if step in self.done_now(chain, at):
            return "step_claimed"
        if step in self.held_now(chain, at):
            return "step_in_payment"
        if self.next_step(chain, at) != step:
            return "not_next_step"
        return None

    def complete(self, chain: str, step: int, at_week: int, iteration: int) -> None:
        key = (chain, at_week)
        assert self.iteration.get(key, 0) == iteration
        done = self.done.setdefault(key, set())
        done.add(step)
        self.points += POINTS[STEPS[step][0]]
        if self.resets[chain] and step == LAST:
            self.iteration[key] = iteration + 1
            done.clear()


ERROR_CODES = {"chain_step_not_found": 6304}  # every other refusal here is 6306


def _agree(outcome: Outcome, expected: str | None) -> None:
    """The library's answer is the reference's: ok, or the refusal and its LiveOps code."""
    if expected is None:
        assert outcome.ok, outcome
        return
    assert not outcome.ok, f"expected {expected}"
    code = outcome.refusal.code
    assert code == expected, (code, expected)
    assert int(outcome.refusal.error_code) == ERROR_CODES.get(expected, 6306)


class OfferClimb(RuleBasedStateMachine):
    kind = "memory"

    def __init__(self, make_store: Callable[[], RedemptionStore] | None = None) -> None:
        super().__init__()
        self.make_store = make_store

    @initialize()
    def start(self) -> None:
        if self.make_store is not None:
            self.store = self.make_store()
        elif self.kind == "memory":
            self.store = InMemoryStore()
        else:
            self.directory = tempfile.TemporaryDirectory()
            self.store = SQLiteStore(Path(self.directory.name) / "o.db", synchronous="NORMAL")
        self.points = RewardChains(self.store)
        self.points.put_value_point(ValuePoint(sku="vp", name={"en": "VP"}))
        self.points.set_value_point_rewards(
            "vp", [ValuePointReward(sku, amount) for sku, amount in POINTS.items()]
        )
        self.point_chain = self.points.create_chain(
            RewardChain(
                name={"en": "Points"},
                window=ValidityWindow(START - timedelta(days=1), None),
                enabled=True,
                value_point="vp",
                steps=[
                    RewardChainStep(name={"en": "Far"}, price=10**6, rewards=[ChainReward("x")])
                ],
            )
        ).chain_id
        self.chains = OfferChains(self.store, value_points=self.points)
        self.ids: dict[str, int] = {}
        resets = {"again": True, "once": False}
        for name, reset in resets.items():
            created = self.chains.create_chain(
                OfferChain(
                    name={"en": name},
                    order=1,
                    window=ValidityWindow(START - timedelta(days=1), None),
                    enabled=True,
                    recurrent_schedule=WEEKLY,
                    reset_on_completion=reset,
                    steps=[
                        OfferChainStep(step_number=n, is_free=is_free, items=[OfferItem(sku)])
                        for n, (sku, is_free) in STEPS.items()
                    ],
                )
            )
            self.ids[name] = created.chain_id
        self.reference = Reference(resets)
        self.made: dict[str, OfferOrder] = {}
        self.at = START

    def teardown(self) -> None:
        if hasattr(self, "store"):
            self.store.close()
        if hasattr(self, "directory"):
            self.directory.cleanup()

    @rule(chain=st.sampled_from(("again", "once")), step=st.integers(1, LAST + 1))
    def claim(self, chain: str, step: int) -> None:
        self._claim(chain, step)

    @rule(chain=st.sampled_from(("again", "once")), step=st.integers(1, LAST + 1))
    def order(self, chain: str, step: int) -> None:
        self._order(chain, step)

    @rule(chain=st.sampled_from(("again", "once")))
    def climb(self, chain: str) -> None:
        """Take the reference's next step by its own endpoint, or pay its open order: random
        steps alone seldom climb far."""
        step = self.reference.next_step(chain, self.at)
        if step is None:
            self._claim(chain, 1)  # the chain is done: refused
        elif STEPS[step][1]:
            self._claim(chain, step)
        elif step in self.reference.held_now(chain, self.at):
            _, at_week, iteration = self.reference.place(chain, self.at)
            (order_id,) = (
                i
                for i, o in self.reference.orders.items()
                if (o.chain, o.step, o.week, o.iteration, o.status)
                == (chain, step, at_week, iteration, "open")
            )
            self._pay(order_id, by_id=False)
        else:
            self._order(chain, step)

    def _claim(self, chain: str, step: int) -> None:
        expected = self.reference.decide(chain, step, self.at, claiming=True)
        outcome = self.chains.claim(self.ids[chain], step, PLAYER, self.at, prices=PRICES)
        _agree(outcome, expected)
        if expected is None:
            _, at_week, iteration = self.reference.place(chain, self.at)
            self.reference.complete(chain, step, at_week, iteration)

    def _order(self, chain: str, step: int) -> None:
        expected = self.reference.decide(chain, step, self.at, claiming=False)
        made = self.chains.order(
            self.ids[chain], step, PLAYER, self.at, prices=PRICES, currency="USD", hold=HOLD
        )
        _agree(made.outcome, expected)
        if expected is None:
            _, at_week, iteration = self.reference.place(chain, self.at)
            self.made[made.order_id] = made
            self.reference.orders[made.order_id] = Order(
                chain, step, at_week, iteration, self.at + HOLD
            )
            assert made.quote.total == PRICES[STEPS[step][0]]

    def _pick(self, pick: int) -> str | None:
        """An order made so far: 0 the latest, 1 the one before..."""
        if not self.made:
            return None
        return list(self.made)[-1 - pick % len(self.made)]

    @rule(pick=st.integers(0, 7), by_id=st.booleans())
    def pay(self, pick: int, by_id: bool) -> None:
        order_id = self._pick(pick)
        if order_id is not None:
            self._pay(order_id, by_id=by_id)

    def _pay(self, order_id: str, *, by_id: bool) -> None:
        kept = self.reference.orders[order_id]
        target = order_id if by_id else self.made[order_id]
        if kept.status in ("open", "paid"):
            outcome = self.chains.pay(target, PLAYER, self.at)
            assert outcome.ok
            assert outcome.replayed == (kept.status == "paid")
            if kept.status == "open":
                kept.status = "paid"
                self.reference.complete(kept.chain, kept.step, kept.week, kept.iteration)
        else:
            try:
                self.chains.pay(target, PLAYER, self.at)
            except AccountingError:
                pass
            else:
                raise AssertionError(f"an {kept.status} order was paid")

    @rule(pick=st.integers(0, 7), by_id=st.booleans())
    def abandon(self, pick: int, by_id: bool) -> None:
        order_id = self._pick(pick)
        if order_id is None:
            return
        kept = self.reference.orders[order_id]
        target = order_id if by_id else self.made[order_id]
        assert self.chains.abandon(target, PLAYER, self.at) is (kept.status == "open")
        if kept.status == "open":
            kept.status = "abandoned"

    @rule(minutes=st.sampled_from((1, 4, HOLD // timedelta(minutes=1), 60 * 20, 60 * 24 * 3)))
    def advance(self, minutes: int) -> None:
        self.at += timedelta(minutes=minutes)
        for kept in self.reference.orders.values():
            if kept.status == "open" and kept.expires <= self.at:
                kept.status = "expired"

    @rule()
    def next_week(self) -> None:
        self.advance(60 * 24 * 7)

    @invariant()
    def views_agree(self) -> None:
        if not hasattr(self, "chains"):
            return
        for name, chain_id in self.ids.items():
            view = self.chains.player_chain(chain_id, PLAYER, self.at)
            iteration = self.reference.place(name, self.at)[2]
            assert view.progress.iteration == iteration, name
            assert set(view.progress.done) == self.reference.done_now(name, self.at), name
            assert set(view.progress.held) == self.reference.held_now(name, self.at), name
            assert view.next_step_number == self.reference.next_step(name, self.at), name
            shown = view.to_dict(prices=PRICES, currency="USD")
            assert [s["is_claimed"] for s in shown["steps"]] == [
                n in self.reference.done_now(name, self.at) for n in sorted(STEPS)
            ]
        assert self.points.balance(self.point_chain, PLAYER, self.at) == self.reference.points
        assert check_ledger(self.store) == []


LOCAL = settings(max_examples=100, stateful_step_count=30, deadline=None)
SERVER = settings(max_examples=30, stateful_step_count=25, deadline=None)


@LOCAL
class MemoryClimb(OfferClimb):
    kind = "memory"


@LOCAL
class SQLiteClimb(OfferClimb):
    kind = "sqlite"


TestMemoryOfferChainsMatchTheReference = MemoryClimb.TestCase
TestSQLiteOfferChainsMatchTheReference = SQLiteClimb.TestCase


def test_redis_offer_chains_match_the_reference(redis_server):
    from liveops_rules.stores.redis_store import RedisStore

    def make() -> RedemptionStore:
        return RedisStore(redis_server.url, prefix=f"offers-{uuid.uuid4().hex}")

    run_state_machine_as_test(lambda: OfferClimb(make), settings=SERVER)


def test_postgres_offer_chains_match_the_reference(postgres_server):
    from liveops_rules.stores.postgres_store import PostgresStore

    schema = f"oc_{uuid.uuid4().hex}"
    PostgresStore.create_schema(postgres_server.url, schema=schema)

    def make() -> RedemptionStore:
        postgres_server.empty(schema)
        return PostgresStore(postgres_server.url, schema=schema, pool_size=2)

    run_state_machine_as_test(lambda: OfferClimb(make), settings=SERVER)
