"""A brute-force reading of a zone's clock for the tests: walk UTC instants and watch it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

# No zone's offset has ever been 36 hours from UTC: the walk starts where the clock is behind.
_LEAD = timedelta(hours=36)
_STEPS = (timedelta(minutes=15), timedelta(minutes=1), timedelta(seconds=1))


def clock(moment: datetime, zone: ZoneInfo) -> datetime:
    """What the zone's clock shows at `moment` (naive)."""
    return moment.astimezone(zone).replace(tzinfo=None)


def first_moment_clock_shows(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first UTC moment the zone's clock shows `wall` or later: walk forward in quarter
    hours, then minutes, then seconds, from a day and a half before."""
    low = wall.replace(tzinfo=UTC) - _LEAD
    assert clock(low, zone) < wall
    for step in _STEPS:
        for _ in range(int(3 * _LEAD / step)):
            if clock(low + step, zone) >= wall:
                break
            low += step
        else:
            raise AssertionError(f"the clock of {zone} never shows {wall}")
    return low + _STEPS[-1]
