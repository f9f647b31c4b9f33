"""When a recurrent per-user limit resets: period boundaries computed with dateutil.rrule.

A schedule resets daily, weekly (day 1..7, Monday = 1) or monthly (day 1..31; a day past a
month's end means that month's last day) at a whole hour, either at a fixed UTC offset (as
LiveOps defines it) or in an IANA time zone. In a zone, each reset belongs to a day of the
zone's calendar and fires at the first moment the zone's clock shows that day and hour:

- a reset whose local time is skipped by a change (a daylight saving gap of any length, or a
  whole skipped day such as Pacific/Apia's 2011-12-30) fires once, at the first moment after
  the gap. A skipped day keeps its reset, so no reset is lost and two days' resets merge only
  when they fall on the same moment (a reset at local midnight just after the skipped day);
- a reset whose local time repeats (clocks set back) fires once, at its first occurrence.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from dateutil import rrule

from liveops_rules.errors import ValidationError
from liveops_rules.evaluate import check_moment
from liveops_rules.models.limits import IntervalType, RecurrentSchedule

__all__ = ["first_moment_showing", "next_reset", "period_of", "period_start", "read_form_fields"]

# Wall-clock resets looked at either side of a moment: a period plus the longest clock change
# (a day), so the one before and the one after are always among them.
_SPAN = {
    IntervalType.DAILY: timedelta(days=3),
    IntervalType.WEEKLY: timedelta(days=9),
    IntervalType.MONTHLY: timedelta(days=64),
}
# A span, a month and a day: enough for every date the rule looks at to exist.
_EDGE = timedelta(days=100)
_EARLIEST = datetime.min.replace(tzinfo=UTC) + _EDGE
_LATEST = datetime.max.replace(tzinfo=UTC) - _EDGE
# Halvings that find a gap's end to the second: a gap is at most a few days of seconds.
_GAP_SEARCH_STEPS = 40


@functools.lru_cache(maxsize=256)
def _zone(schedule: RecurrentSchedule) -> tzinfo:
    if schedule.zone is not None:
        return ZoneInfo(schedule.zone)
    return timezone(schedule.utc_offset)


def _rule(schedule: RecurrentSchedule, start: datetime) -> rrule.rrule:
    hour = schedule.hour
    if schedule.interval is IntervalType.DAILY:
        return rrule.rrule(rrule.DAILY, dtstart=start, byhour=hour, byminute=0, bysecond=0)
    if schedule.interval is IntervalType.WEEKLY:
        assert schedule.day_of_week is not None
        return rrule.rrule(
            rrule.WEEKLY,
            dtstart=start,
            byweekday=schedule.day_of_week - 1,
            byhour=hour,
            byminute=0,
            bysecond=0,
        )
    assert schedule.day_of_month is not None
    day = schedule.day_of_month
    # Days 28..day, the last that exists: `bymonthday=31` alone would skip short months.
    return rrule.rrule(
        rrule.MONTHLY,
        dtstart=start,
        bymonthday=tuple(range(min(day, 28), day + 1)),
        bysetpos=-1,
        byhour=hour,
        byminute=0,
        bysecond=0,
    )


def _wall_clock(moment: datetime, zone: tzinfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def first_moment_showing(wall_clock: datetime, zone: tzinfo) -> datetime:
    """The first moment (in UTC) at which `zone`'s clock shows `wall_clock` or later: the
    earlier of two moments when that time repeats, the end of the gap when it is skipped."""
    if isinstance(zone, timezone):
        return wall_clock.replace(tzinfo=zone).astimezone(UTC)
    # The two readings PEP 495 gives: for a repeated time its two moments, for a skipped one
    # the moments just before and just after the gap.
    low, high = sorted(
        wall_clock.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)
    )
    if _wall_clock(low, zone) == wall_clock:
        return low
    if _wall_clock(high, zone) == wall_clock:
        return high
    # Skipped: the clock is behind at `low` and past it at `high`; offsets change on whole
    # seconds, so halving the span finds the moment it jumps.
    for _ in range(_GAP_SEARCH_STEPS):
        seconds = int((high - low).total_seconds())
        if seconds <= 1:
            break
        middle = low + timedelta(seconds=seconds // 2)
        if _wall_clock(middle, zone) >= wall_clock:
            high = middle
        else:
            low = middle
    # Clocks change on whole seconds: a time with a fraction skipped by a gap first shows at
    # the change itself, not a fraction of a second after it.
    whole = high.replace(microsecond=0)
    return whole if _wall_clock(whole, zone) >= wall_clock else high


def _resets_around(schedule: RecurrentSchedule, at: datetime) -> list[datetime]:
    """The reset moments within a span either side of `at`, as aware instants, in order."""
    if not _EARLIEST <= at <= _LATEST:
        raise ValidationError.single(
            "at", f"a moment at least {_EDGE.days} days from the ends of years 1..9999", at
        )
    zone = _zone(schedule)
    local = _wall_clock(at, zone)
    span = _SPAN[schedule.interval]
    first = (local - span).replace(hour=0, minute=0, second=0, microsecond=0)
    if schedule.interval is IntervalType.MONTHLY:
        first = first.replace(day=1)
    wall_clock = _rule(schedule, first).between(first, local + span, inc=True)
    return sorted({first_moment_showing(naive, zone) for naive in wall_clock})


def period_start(schedule: RecurrentSchedule, at: datetime) -> datetime:
    """The last reset at or before `at` (the start of the period `at` is in), in UTC."""
    check_moment(at)
    return max(moment for moment in _resets_around(schedule, at) if moment <= at)


def next_reset(schedule: RecurrentSchedule, at: datetime) -> datetime:
    """The first reset after `at`, in UTC."""
    check_moment(at)
    return min(moment for moment in _resets_around(schedule, at) if moment > at)


def period_of(schedule: RecurrentSchedule, at: datetime) -> tuple[datetime, datetime]:
    """The period containing `at`: [its start, the next reset)."""
    check_moment(at)
    moments = _resets_around(schedule, at)
    return (
        max(moment for moment in moments if moment <= at),
        min(moment for moment in moments if moment > at),
    )


def read_form_fields(schedule: RecurrentSchedule, at: datetime) -> dict[str, int | str]:
    """The fields LiveOps adds to `recurrent_schedule.per_user` when read, at `at`:
    `reset_next_date` (Unix seconds), `displayable_reset_start_date` and
    `displayable_reset_next_date` (ISO 8601 in the schedule's own offset or zone)."""
    start, end = period_of(schedule, at)
    zone = _zone(schedule)
    return {
        "reset_next_date": int(end.timestamp()),
        "displayable_reset_start_date": start.astimezone(zone).isoformat(),
        "displayable_reset_next_date": end.astimezone(zone).isoformat(),
    }
