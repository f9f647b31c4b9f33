"""Resets in IANA zones against a brute-force reading of the rule, over many zones.

The rule (liveops_rules.schedule): each reset belongs to a day of the zone's calendar and
fires at the first moment the zone's clock shows that day and hour or later; so a skipped
local time fires as the gap ends, a repeated one at its first occurrence, and a day past a
month's end is the month's last day. The reading here walks UTC instants and watches the clock
(tests.zone_clock); it never calls the schedule's helpers.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liveops_rules import RecurrentSchedule, ValidationError
from liveops_rules.models.zones import is_known_zone
from liveops_rules.schedule import next_reset, period_of, period_start
from tests.zone_clock import clock, first_moment_clock_shows

# Days of wall-clock resets looked at either side of a moment, and how far probes may lie.
_TARGET_DAYS = {"daily": 5, "weekly": 18, "monthly": 70}
_PROBE_DAYS = {"daily": 2, "weekly": 8, "monthly": 32}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def is_reset_day(schedule: RecurrentSchedule, day: date) -> bool:
    if schedule.interval == "weekly":
        return day.isoweekday() == schedule.day_of_week
    if schedule.interval == "monthly":
        assert schedule.day_of_month is not None
        last = calendar.monthrange(day.year, day.month)[1]
        return day.day == min(schedule.day_of_month, last)
    return True


def brute_force_resets(schedule: RecurrentSchedule, around: datetime) -> list[datetime]:
    """Every reset whose local day lies within the interval's window of days around `around`."""
    zone = ZoneInfo(schedule.zone)
    days = _TARGET_DAYS[schedule.interval]
    centre = around.astimezone(UTC).date()
    walls = [
        datetime.combine(centre + timedelta(days=offset), datetime.min.time()).replace(
            hour=schedule.hour
        )
        for offset in range(-days, days + 1)
    ]
    return sorted(
        {first_moment_clock_shows(wall, zone) for wall in walls if is_reset_day(schedule, wall)}
    )


def clock_changes(zone: ZoneInfo, year: int) -> list[datetime]:
    """Moments at which the zone's offset changed during `year` (day by day, then halving)."""
    found = []
    day = utc(year, 1, 1)
    for _ in range(366):
        low, high = day, day + timedelta(days=1)
        if low.astimezone(zone).utcoffset() != high.astimezone(zone).utcoffset():
            for _ in range(20):  # a day in halves, to the second
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high)
        day += timedelta(days=1)
    return found


# Zones and years with forward jumps of more than an hour (found by scanning every zone from
# 1890 to 2060 day by day): most zones change by one hour, where a wrong reading of a gap
# cannot show.
LONG_GAPS = (
    ("Antarctica/Troll", 2026),  # 2 hours, every March
    ("Antarctica/Troll", 2040),
    ("Pacific/Apia", 2011),  # the 30th of December skipped
    ("Pacific/Kwajalein", 1993),  # a day skipped
    ("Pacific/Kiritimati", 1995),  # a day skipped
    ("Antarctica/Casey", 2009),  # 3 hours
    ("America/Danmarkshavn", 1996),  # 3 hours
    ("Asia/Yangon", 1942),  # 2.5 hours
    ("America/Montevideo", 1974),  # 1.5 hours
    ("Antarctica/McMurdo", 1956),  # 12 hours
    ("Europe/Simferopol", 2014),  # 2 hours
    ("Europe/Moscow", 1918),  # 2 hours
)


def jump(change: datetime, zone: ZoneInfo) -> timedelta:
    """How far the zone's clock moved at `change` (either way)."""
    return abs(clock(change, zone) - clock(change - timedelta(seconds=1), zone))


def hours_around(change: datetime, zone: ZoneInfo) -> list[int]:
    """The local hours a clock change skips or repeats (and the hours either side)."""
    before, after = clock(change - timedelta(seconds=1), zone), clock(change, zone)
    low, high = min(before, after).replace(minute=0, second=0), max(before, after)
    return sorted(
        {(low + timedelta(hours=k)).hour for k in range(26) if low + timedelta(hours=k) <= high}
    )


@st.composite
def zoned_cases(draw: st.DrawFn) -> tuple[RecurrentSchedule, datetime]:
    """A schedule in any zone and a moment, mostly within days of one of its clock changes."""
    zone, year = draw(
        # Zones every machine knows (not posix/..., right/...: system files only).
        st.tuples(st.timezones().filter(lambda z: is_known_zone(z.key)), st.integers(1890, 2060))
        | st.sampled_from(LONG_GAPS).map(lambda case: (ZoneInfo(case[0]), case[1]))
    )
    changes = clock_changes(zone, year)
    interval = draw(st.sampled_from(("daily", "weekly", "monthly")))
    if changes and draw(st.integers(0, 9)):
        # The longest jump of the year first: hypothesis draws small indexes more often.
        changes.sort(key=lambda change: -jump(change, zone))
        change = changes[draw(st.integers(0, len(changes) - 1))]
        near = change + timedelta(minutes=draw(st.integers(-3 * 24 * 60, 3 * 24 * 60)))
        hour = draw(st.sampled_from(hours_around(change, zone)) | st.integers(0, 23))
    else:
        near = utc(year, 1, 1) + timedelta(minutes=draw(st.integers(0, 365 * 24 * 60)))
        hour = draw(st.integers(0, 23))
    fields: dict[str, int] = {}
    if interval == "weekly":
        fields["day_of_week"] = draw(st.just(clock(near, zone).isoweekday()) | st.integers(1, 7))
    if interval == "monthly":
        local_day = clock(near, zone).day
        fields["day_of_month"] = draw(st.sampled_from((local_day, 29, 30, 31)) | st.integers(1, 31))
    return RecurrentSchedule(interval, hour=hour, zone=zone.key, **fields), near


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(zoned_cases())
def test_resets_in_any_zone_match_a_walk_over_its_clock(case):
    schedule, near = case
    resets = brute_force_resets(schedule, near)
    reach = timedelta(days=_PROBE_DAYS[schedule.interval])
    probes = [near] + [
        moment + nudge
        for reset in resets
        if abs(reset - near) <= reach
        for moment, nudge in ((reset, timedelta(0)), (reset, -timedelta(microseconds=1)))
    ]
    for probe in probes:
        start = max(reset for reset in resets if reset <= probe)
        end = min(reset for reset in resets if reset > probe)
        assert period_start(schedule, probe) == start, probe
        assert next_reset(schedule, probe) == end, probe
        assert period_of(schedule, probe) == (start, end), probe


def test_troll_skips_two_hours_and_resets_as_the_gap_ends():
    # 2026-03-29 01:00Z: Antarctica/Troll goes from +00:00 to +02:00, skipping 01:00..03:00.
    for hour in (1, 2):
        schedule = RecurrentSchedule("daily", hour=hour, zone="Antarctica/Troll")
        assert next_reset(schedule, utc(2026, 3, 28, 12)) == utc(2026, 3, 29, 1)
        assert period_of(schedule, utc(2026, 3, 29, 1, 30)) == (
            utc(2026, 3, 29, 1),
            utc(2026, 3, 29, 23) + timedelta(hours=hour - 1),  # the 30th at +02:00
        )


def test_apia_keeps_the_reset_of_the_day_it_skipped():
    # Pacific/Apia went from 2011-12-29 23:59:59-10:00 to 2011-12-31 00:00:00+14:00
    # (2011-12-30 10:00Z): the 30th never happened there.
    schedule = RecurrentSchedule("daily", hour=3, zone="Pacific/Apia")
    moment, found = utc(2011, 12, 28), []
    for _ in range(4):
        moment = next_reset(schedule, moment)
        found.append(moment)
    assert found == [
        utc(2011, 12, 28, 13),  # the 28th, 03:00-10:00
        utc(2011, 12, 29, 13),  # the 29th, 03:00-10:00
        utc(2011, 12, 30, 10),  # the 30th, skipped: as the gap ends
        utc(2011, 12, 30, 13),  # the 31st, 03:00+14:00
    ]
    weekly = RecurrentSchedule("weekly", hour=12, day_of_week=5, zone="Pacific/Apia")  # Friday
    assert next_reset(weekly, utc(2011, 12, 27)) == utc(2011, 12, 30, 10)
    monthly = RecurrentSchedule("monthly", hour=0, day_of_month=30, zone="Pacific/Apia")
    assert next_reset(monthly, utc(2011, 12, 1)) == utc(2011, 12, 30, 10)


def test_a_reset_at_midnight_after_a_skipped_day_is_one_reset():
    schedule = RecurrentSchedule("daily", hour=0, zone="Pacific/Apia")
    # The 30th's reset (as the gap ends) and the 31st's (at its midnight) are the same moment.
    assert period_of(schedule, utc(2011, 12, 30, 12)) == (
        utc(2011, 12, 30, 10),
        utc(2011, 12, 31, 10),
    )
    assert period_of(schedule, utc(2011, 12, 30, 9)) == (
        utc(2011, 12, 29, 10),
        utc(2011, 12, 30, 10),
    )


EDGES = (utc(1, 1, 1) + timedelta(days=100), datetime.max.replace(tzinfo=UTC) - timedelta(days=100))
EDGE_SCHEDULES = [
    RecurrentSchedule("monthly", hour=0, day_of_month=31, zone="Pacific/Kiritimati"),
    RecurrentSchedule("weekly", hour=23, day_of_week=7, utc_offset=timedelta(hours=-12)),
    RecurrentSchedule("daily", hour=0, zone="America/Adak"),
]


@pytest.mark.parametrize("schedule", EDGE_SCHEDULES)
def test_moments_near_the_ends_of_the_calendar_are_refused(schedule):
    for at in (
        utc(1, 1, 1),
        EDGES[0] - timedelta(microseconds=1),
        datetime.max.replace(tzinfo=UTC),
    ):
        with pytest.raises(ValidationError, match="100 days"):
            period_of(schedule, at)
    for at in EDGES:  # documented as the last moments with periods
        start, end = period_of(schedule, at)
        assert start <= at < end
