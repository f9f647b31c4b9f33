"""When a recurrent per-user limit resets: period boundaries computed with dateutil.rrule.

A schedule resets daily, weekly (day 1..7, Monday = 1) or monthly (day 1..31; a day past a
month's end means that month's last day) at a whole hour, either at a fixed UTC offset (as
LiveOps defines it) or in an IANA time zone. In a zone, a reset whose local hour is skipped by
a daylight saving change fires once, at the first moment after the gap; one whose hour repeats
fires once, at its first occurrence.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from dateutil import rrule

from liveops_rules.evaluate import check_moment
from liveops_rules.models.limits import IntervalType, RecurrentSchedule

__all__ = ["next_reset", "period_of", "period_start", "read_form_fields"]

_SPAN = {
    IntervalType.DAILY: timedelta(days=2),
    IntervalType.WEEKLY: timedelta(days=8),
    IntervalType.MONTHLY: timedelta(days=63),
}


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


def _resets_around(schedule: RecurrentSchedule, at: datetime) -> list[datetime]:
    """The reset moments within a span either side of `at`, as aware instants, in order."""
    zone = _zone(schedule)
    local = at.astimezone(zone).replace(tzinfo=None)
    span = _SPAN[schedule.interval]
    first = (local - span).replace(hour=0, minute=0, second=0, microsecond=0)
    if schedule.interval is IntervalType.MONTHLY:
        first = first.replace(day=1)
    wall_clock = _rule(schedule, first).between(first, local + span, inc=True)
    # fold=0: a repeated hour counts at its first occurrence; a skipped hour maps past the gap.
    return sorted({naive.replace(tzinfo=zone).astimezone(UTC) for naive in wall_clock})


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
