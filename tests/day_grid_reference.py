"""A brute-force reading of daily chains' day grid for the tests, written from the rule in
chains.md and the DayGrid docstring, never from `liveops_rules.chains.days` or
`liveops_rules.schedule`:

- day 0 begins exactly at `date_start`;
- without a zone, day n begins n * 24 hours later;
- with a zone, day n (n >= 1) begins at the first moment the zone's clock shows `date_start`'s
  local wall-clock time on the n-th calendar day after it, or a later time (a skipped time
  begins the day as the clock jumps past it; a repeated one at its first showing).

The reading walks UTC minutes and watches the clock: within one minute the offset is constant
(checked at each minute's last microsecond: every zone's offset changes on whole minutes
since 1970), so the clock first shows a wall time in the first minute whose end is past it.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

DAY = timedelta(days=1)
_MINUTE = timedelta(minutes=1)
_TICK = timedelta(microseconds=1)
# No zone's clock has been 16 hours ahead of UTC: the walk starts where it is behind.
_LEAD = timedelta(hours=16)
_WALK = int(2 * _LEAD / _MINUTE) + 24 * 60


def clock(moment: datetime, zone: ZoneInfo) -> datetime:
    """What the zone's clock shows at `moment` (naive)."""
    return moment.astimezone(zone).replace(tzinfo=None)


@functools.lru_cache(maxsize=4096)
def first_moment_showing(wall: datetime, zone_name: str) -> datetime:
    """The first UTC moment the zone's clock shows `wall` or a later time."""
    zone = ZoneInfo(zone_name)
    moment = (wall - _LEAD).replace(second=0, microsecond=0, tzinfo=UTC)
    assert clock(moment, zone) < wall
    for _ in range(_WALK):
        shown = clock(moment, zone)
        last = moment + _MINUTE - _TICK
        assert clock(last, zone) - shown == _MINUTE - _TICK, f"{zone_name} changes mid-minute"
        if shown + _MINUTE > wall:  # the clock shows `wall` in this minute (or jumped past)
            return moment + max(wall - shown, timedelta(0))
        moment += _MINUTE
    raise AssertionError(f"the clock of {zone_name} never shows {wall}")


def day_start(start: datetime, zone_name: str | None, day: int) -> datetime:
    """When day `day` (>= 0) of the grid anchored at `start` begins, in UTC."""
    assert day >= 0
    start = start.astimezone(UTC)
    if day == 0:
        return start
    if zone_name is None:
        return start + day * DAY
    wall = clock(start, ZoneInfo(zone_name)).replace(fold=0)
    return first_moment_showing(wall + day * DAY, zone_name)


def day_of(start: datetime, zone_name: str | None, at: datetime) -> int:
    """The day `at` is in, walking the days from day 0 (-1 for any moment before it)."""
    if at < start:
        return -1
    day = 0
    while day_start(start, zone_name, day + 1) <= at:
        day += 1
    return day
