"""A hypothesis state machine drives reward chains on each store and a plain reference with
random earn / refund / claim / reset / time steps, and compares balances and claims after
every step."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from liveops_rules import IntervalType, RecurrentSchedule, User, ValidityWindow
from liveops_rules.accounting import check_ledger
from liveops_rules.chains.reward import RewardChains
from liveops_rules.models.chains import (
    ChainReward,
    RewardChain,
    RewardChainStep,
    ValuePoint,
    ValuePointReward,
)
from liveops_rules.stores import InMemoryStore, RedemptionStore, SQLiteStore

START = datetime(2026, 11, 23, 12, tzinfo=UTC)  # a Monday
USERS = ("ann", "bob")
PRICES = {1: 30, 2: 70}  # step id -> price
WEEKLY = RecurrentSchedule(IntervalType.WEEKLY, hour=0, day_of_week=1)


def week(at: datetime) -> int:
    """The reference's own reading of the schedule: weeks starting Monday 00:00 UTC."""
    return (at - datetime(2026, 11, 2, tzinfo=UTC)) // timedelta(weeks=1)


class Reference:
    """Balances and claims per (user, week); an admin reset forgives everything before it,
    and a refund gives back only what is still counted (never what a reset forgave)."""

    def __init__(self) -> None:
        self.balance: dict[tuple[str, int], int] = {}
        self.claimed: set[tuple[str, int, int]] = set()
        self.epoch = 0
        self.orders: dict[str, tuple[str, int, int, int, bool]] = {}  # user, week, amount, epoch

    def earn(self, order: str, user: str, at: datetime, amount: int) -> None:
        if order in self.orders:
            return
        self.orders[order] = (user, week(at), amount, self.epoch, False)
        key = (user, week(at))
        self.balance[key] = self.balance.get(key, 0) + amount

    def refund(self, order: str) -> None:
        found = self.orders.get(order)
        if found is None or found[4]:
            return
        user, at_week, amount, epoch, _ = found
        self.orders[order] = (user, at_week, amount, epoch, True)
        if epoch == self.epoch:
            self.balance[(user, at_week)] -= amount

    def claim(self, user: str, step: int, at: datetime) -> str | None:
        key = (user, step, week(at))
        if key in self.claimed:
            return "already_claimed"
        if self.balance.get((user, week(at)), 0) < PRICES[step]:
            return "not_enough_value_points"
        self.claimed.add(key)
        return None

    def reset(self) -> None:
        self.balance.clear()
        self.claimed.clear()
        self.epoch += 1


class ChainMachine(RuleBasedStateMachine):
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
            self.store = SQLiteStore(Path(self.directory.name) / "c.db", synchronous="NORMAL")
        self.chains = RewardChains(self.store)
        self.chains.put_value_point(ValuePoint(sku="vp", name={"en": "VP"}))
        self.chains.set_value_point_rewards("vp", [ValuePointReward("gem", 10)])
        ladder = RewardChain(
            name={"en": "Ladder"},
            window=ValidityWindow(START - timedelta(days=1), None),
            enabled=True,
            value_point="vp",
            steps=[
                RewardChainStep(name={"en": str(n)}, price=p, rewards=[ChainReward("chest")])
                for n, p in PRICES.items()
            ],
            recurrent_schedule=WEEKLY,
        )
        self.chain_id = self.chains.create_chain(ladder).chain_id
        self.reference = Reference()
        self.at = START
        self.orders = 0

    def teardown(self) -> None:
        if hasattr(self, "store"):
            self.store.close()
        if hasattr(self, "directory"):
            self.directory.cleanup()

    @rule(user=st.sampled_from(USERS), gems=st.integers(1, 5))
    def earn(self, user: str, gems: int) -> None:
        self.orders += 1
        order = f"o{self.orders}"
        self.chains.earn(order, User(user), [("gem", gems)], self.at)
        self.reference.earn(order, user, self.at, gems * 10)

    @rule(pick=st.integers(1, 30))
    def refund(self, pick: int) -> None:
        if not self.orders:
            return
        order = f"o{(pick % self.orders) + 1}"
        user = self.reference.orders[order][0]
        self.chains.refund(order, User(user), self.at)
        self.reference.refund(order)

    @rule(user=st.sampled_from(USERS), step=st.sampled_from(sorted(PRICES)))
    def claim(self, user: str, step: int) -> None:
        outcome = self.chains.claim(self.chain_id, step, User(user), self.at)
        expected = self.reference.claim(user, step, self.at)
        assert (None if outcome.ok else outcome.refusal.code) == expected

    @rule()
    def reset(self) -> None:
        self.chains.reset_chain(self.chain_id, self.at)
        self.reference.reset()

    @rule(hours=st.sampled_from((1, 20, 24 * 3, 24 * 7)))
    def advance(self, hours: int) -> None:
        self.at += timedelta(hours=hours)

    @invariant()
    def balances_agree(self) -> None:
        if not hasattr(self, "chains"):
            return
        for user in USERS:
            shown = self.chains.balance(self.chain_id, User(user), self.at)
            assert shown == self.reference.balance.get((user, week(self.at)), 0), user
        assert check_ledger(self.store) == []


LOCAL = settings(max_examples=80, stateful_step_count=30, deadline=None)
SERVER = settings(max_examples=25, stateful_step_count=30, deadline=None)


@LOCAL
class MemoryChains(ChainMachine):
    kind = "memory"


@LOCAL
class SQLiteChains(ChainMachine):
    kind = "sqlite"


TestMemoryChainsMatchTheReference = MemoryChains.TestCase
TestSQLiteChainsMatchTheReference = SQLiteChains.TestCase


def test_redis_chains_match_the_reference(redis_server):
    from liveops_rules.stores.redis_store import RedisStore

    def make() -> RedemptionStore:
        return RedisStore(redis_server.url, prefix=f"chains-{uuid.uuid4().hex}")

    run_state_machine_as_test(lambda: ChainMachine(make), settings=SERVER)


def test_postgres_chains_match_the_reference(postgres_server):
    from liveops_rules.stores.postgres_store import PostgresStore

    schema = f"ch_{uuid.uuid4().hex}"
    PostgresStore.create_schema(postgres_server.url, schema=schema)

    def make() -> RedemptionStore:
        postgres_server.empty(schema)
        return PostgresStore(postgres_server.url, schema=schema, pool_size=2)

    run_state_machine_as_test(lambda: ChainMachine(make), settings=SERVER)
