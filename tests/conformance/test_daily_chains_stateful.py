"""A hypothesis state machine claims daily chain steps on each store at random moments (days
non-decreasing: sometimes the same day again, sometimes days skipped), and compares every
answer and every step's status with a naive day-by-day reference of LiveOps' rules
(chains.md, "2. Daily chains"), for both types, recurrent or not, with a date_end that may cut
the chain mid-streak and with days in America/New_York across its clock changes (23 and 25
hour days; a start time the March change skips; one the November change repeats).

The reference knows days by the brute-force grid (tests.day_grid_reference), never by the
library's; its rules are written from chains.md:
- calendar_hard: step k of cycle c belongs to day c*N + k - 1 (cycles after the first only
  when recurrent): claimed that day or lost;
- rolling: the next step opens the day after the last claim, missed days wait; after the last
  step a recurrent chain starts again at step 1 (the next day); an admin reset starts every
  player at step 1;
- one claim a day, in order; steps whose day begins at or after date_end are blocked.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from liveops_rules import (
    DailyChain,
    DailyChains,
    DailyChainStep,
    RewardItem,
    User,
    ValidityWindow,
)
from liveops_rules.accounting import AccountingError, check_ledger
from liveops_rules.stores import InMemoryStore, RedemptionStore, SQLiteStore
from tests import day_grid_reference as ref

_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)")

USERS = ("ann", "bob")
# (zone, date_start): a 24-hour grid, and New York grids whose first weeks cross a change.
GRIDS = (
    (None, datetime(2026, 3, 1, 15, tzinfo=UTC)),
    ("America/New_York", datetime(2026, 3, 4, 14, 30, tzinfo=UTC)),  # 09:30 EST
    ("America/New_York", datetime(2026, 3, 4, 7, 30, tzinfo=UTC)),  # 02:30 EST: skipped 8 March
    ("America/New_York", datetime(2026, 10, 27, 5, 30, tzinfo=UTC)),  # 01:30 EDT: repeated 1 Nov
)
LATEST_DAY = 40


def moments(message: str) -> list[datetime]:
    """Every RFC 3339 moment a message names."""
    return [datetime.fromisoformat(found) for found in _ISO.findall(message)]


class Reference:
    """Each player's claims, day by day, by LiveOps' rules (see the module)."""

    def __init__(self, kind: str, steps: int, recurrent: bool, grid: int, end: datetime | None):
        self.kind, self.steps, self.recurrent, self.end = kind, steps, recurrent, end
        self.zone, self.start = GRIDS[grid]
        self.calendar: set[tuple[str, int, int]] = set()  # (user, cycle, step) claimed
        self.rolling: dict[str, tuple[int, int | None]] = {}  # user: (steps in cycle, last day)

    def begins(self, day: int) -> datetime:
        return ref.day_start(self.start, self.zone, day)

    def reachable(self, day: int) -> bool:
        return self.end is None or self.begins(day) < self.end

    def live(self, at: datetime) -> bool:
        return self.start <= at and (self.end is None or at < self.end)

    def cycle(self, day: int) -> int:
        return day // self.steps if self.recurrent and day >= 0 else 0

    def claim(
        self, user: str, step: int, day: int, at: datetime
    ) -> tuple[set[str], datetime | None]:
        """The answers LiveOps' rules allow ("ok" or refusal codes) and the moment the
        refusal's message must name (None: not checked)."""
        if at < self.start:
            return {"chain_not_started", "chain_step_not_found"}, self.start
        if not self.live(at):
            return {"chain_ended", "chain_step_not_found"}, self.end
        if not 1 <= step <= self.steps:
            return {"chain_step_not_found"}, None
        if self.kind == "calendar_hard":
            return self._calendar(user, step, day)
        return self._rolling(user, step, day)

    def _next_claim(self, day: int) -> datetime | None:
        """When a claim opens on `day`, if one can."""
        return self.begins(day) if self.reachable(day) else None

    def _calendar(self, user: str, step: int, day: int) -> tuple[set[str], datetime | None]:
        if not self.recurrent and day >= self.steps:
            return {"chain_completed"}, None
        cycle = self.cycle(day)
        owner = day - cycle * self.steps + 1
        own_day = cycle * self.steps + step - 1
        if (user, cycle, step) in self.calendar:
            if step != owner:
                return {"step_claimed"}, None
            more = self.recurrent or owner < self.steps
            return {"claimed_today"}, self._next_claim(day + 1) if more else None
        if step < owner:
            return {"step_missed"}, self.begins(own_day)
        if step > owner:
            codes = {"step_in_future"}
            if (user, cycle, owner) in self.calendar:
                codes.add("claimed_today")
            return codes, None if len(codes) > 1 else self.begins(own_day)
        self.calendar.add((user, cycle, step))
        return {"ok"}, None

    def _rolling(self, user: str, step: int, day: int) -> tuple[set[str], datetime | None]:
        claimed, last = self.rolling.get(user, (0, None))
        if claimed == self.steps:  # only without recurrence
            return {"chain_completed", "step_claimed"}, None
        if step <= claimed:
            return {"step_claimed"}, None
        if step != claimed + 1:
            return ({"not_next_step", "claimed_today"} if last == day else {"not_next_step"}), None
        if last is not None and day <= last:
            return {"claimed_today"}, self._next_claim(last + 1)
        claimed += 1
        if self.recurrent and claimed == self.steps:
            claimed = 0
        self.rolling[user] = (claimed, day)
        return {"ok"}, None

    def reset(self) -> None:
        self.rolling.clear()

    def view(self, user: str, day: int, at: datetime) -> list[tuple[str, datetime | None]]:
        """Each step's (status, unlocked moment) at `at` (the moment None for claimed steps:
        not compared)."""
        live = self.live(at)
        shown: list[tuple[str, datetime | None]] = []
        if self.kind == "calendar_hard":
            cycle = self.cycle(day)
            for step in range(1, self.steps + 1):
                own_day = cycle * self.steps + step - 1
                if (user, cycle, step) in self.calendar:
                    shown.append(("claimed", None))
                elif own_day < day or (own_day == day and not live):
                    shown.append(("blocked", self.begins(own_day)))
                elif own_day == day:
                    shown.append(("claimable", self.begins(own_day)))
                else:
                    status = "claim_in_future" if self.reachable(own_day) else "blocked"
                    shown.append((status, self.begins(own_day)))
            return shown
        claimed, last = self.rolling.get(user, (0, None))
        opens = 0 if last is None else last + 1
        for step in range(1, self.steps + 1):
            if step <= claimed:
                shown.append(("claimed", None))
            elif step == claimed + 1 and live and opens <= day:
                shown.append(("claimable", self.begins(opens)))
            else:
                own_day = max(opens, day) + step - claimed - 1
                ended = self.end is not None and at >= self.end  # nothing is reachable now
                status = "claim_in_future" if self.reachable(own_day) and not ended else "blocked"
                shown.append((status, self.begins(own_day)))
        return shown


class DailyMachine(RuleBasedStateMachine):
    kind = "memory"

    def __init__(self, make_store: Callable[[], RedemptionStore] | None = None) -> None:
        super().__init__()
        self.make_store = make_store

    @initialize(
        kind=st.sampled_from(("calendar_hard", "rolling")),
        steps=st.integers(1, 5),
        recurrent=st.booleans(),
        grid=st.integers(0, len(GRIDS) - 1),
        end_day=st.none() | st.integers(1, 12),
        end_part=st.sampled_from((0.0, 0.3, 0.5, 0.99)),
        early=st.sampled_from((False, False, False, True)),
    )
    def start(
        self,
        kind: str,
        steps: int,
        recurrent: bool,
        grid: int,
        end_day: int | None,
        end_part: float,
        early: bool,
    ) -> None:
        if self.make_store is not None:
            self.store = self.make_store()
        elif self.kind == "memory":
            self.store = InMemoryStore()
        else:
            self.directory = tempfile.TemporaryDirectory()
            self.store = SQLiteStore(Path(self.directory.name) / "d.db", synchronous="NORMAL")
        zone, start = GRIDS[grid]
        end = None
        if end_day is not None:
            begins = ref.day_start(start, zone, end_day)
            length = ref.day_start(start, zone, end_day + 1) - begins
            end = begins + timedelta(seconds=int(length.total_seconds() * end_part))
        self.reference = Reference(kind, steps, recurrent, grid, end)
        self.chains = DailyChains(self.store)
        chain = DailyChain(
            name={"en": "Daily"},
            window=ValidityWindow(start, end),
            enabled=True,
            type=kind,
            recurrent=recurrent,
            day_zone=zone,
            steps=[
                DailyChainStep(step_number=n, items=[RewardItem("coin", n)])
                for n in range(1, steps + 1)
            ],
        )
        self.chain_id = self.chains.create_chain(chain).chain_id
        # Before the start (day -1 of a 24-hour reading: only claims refused), or in day 0.
        self.day = -1 if early else 0
        self.at = start - timedelta(hours=5) if early else start
        self.generation = 0
        self.won: dict[tuple[str, int], list[tuple[int, int]]] = {}  # (user, gen): (day, step)

    def teardown(self) -> None:
        if hasattr(self, "store"):
            self.store.close()
        if hasattr(self, "directory"):
            self.directory.cleanup()

    def _day_end(self) -> datetime:
        return self.reference.begins(self.day + 1)

    @precondition(lambda self: self.day < LATEST_DAY - 5)
    @rule(days=st.sampled_from((0, 0, 1, 1, 2, 3, 5)), part=st.integers(0, 999))
    def advance(self, days: int, part: int) -> None:
        """Move on: later the same day, or into a later day (a moment in it, to the second)."""
        if days:
            self.day += days
            self.at = self.reference.begins(self.day)
        room = (self._day_end() - self.at).total_seconds()
        self.at += timedelta(seconds=int(room * part / 1000))
        assert self.at < self._day_end()

    @rule(
        user=st.sampled_from(USERS),
        pick=st.sampled_from(("next", "today")),
        shift=st.sampled_from((0, 0, 0, -1, 1, -2, 2)),
    )
    def claim(self, user: str, pick: str, shift: int) -> None:
        """Claim the step the player would claim next or today's step of the calendar (the
        reference's own guesses, right or wrong), or one a little before or after it (0 and
        one past the last too)."""
        if pick == "next" and self.reference.kind == "rolling":
            step = self.reference.rolling.get(user, (0, None))[0] + 1
        else:
            day = max(self.day, 0)
            step = day - self.reference.cycle(day) * self.reference.steps + 1
        step = max(1, min(step + shift, self.reference.steps + 1))
        outcome = self.chains.claim(self.chain_id, step, User(user), self.at)
        expected, named = self.reference.claim(user, step, self.day, self.at)
        got = "ok" if outcome.ok else outcome.refusal.code
        assert got in expected, (got, expected, self.day, self.at)
        if outcome.ok:
            assert list(outcome.items) == [RewardItem("coin", step)]
            self.won.setdefault((user, self.generation), []).append((self.day, step))
        else:
            assert int(outcome.refusal.error_code) in (6304, 6306)
            if named is not None:
                assert named in moments(outcome.refusal.message), outcome.refusal.message

    @rule()
    def reset(self) -> None:
        if self.reference.kind == "rolling":
            self.chains.reset_chain(self.chain_id, self.at)
            self.reference.reset()
            self.generation += 1
        else:
            with pytest.raises(AccountingError) as refused:
                self.chains.reset_chain(self.chain_id, self.at)
            assert refused.value.code == "reset_not_rolling"

    @invariant()
    def steps_agree(self) -> None:
        if not hasattr(self, "chains"):
            return
        for user in USERS:
            view = self.chains.player_chain(self.chain_id, User(user), self.at)
            shown = [
                (state.status.value, None if state.status == "claimed" else state.unlocked_at)
                for state in view.steps
            ]
            assert shown == self.reference.view(user, self.day, self.at), (user, self.at)

    @invariant()
    def one_claim_a_day_in_order(self) -> None:
        """What was counted, whatever the reference says: per player and generation (an
        admin reset starts every player anew, that day too), at most one claim a grid day,
        and the steps in order (rolling: 1..N, again if recurrent; calendar: each day's own)."""
        if not hasattr(self, "chains"):
            return
        steps = self.reference.steps
        for claims in self.won.values():
            days = [day for day, _ in claims]
            assert days == sorted(set(days))  # at most one a day
            if self.reference.kind == "rolling":
                assert [step for _, step in claims] == [n % steps + 1 for n in range(len(claims))]
            else:
                assert all(step == day % steps + 1 for day, step in claims)
        assert check_ledger(self.store) == []


LOCAL = settings(max_examples=100, stateful_step_count=40, deadline=None)
SERVER = settings(max_examples=30, stateful_step_count=40, deadline=None)


@LOCAL
class MemoryDaily(DailyMachine):
    kind = "memory"


@LOCAL
class SQLiteDaily(DailyMachine):
    kind = "sqlite"


TestMemoryDailyChainsMatchTheReference = MemoryDaily.TestCase
TestSQLiteDailyChainsMatchTheReference = SQLiteDaily.TestCase


def test_redis_daily_chains_match_the_reference(redis_server):
    from liveops_rules.stores.redis_store import RedisStore

    def make() -> RedemptionStore:
        return RedisStore(redis_server.url, prefix=f"daily-{uuid.uuid4().hex}")

    run_state_machine_as_test(lambda: DailyMachine(make), settings=SERVER)


def test_postgres_daily_chains_match_the_reference(postgres_server):
    from liveops_rules.stores.postgres_store import PostgresStore

    schema = f"dc_{uuid.uuid4().hex}"
    PostgresStore.create_schema(postgres_server.url, schema=schema)

    def make() -> RedemptionStore:
        postgres_server.empty(schema)
        return PostgresStore(postgres_server.url, schema=schema, pool_size=2)

    run_state_machine_as_test(lambda: DailyMachine(make), settings=SERVER)


@pytest.mark.parametrize("grid", range(len(GRIDS)))
def test_the_reference_grids_cross_the_changes_they_are_chosen_for(grid):
    """The machine's grids do what the module says (checked on the brute-force grid)."""
    zone, start = GRIDS[grid]
    lengths = {ref.day_start(start, zone, n + 1) - ref.day_start(start, zone, n) for n in range(12)}
    hours = {0: {24}, 1: {23, 24}, 2: {23.5, 24}, 3: {24, 25}}[grid]
    assert lengths == {timedelta(hours=h) for h in hours}
