"""Recurrent reset periods: daily, weekly, monthly, at fixed offsets and in IANA zones."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveops_rules import RecurrentSchedule, ValidationError
from liveops_rules.schedule import next_reset, period_of, period_start


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def resets_between(schedule: RecurrentSchedule, start: datetime, end: datetime) -> list[datetime]:
    found = []
    moment = period_start(schedule, start)
    while moment < end:
        if moment >= start:
            found.append(moment)
        moment = next_reset(schedule, moment)
    return found


def test_daily_at_midnight_plus_three_opens_at_21_utc():
    schedule = RecurrentSchedule("daily", hour=0, utc_offset=timedelta(hours=3))
    assert period_start(schedule, utc(2026, 11, 22, 20, 59, 59)) == utc(2026, 11, 21, 21)
    assert period_start(schedule, utc(2026, 11, 22, 21)) == utc(2026, 11, 22, 21)
    assert next_reset(schedule, utc(2026, 11, 22, 21)) == utc(2026, 11, 23, 21)


@pytest.mark.parametrize(("day", "expected"), [(1, utc(2026, 11, 23)), (7, utc(2026, 11, 22))])
def test_weekly_monday_is_1_and_sunday_is_7(day, expected):
    schedule = RecurrentSchedule("weekly", hour=0, day_of_week=day)
    assert next_reset(schedule, utc(2026, 11, 21, 12)) == expected  # from a Saturday
    assert expected.isoweekday() == day


@pytest.mark.parametrize(
    ("year", "month", "last"), [(2026, 2, 28), (2028, 2, 29), (2026, 4, 30), (2026, 1, 31)]
)
def test_monthly_day_31_means_the_last_day_of_short_months(year, month, last):
    schedule = RecurrentSchedule("monthly", hour=0, day_of_month=31)
    assert next_reset(schedule, utc(year, month, 1)) == utc(year, month, last)


def test_monthly_does_not_drift_after_a_short_month():
    schedule = RecurrentSchedule("monthly", hour=0, day_of_month=31)
    assert resets_between(schedule, utc(2026, 1, 1), utc(2026, 6, 1)) == [
        utc(2026, 1, 31),
        utc(2026, 2, 28),
        utc(2026, 3, 31),
        utc(2026, 4, 30),
        utc(2026, 5, 31),
    ]


@pytest.mark.parametrize(
    ("hours", "expected"), [(-12, utc(2026, 11, 22, 12)), (14, utc(2026, 11, 22, 10))]
)
def test_extreme_offsets(hours, expected):
    schedule = RecurrentSchedule("daily", hour=0, utc_offset=timedelta(hours=hours))
    assert next_reset(schedule, utc(2026, 11, 22, 0) - timedelta(hours=14)) in (
        expected - timedelta(days=1),
        expected,
    )
    assert period_of(schedule, expected) == (expected, expected + timedelta(days=1))


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("Europe/Berlin", (2026, 3, 29)),
        ("Europe/Berlin", (2026, 10, 25)),
        ("America/New_York", (2026, 3, 8)),
        ("America/New_York", (2026, 11, 1)),
    ],
)
@pytest.mark.parametrize("hour", [1, 2, 3])
def test_a_daylight_saving_day_resets_exactly_once(zone, day, hour):
    schedule = RecurrentSchedule("daily", hour=hour, zone=zone)
    local_midnight = datetime(*day, tzinfo=__import__("zoneinfo").ZoneInfo(zone))
    next_midnight = (local_midnight + timedelta(days=1)).replace(hour=0)
    resets = resets_between(schedule, local_midnight.astimezone(UTC), next_midnight.astimezone(UTC))
    assert len(resets) == 1, resets


def test_skipped_hour_fires_just_after_the_gap():
    schedule = RecurrentSchedule("daily", hour=2, zone="Europe/Berlin")
    # 2026-03-29 02:00 does not exist in Berlin: clocks jump from 02:00 CET to 03:00 CEST.
    assert next_reset(schedule, utc(2026, 3, 28, 12)) == utc(2026, 3, 29, 1)


def test_repeated_hour_fires_at_its_first_occurrence():
    schedule = RecurrentSchedule("daily", hour=2, zone="Europe/Berlin")
    # 2026-10-25 02:00 happens twice; the first is 02:00 CEST = 00:00 UTC.
    assert next_reset(schedule, utc(2026, 10, 24, 12)) == utc(2026, 10, 25, 0)


def test_zone_and_offset_are_exclusive_and_zones_must_exist():
    with pytest.raises(ValidationError, match="utc_offset"):
        RecurrentSchedule("daily", utc_offset=timedelta(hours=1), zone="Europe/Berlin")
    with pytest.raises(ValidationError, match="zone"):
        RecurrentSchedule("daily", zone="Mars/Olympus")


def expected_resets(schedule: RecurrentSchedule, start: datetime, hours: int) -> list[datetime]:
    """The naive truth: walk quarter-hour by quarter-hour and keep those matching the rule."""
    tz = timezone(schedule.utc_offset)
    found = []
    first = start.replace(minute=0, second=0, microsecond=0)
    for step in range(hours * 4 + 4):
        moment = first + timedelta(minutes=15 * step)
        if moment < start:
            continue
        if moment >= start + timedelta(hours=hours):
            break
        local = moment.astimezone(tz)
        if local.hour != schedule.hour or local.minute:
            continue
        if schedule.interval == "weekly" and local.isoweekday() != schedule.day_of_week:
            continue
        if schedule.interval == "monthly":
            last = calendar.monthrange(local.year, local.month)[1]
            if local.day != min(schedule.day_of_month, last):
                continue
        found.append(moment)
    return found


offsets = st.integers(-12 * 4, 14 * 4).map(lambda q: timedelta(minutes=15 * q))
schedules = st.one_of(
    st.builds(RecurrentSchedule, st.just("daily"), st.integers(0, 23), offsets),
    st.builds(
        RecurrentSchedule,
        st.just("weekly"),
        st.integers(0, 23),
        offsets,
        day_of_week=st.integers(1, 7),
    ),
    st.builds(
        RecurrentSchedule,
        st.just("monthly"),
        st.integers(0, 23),
        offsets,
        day_of_month=st.integers(1, 31),
    ),
)


@settings(max_examples=150, deadline=None)
@given(schedules, st.integers(0, 3 * 365 * 24))
def test_resets_match_a_walk_over_every_quarter_hour(schedule, offset_hours):
    start = utc(2026, 1, 1) + timedelta(hours=offset_hours, minutes=7)
    hours = 24 * 70
    walked = expected_resets(schedule, start, hours)
    assert walked  # a 70-day walk sees at least two resets of any schedule
    assert resets_between(schedule, start, start + timedelta(hours=hours)) == walked


@settings(max_examples=300, deadline=None)
@given(schedules, st.integers(0, 10**8))
def test_every_moment_lies_in_exactly_one_period(schedule, seconds):
    at = utc(2024, 1, 1) + timedelta(seconds=seconds)
    start, end = period_of(schedule, at)
    assert start <= at < end
    assert period_start(schedule, start) == start
    assert next_reset(schedule, start) == end


def test_read_form_fields_as_liveops_shows_them():
    from liveops_rules.schedule import read_form_fields

    schedule = RecurrentSchedule("daily", hour=2, utc_offset=timedelta(hours=3))
    assert read_form_fields(schedule, utc(2026, 11, 22, 12)) == {
        "reset_next_date": int(utc(2026, 11, 22, 23).timestamp()),
        "displayable_reset_start_date": "2026-11-22T02:00:00+03:00",
        "displayable_reset_next_date": "2026-11-23T02:00:00+03:00",
    }
