"""A hypothesis state machine drives each store and a simple reference model with random
redeem/reserve/commit/release/cancel/reset/time steps, and compares them after every step."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from liveops_rules import Coupon, RewardItem, User
from liveops_rules.accounting import Accounting, AccountingError, check_ledger
from liveops_rules.stores import InMemoryStore, RedemptionStore, SQLiteStore

from ..async_backed import AsyncBacked

START = datetime(2026, 11, 22, 12, tzinfo=UTC)
HOLD = timedelta(minutes=10)
LIMITS = {"t": 6, "u": 2, "c": 3}
USERS = ("ann", "bob", "cy")
CODES = ("CODEA", "CODEB")


class Reference:
    """The semantics, written as plainly as possible. A reset forgives what was counted before
    it: each key has an epoch, each operation remembers the epoch it was counted in per key,
    and only what was counted in a key's current epoch counts there."""

    def __init__(self) -> None:
        self.used: dict[str, int] = {}
        self.extra: dict[str, int] = {}
        self.epoch: dict[str, int] = {}
        self.holds: dict[str, tuple[tuple[str, ...], datetime]] = {}
        self.status: dict[str, str] = {}
        self.keys: dict[str, tuple[str, ...]] = {}
        self.counted_in: dict[str, dict[str, int]] = {}

    @staticmethod
    def counters(user: str, code: str) -> tuple[str, ...]:
        return ("t|coupon:ref", f"u|coupon:ref|{user}|", f"c|coupon:ref|{code}")

    def live(self, op: str, key: str) -> bool:
        return self.counted_in[op][key] == self.epoch.get(key, 0)

    def reserved(self, key: str, at: datetime) -> int:
        return sum(
            1
            for op, (keys, expires) in self.holds.items()
            if key in keys and expires > at and self.live(op, key)
        )

    def _expire(self, at: datetime) -> None:
        for op, (_, expires) in list(self.holds.items()):
            if expires <= at:
                del self.holds[op]
                self.status[op] = "expired"

    def room(self, key: str, at: datetime) -> int:
        return (
            LIMITS[key[0]] + self.extra.get(key, 0) - self.used.get(key, 0) - self.reserved(key, at)
        )

    def count(self, op: str, user: str, code: str, at: datetime, held: bool) -> str | None:
        self._expire(at)
        keys = self.counters(user, code)
        for key in keys:
            if self.room(key, at) < 1:
                return {"t": "total", "u": "per_user", "c": "per_code"}[key[0]]
        self.keys[op] = keys
        self.counted_in[op] = {key: self.epoch.get(key, 0) for key in keys}
        if held:
            self.holds[op] = (keys, at + HOLD)
            self.status[op] = "held"
        else:
            for key in keys:
                self.used[key] = self.used.get(key, 0) + 1
            self.status[op] = "committed"
        return None

    def settle(self, action: str, op: str, at: datetime) -> str | None:
        """None when it succeeds, else the refusal code."""
        self._expire(at)
        status = self.status[op]
        if action == "commit":
            if status == "held":
                del self.holds[op]
                for key in self.keys[op]:
                    if self.live(op, key):
                        self.used[key] = self.used.get(key, 0) + 1
                self.status[op] = "committed"
                return None
            return (
                None
                if status == "committed"
                else ("reservation_expired" if status == "expired" else "wrong_state")
            )
        if action == "release":
            if status == "held":
                del self.holds[op]
                self.status[op] = "released"
                return None
            return None if status in ("released", "expired") else "wrong_state"
        if status == "committed":
            for key in self.keys[op]:
                if self.live(op, key):  # a reset has already given back what it forgave
                    self.used[key] -= 1
            self.status[op] = "cancelled"
            return None
        if status == "cancelled":
            return None
        return "reservation_expired" if status == "expired" else "wrong_state"

    def reset_user(self, user: str) -> None:
        key = f"u|coupon:ref|{user}|"
        self.used[key] = 0
        self.extra[key] = 0
        self.epoch[key] = self.epoch.get(key, 0) + 1

    def set_available(self, user: str, available: int, at: datetime) -> bool:
        self._expire(at)
        key = f"u|coupon:ref|{user}|"
        extra = available - LIMITS["u"] + self.used.get(key, 0) + self.reserved(key, at)
        if LIMITS["u"] + extra > 2**31 - 1:
            return False
        self.extra[key] = extra
        return True

    def change(self, user: str, change: int, at: datetime) -> bool:
        self._expire(at)
        key = f"u|coupon:ref|{user}|"
        total = LIMITS["u"] + self.extra.get(key, 0) + change
        if total - self.used.get(key, 0) - self.reserved(key, at) < 0 or total > 2**31 - 1:
            return False
        self.extra[key] = self.extra.get(key, 0) + change
        return True


class AccountingMachine(RuleBasedStateMachine):
    """Subclasses or `run_state_machine_as_test` give `make_store`, called once per example."""

    api: Callable[[RedemptionStore], Any] = Accounting
    """The API the machine drives: `Accounting`, or `AsyncAccounting` behind `AsyncBacked`."""

    def __init__(self, make_store: Callable[[], RedemptionStore] | None = None) -> None:
        super().__init__()
        self.make_store = make_store

    @initialize()
    def start(self) -> None:
        if self.make_store is not None:
            self.store = self.make_store()
        elif self.store_kind == "memory":
            self.store = InMemoryStore()
        else:
            self.directory = tempfile.TemporaryDirectory()
            self.store = SQLiteStore(Path(self.directory.name) / "s.db", synchronous="NORMAL")
        self.accounting = self.api(self.store)
        self.promotion = Coupon(
            external_id="ref",
            enabled=True,
            bonus=[RewardItem("gem")],
            redeem_total_limit=LIMITS["t"],
            redeem_user_limit=LIMITS["u"],
            redeem_code_limit=LIMITS["c"],
        )
        self.accounting.import_promotions([self.promotion])
        self.accounting.add_codes(self.promotion, list(CODES))
        self.reference = Reference()
        self.at = START
        self.operations: list[str] = []

    def teardown(self) -> None:
        if isinstance(getattr(self, "accounting", None), AsyncBacked):
            self.accounting.close()
        store = getattr(self, "store", None)
        if store is not None:
            store.close()
        if hasattr(self, "directory"):
            self.directory.cleanup()

    def _count(self, user: str, code: str, held: bool) -> None:
        if held:
            outcome = self.accounting.reserve(User(user), self.at, hold=HOLD, code=code)
        else:
            outcome = self.accounting.redeem(code, User(user), self.at)
        op = outcome.operation_id or f"refused-{len(self.operations)}"
        expected = self.reference.count(op, user, code, self.at, held)
        if expected is None:
            assert outcome.ok, outcome
            self.operations.append(op)
        else:
            assert outcome.refusal is not None, outcome
            assert outcome.refusal.limit == expected

    @rule(user=st.sampled_from(USERS), code=st.sampled_from(CODES))
    def redeem(self, user: str, code: str) -> None:
        self._count(user, code, held=False)

    @rule(user=st.sampled_from(USERS), code=st.sampled_from(CODES))
    def reserve(self, user: str, code: str) -> None:
        self._count(user, code, held=True)

    @rule(action=st.sampled_from(("commit", "release", "cancel")), pick=st.integers(0, 50))
    def settle(self, action: str, pick: int) -> None:
        if not self.operations:
            return
        op = self.operations[pick % len(self.operations)]
        expected = self.reference.settle(action, op, self.at)
        try:
            getattr(self.accounting, action)(op, self.at)
            refused = None
        except AccountingError as error:
            refused = error.code
        assert refused == expected, (action, op, refused, expected)

    @rule(minutes=st.integers(0, 12))
    def advance(self, minutes: int) -> None:
        self.at += timedelta(minutes=minutes)

    @rule(user=st.sampled_from(USERS))
    def reset_user(self, user: str) -> None:
        self.accounting.reset_user_limit(self.promotion, user, self.at)
        self.reference.reset_user(user)

    @rule(user=st.sampled_from(USERS), available=st.sampled_from((0, 1, 3, 2**31 - 1)))
    def set_limit(self, user: str, available: int) -> None:
        expected = self.reference.set_available(user, available, self.at)
        refused = None
        try:
            self.accounting.set_user_limit(self.promotion, user, available, self.at)
        except AccountingError as error:
            refused = error.code
        assert refused == (None if expected else "limit_out_of_range")

    @rule(
        user=st.sampled_from(USERS),
        change=st.sampled_from((-3, -1, 1, 2, 2**31 - 1, -(2**31 - 1))),
    )
    def change_limit(self, user: str, change: int) -> None:
        expected = self.reference.change(user, change, self.at)
        refused = None
        try:
            self.accounting.change_user_limit(self.promotion, user, change, self.at)
        except AccountingError as error:
            refused = error.code
        assert refused == (None if expected else "limit_out_of_range")

    @invariant()
    def counters_agree(self) -> None:
        if not hasattr(self, "store"):
            return
        for user in USERS:
            for code in CODES:
                for key in Reference.counters(user, code):
                    state = self.store.counter(key, self.at)
                    assert state.used == self.reference.used.get(key, 0), key
                    assert state.reserved == self.reference.reserved(key, self.at), key
                    assert state.extra == self.reference.extra.get(key, 0), key
        assert check_ledger(self.store) == []


STATEFUL = settings(max_examples=110, stateful_step_count=40, deadline=None)
SERVER_STATEFUL = settings(max_examples=25, stateful_step_count=40, deadline=None)


@STATEFUL
class MemoryMachine(AccountingMachine):
    store_kind = "memory"


@STATEFUL
class SQLiteMachine(AccountingMachine):
    store_kind = "sqlite"


# Fewer examples than the sync machines: the decisions are the same steps, what is new is
# the driver and the async store under them.
ASYNC_STATEFUL = settings(max_examples=50, stateful_step_count=40, deadline=None)


class AsyncMemoryMachine(MemoryMachine):
    api = AsyncBacked


class AsyncSQLiteMachine(SQLiteMachine):
    api = AsyncBacked


TestMemoryStoreMatchesTheReference = MemoryMachine.TestCase
TestSQLiteStoreMatchesTheReference = SQLiteMachine.TestCase
TestAsyncMemoryStoreMatchesTheReference = AsyncMemoryMachine.TestCase
TestAsyncMemoryStoreMatchesTheReference.settings = ASYNC_STATEFUL
TestAsyncSQLiteStoreMatchesTheReference = AsyncSQLiteMachine.TestCase
TestAsyncSQLiteStoreMatchesTheReference.settings = ASYNC_STATEFUL


def test_redis_store_matches_the_reference(redis_server):
    from liveops_rules.stores.redis_store import RedisStore

    def make() -> RedemptionStore:
        return RedisStore(redis_server.url, prefix=f"sm-{uuid.uuid4().hex}")

    run_state_machine_as_test(lambda: AccountingMachine(make), settings=SERVER_STATEFUL)


def test_postgres_store_matches_the_reference(postgres_server):
    from liveops_rules.stores.postgres_store import PostgresStore

    schema = f"sm_{uuid.uuid4().hex}"
    PostgresStore.create_schema(postgres_server.url, schema=schema)

    def make() -> RedemptionStore:
        postgres_server.empty(schema)
        return PostgresStore(postgres_server.url, schema=schema, pool_size=2)

    run_state_machine_as_test(lambda: AccountingMachine(make), settings=SERVER_STATEFUL)
