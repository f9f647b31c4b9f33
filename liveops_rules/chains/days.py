"""Daily chains' rules that need no store: the day grid, which step a player can claim on a
day, each step's state, and how a player's progress is kept in one counter.

The day grid: day 0 begins at the chain's `date_start`; without a `day_zone` every day is 24
hours long; with one, day n begins at the first moment the zone's clock shows `date_start`'s
local time on the n-th calendar day after it (a day across a daylight saving change is 23 or
25 hours; a wall-clock time the change skips begins the day at the gap's end).

A player's progress in one chain:
- `calendar_hard`: step k of cycle c belongs to day c*N+k-1 (cycles after the first only in a
  recurrent chain); it is claimed that day or missed. Kept per cycle, as the set of claimed
  steps (bit k-1 of the counter `d|USER|c|SCOPE|CYCLE|`);
- `rolling`: the next step opens the day after the last claim; missed days wait. Kept in one
  counter `d|USER|r|SCOPE|` as (last claim day + 1) * 32 + steps claimed in the cycle.
Every claim sets the counter from the value it read to the next one in one atomic step (the
store refuses it if another claim came first), so a claim counts once, in order, once a day.
"""

from __future__ import annotations

import enum
import functools
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import attrs

from liveops_rules.chains.rules import running
from liveops_rules.models.daily import DailyChain, DailyChainType
from liveops_rules.schedule import first_moment_showing

__all__ = [
    "DAY",
    "ClaimPlan",
    "DailyProgress",
    "DayGrid",
    "Refused",
    "StepState",
    "StepStatus",
    "calendar_cycle",
    "calendar_key",
    "daily_prefix",
    "decide_claim",
    "next_claim",
    "read_calendar",
    "read_rolling",
    "rolling_key",
    "step_states",
]

DAY = timedelta(days=1)
_ROLLING_BASE = 32  # more than the most steps a chain has (30)
_LATEST = datetime.max.replace(tzinfo=UTC)


@functools.lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@attrs.frozen
class DayGrid:
    """The days of a daily chain: day 0 begins at `start`."""

    start: datetime
    zone: str | None = None

    @classmethod
    def of(cls, chain: DailyChain) -> DayGrid:
        """The grid of `chain`."""
        assert chain.window.start is not None
        return cls(chain.window.start, chain.day_zone)

    def day_start(self, day: int) -> datetime:
        """When day `day` begins (the latest moment there is, for a day past year 9999)."""
        if day == 0:
            return self.start  # also when its wall-clock time comes twice (a fold's second)
        try:
            if self.zone is None:
                return self.start + day * DAY
            zone = _zone(self.zone)
            local = self.start.astimezone(zone).replace(tzinfo=None)
            return first_moment_showing(local + day * DAY, zone)
        except OverflowError:
            return _LATEST if day > 0 else datetime.min.replace(tzinfo=UTC)

    def day_of(self, at: datetime) -> int:
        """The day `at` is in (negative before the grid's start)."""
        if self.zone is None:
            return (at - self.start) // DAY
        zone = _zone(self.zone)
        local = self.start.astimezone(zone).replace(tzinfo=None)
        guess = (at.astimezone(zone).replace(tzinfo=None) - local) // DAY
        # A guess on local clocks is off by at most one either way (a clock change is at
        # most a day): correct it against the days' real beginnings.
        for _ in range(4):
            if self.day_start(guess) > at:
                guess -= 1
            elif self.day_start(guess + 1) <= at:
                guess += 1
            else:
                break
        return guess


class StepStatus(enum.StrEnum):
    """A daily chain step's state for a player at a moment (LiveOps' `status`)."""

    CLAIMED = "claimed"
    CLAIMABLE = "claimable"
    CLAIM_IN_FUTURE = "claim_in_future"
    BLOCKED = "blocked"
    """Missed (its day passed), or out of reach before the chain ends."""


class StepState(NamedTuple):
    """One step as a player sees it: its status and when it opens (opened), if known."""

    step_number: int
    status: StepStatus
    unlocked_at: datetime | None


@attrs.frozen
class DailyProgress:
    """What a player's counters say of one chain: the cycle the steps below are in, the steps
    claimed in it, and (rolling) the day of the last claim (None: none yet). `value` is the
    counter's value it was read from."""

    cycle: int
    claimed: frozenset[int]
    last_day: int | None
    value: int


@attrs.frozen
class ClaimPlan:
    """A claim to count: set `key` from `expected` to `expected + quantity`."""

    key: str
    expected: int
    quantity: int
    day: int


def daily_prefix(user_part: str) -> str:
    """The prefix of every daily chain counter of a player (`user_part` already escaped)."""
    return f"d|{user_part}|"


def calendar_key(user_part: str, scope: str, cycle: int) -> str:
    """The counter of the steps a player claimed in one cycle of a calendar chain (a key no
    other key starts with: read as a range of one)."""
    return f"d|{user_part}|c|{scope}|{cycle}|"


def rolling_key(user_part: str, scope: str) -> str:
    """The counter of a player's place in a rolling chain."""
    return f"d|{user_part}|r|{scope}|"


def read_rolling(value: int, steps: int, recurrent: bool) -> DailyProgress:
    """A rolling chain's progress from its counter's value."""
    if value == 0:
        return DailyProgress(0, frozenset(), None, 0)
    last_day, claimed = divmod(value, _ROLLING_BASE)
    if recurrent and claimed >= steps:  # a chain shortened since: its cycle is complete
        claimed = 0
    return DailyProgress(0, frozenset(range(1, min(claimed, steps) + 1)), last_day - 1, value)


def read_calendar(value: int, cycle: int, steps: int) -> DailyProgress:
    """A calendar chain's progress in `cycle` from that cycle's counter's value."""
    claimed = frozenset(n for n in range(1, steps + 1) if value >> (n - 1) & 1)
    return DailyProgress(cycle, claimed, None, value)


def calendar_cycle(chain: DailyChain, day: int) -> tuple[int, int]:
    """The (cycle, step number) that owns `day` (the last cycle's after a chain without
    recurrence ends; step 0 when the day is past every step)."""
    steps = len(chain.steps)
    cycle, index = divmod(max(day, 0), steps)
    if not chain.recurrent and cycle > 0:
        return 0, 0
    return cycle, index + 1


def step_states(chain: DailyChain, progress: DailyProgress, at: datetime) -> list[StepState]:
    """Every step's state for the player whose progress this is, at `at` (a chain not running
    at `at` has no claimable step)."""
    grid = DayGrid.of(chain)
    day_start = grid.day_start
    today = grid.day_of(at)
    end = chain.window.end
    live = running(chain, at)
    later = StepStatus.CLAIM_IN_FUTURE
    blocked = StepStatus.BLOCKED
    states = []
    if chain.type is DailyChainType.CALENDAR_HARD:
        first = progress.cycle * len(chain.steps) - 1
        for step in chain.steps:
            number = step.step_number
            day = first + number
            opens = day_start(day)
            if number in progress.claimed:
                status = StepStatus.CLAIMED
            elif day < today or (day == today and not live and today >= 0):
                status = blocked
            elif day == today and live:
                status = StepStatus.CLAIMABLE
            else:
                status = later if end is None or opens < end else blocked
            states.append(StepState(number, status, opens))
        return states
    claimed = len(progress.claimed)
    opens_day = 0 if progress.last_day is None else progress.last_day + 1
    first = max(opens_day, today) - claimed - 1  # the next step can be claimed on day first+n
    for step in chain.steps:
        number = step.step_number
        if number <= claimed:
            # Only the last claim's day is kept: earlier claims show no day.
            known = progress.last_day if number == claimed else None
            shown = None if known is None else day_start(known)
            states.append(StepState(number, StepStatus.CLAIMED, shown))
        elif number == claimed + 1 and live and opens_day <= today:
            states.append(StepState(number, StepStatus.CLAIMABLE, day_start(opens_day)))
        else:
            opens = day_start(first + number)
            ended = end is not None and (opens >= end or at >= end)
            status = blocked if ended else later
            states.append(StepState(number, status, opens))
    return states


@attrs.frozen
class Refused:
    """Why a claim cannot be counted: a refusal code and a message saying why."""

    code: str
    message: str


def _when(moment: datetime) -> str:
    return moment.isoformat()


def _claimed_today(chain: DailyChain, grid: DayGrid, today: int, last: bool) -> str:
    """What a second claim on a day is told: when the next claim opens, if one ever does."""
    if last:
        return "Already claimed today: it was the chain's last step."
    opens = grid.day_start(today + 1)
    end = chain.window.end
    if end is not None and opens >= end:
        return f"Already claimed today; the chain ends at {_when(end)}, before the next claim."
    return f"Already claimed today; the next claim opens at {_when(opens)}."


def next_claim(
    chain: DailyChain, progress: DailyProgress, states: list[StepState]
) -> datetime | None:
    """When the player can claim next: a claimable step's opening (now or earlier), else the
    next step's, else the next cycle's first day for a recurrent calendar chain; None when
    nothing is left to claim before the chain ends."""
    for state in states:
        if state.status in (StepStatus.CLAIMABLE, StepStatus.CLAIM_IN_FUTURE):
            return state.unlocked_at
    if chain.recurrent and chain.type is DailyChainType.CALENDAR_HARD:
        opens = DayGrid.of(chain).day_start((progress.cycle + 1) * len(chain.steps))
        end = chain.window.end
        if end is None or opens < end:
            return opens
    return None


def decide_claim(
    chain: DailyChain,
    progress: DailyProgress,
    step_number: int,
    at: datetime,
    key: str,
) -> ClaimPlan | Refused:
    """Whether the player whose progress this is can claim step `step_number` at `at` (the
    chain runs: the caller checked), and the count that claims it."""
    grid = DayGrid.of(chain)
    today = grid.day_of(at)
    steps = len(chain.steps)
    if chain.type is DailyChainType.CALENDAR_HARD:
        _, owner = calendar_cycle(chain, today)
        if owner == 0:
            last = grid.day_start(steps - 1)
            return Refused("chain_completed", f"The chain's last step was on {_when(last)}.")
        if step_number in progress.claimed:
            if step_number == owner:
                final = not chain.recurrent and owner == steps
                return Refused("claimed_today", _claimed_today(chain, grid, today, final))
            return Refused("step_claimed", f"Step {step_number} is already claimed.")
        own_day = progress.cycle * steps + step_number - 1
        if step_number < owner:
            return Refused(
                "step_missed",
                f"Step {step_number} was to be claimed on {_when(grid.day_start(own_day))}; "
                "a missed day's reward is lost.",
            )
        if step_number > owner:
            return Refused(
                "step_in_future",
                f"Step {step_number} opens at {_when(grid.day_start(own_day))}; "
                f"today's step is {owner}.",
            )
        bit = 1 << (step_number - 1)
        return ClaimPlan(key, progress.value, bit, today)
    claimed = len(progress.claimed)
    if claimed >= steps:
        return Refused("chain_completed", "Every step of the chain is claimed.")
    if step_number <= claimed:
        return Refused("step_claimed", f"Step {step_number} is already claimed.")
    if step_number != claimed + 1:
        return Refused(
            "not_next_step", f"Step {step_number} is not the next step: step {claimed + 1} is."
        )
    opens_day = 0 if progress.last_day is None else progress.last_day + 1
    if opens_day > today:
        opens = _when(grid.day_start(opens_day))
        if progress.last_day == today:
            return Refused("claimed_today", _claimed_today(chain, grid, today, False))
        return Refused("step_in_future", f"Step {step_number} opens at {opens}.")
    after = claimed + 1
    if chain.recurrent and after == steps:
        after = 0
    value = (today + 1) * _ROLLING_BASE + after
    return ClaimPlan(key, progress.value, value - progress.value, today)
