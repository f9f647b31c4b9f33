"""Daily chains' day grid (`liveops_rules.chains.days.DayGrid`) against a brute-force reading
of its rule (tests.day_grid_reference: walk UTC minutes, watch the zone's clock), over starts
near daylight saving changes in several zones: Europe/Berlin and America/New_York (23 and 25
hour days), Australia/Lord_Howe (a 30-minute change), Pacific/Apia (2011-12-30 never
happened there), zones without changes, and grids without a zone (24-hour days)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from liveops_rules.chains.days import DayGrid
from tests import day_grid_reference as ref

DAYS_LOOKED_AT = 8

# Moments near each zone's clock changes (within an hour or so of them): starts are drawn a
# few days before one, so that some day of the grid crosses it.
HOTSPOTS: dict[str | None, tuple[datetime, ...]] = {
    "Europe/Berlin": (datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)),
    "America/New_York": (
        datetime(2026, 3, 8, 7, tzinfo=UTC),
        datetime(2026, 11, 1, 6, tzinfo=UTC),
    ),
    "Australia/Lord_Howe": (
        datetime(2026, 4, 4, 15, tzinfo=UTC),
        datetime(2026, 10, 3, 15, 30, tzinfo=UTC),
    ),
    "Pacific/Apia": (
        datetime(2011, 12, 30, 10, tzinfo=UTC),
        datetime(2012, 3, 31, 14, tzinfo=UTC),
    ),
    "Asia/Kathmandu": (datetime(2026, 6, 1, tzinfo=UTC),),
    "UTC": (datetime(2026, 6, 1, tzinfo=UTC),),
    None: (datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC)),
}


def second_showing(start: datetime, zone: str | None) -> bool:
    """Whether the zone's clock showed `start`'s wall-clock time before (a repeated hour's
    second pass), by the brute-force reading."""
    if zone is None:
        return False
    wall = ref.clock(start, ZoneInfo(zone))
    return ref.first_moment_showing(wall, zone) < start


def fraction_in_a_gap(start: datetime, zone: str | None) -> bool:
    """Whether `start` has a fraction of a second and a day's wall-clock time looked at falls
    in a gap (a known bug, tested on its own below), by the brute-force reading."""
    if zone is None or not start.microsecond:
        return False
    wall = ref.clock(start, ZoneInfo(zone))
    return any(
        ref.clock(ref.first_moment_showing(wall + n * ref.DAY, zone), ZoneInfo(zone))
        != wall + n * ref.DAY
        for n in range(1, DAYS_LOOKED_AT + 1)
    )


@st.composite
def grids(draw: st.DrawFn) -> tuple[datetime, str | None]:
    """A start a few days before a clock change (to the second, sometimes with microseconds,
    sometimes written with another offset than UTC) and the grid's zone."""
    zone = draw(st.sampled_from(sorted(HOTSPOTS, key=str)))
    hotspot = draw(st.sampled_from(HOTSPOTS[zone]))
    days_before = draw(st.integers(0, 4))
    shift = timedelta(seconds=draw(st.integers(-2 * 3600, 2 * 3600)))
    micro = timedelta(microseconds=draw(st.sampled_from((0, 0, 1, 999_999))))
    start = hotspot - days_before * ref.DAY + shift + micro
    written = draw(st.sampled_from((UTC, timezone(timedelta(hours=-5)), timezone(timedelta(0)))))
    return start.astimezone(written), zone


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@settings(max_examples=150)
@given(grids())
def test_each_day_after_day_zero_begins_where_the_clock_first_shows_the_start_time(
    grid: tuple[datetime, str | None],
) -> None:
    start, zone = grid
    assume(not fraction_in_a_gap(start, zone))
    days = DayGrid(start, zone)
    for day in range(1, DAYS_LOOKED_AT):
        assert days.day_start(day) == ref.day_start(start, zone, day), day


@settings(max_examples=150)
@given(grids())
def test_day_zero_begins_exactly_at_date_start(grid: tuple[datetime, str | None]) -> None:
    start, zone = grid
    # A start in a repeated hour's second pass is a known bug, tested on its own below.
    assume(not second_showing(start, zone))
    days = DayGrid(start, zone)
    assert days.day_start(0) == start
    assert days.day_of(start) == 0
    # -1, or less when the calendar day before the start was skipped (Apia, 2011-12-30).
    assert days.day_of(start - timedelta(microseconds=1)) < 0


@pytest.mark.parametrize(
    ("start", "zone"),
    [
        (utc(2026, 11, 1, 6, 30), "America/New_York"),  # 01:30 EST, after 01:30 EDT
        (utc(2026, 10, 25, 1, 15), "Europe/Berlin"),  # 02:15 CET, after 02:15 CEST
        (utc(2026, 4, 4, 15, 10), "Australia/Lord_Howe"),  # 01:40 +10:30, after 01:40 +11
    ],
)
def test_day_zero_begins_at_a_date_start_in_a_repeated_hours_second_pass(
    start: datetime, zone: str
) -> None:
    assert second_showing(start, zone)  # the case is what it says
    days = DayGrid(start, zone)
    assert (days.day_start(0), days.day_of(start - timedelta(minutes=1))) == (start, -1)


@pytest.mark.parametrize(
    ("start", "zone", "gap_end"),
    [
        # 02:00:00.000001 EST; on 8 March 02:00-03:00 is skipped: day 1 begins at 03:00 EDT.
        (datetime(2026, 3, 7, 7, 0, 0, 1, tzinfo=UTC), "America/New_York", utc(2026, 3, 8, 7)),
        (
            datetime(2026, 3, 28, 1, 30, 0, 500_000, tzinfo=UTC),
            "Europe/Berlin",
            utc(2026, 3, 29, 1),
        ),
    ],
)
def test_a_fractional_start_time_skipped_by_a_change_begins_the_day_at_the_gaps_end(
    start: datetime, zone: str, gap_end: datetime
) -> None:
    assert ref.day_start(start, zone, 1) == gap_end  # the reading agrees on the case
    days = DayGrid(start, zone)
    assert (days.day_start(1), days.day_of(gap_end)) == (gap_end, 1)


@settings(max_examples=150)
@given(grids(), st.integers(0, (DAYS_LOOKED_AT - 1) * 86_400 - 1), st.integers(0, 999_999))
@example((utc(2011, 12, 29, 20), "Pacific/Apia"), 14 * 3600, 0)  # Apia's first 10-hour day
def test_a_moment_is_in_the_day_the_walk_of_days_finds(
    grid: tuple[datetime, str | None], seconds: int, micro: int
) -> None:
    start, zone = grid
    assume(not fraction_in_a_gap(start, zone))
    at = start + timedelta(seconds=seconds, microseconds=micro)
    assert DayGrid(start, zone).day_of(at) == ref.day_of(start, zone, at)


@settings(max_examples=100)
@given(grids(), st.integers(1, 3 * 86_400))
def test_a_moment_before_date_start_is_in_a_day_before_day_zero(
    grid: tuple[datetime, str | None], seconds: int
) -> None:
    start, zone = grid
    assume(not second_showing(start, zone))  # the known bug above
    assert DayGrid(start, zone).day_of(start - timedelta(seconds=seconds)) < 0


@settings(max_examples=150)
@given(grids())
def test_days_begin_in_order_and_each_day_start_lies_in_its_day(
    grid: tuple[datetime, str | None],
) -> None:
    start, zone = grid
    days = DayGrid(start, zone)
    starts = [days.day_start(n) for n in range(-3, DAYS_LOOKED_AT + 1)]
    assert starts == sorted(starts)
    for n, (begins, next_begins) in enumerate(itertools.pairwise(starts), -3):
        if begins < next_begins:
            assert days.day_of(begins) == n
            assert days.day_of(next_begins - timedelta(microseconds=1)) == n
        else:  # an empty day (a skipped calendar day): its moment is the next day's
            assert days.day_of(begins) > n


def test_without_a_zone_days_are_24_hours_from_date_start() -> None:
    start = datetime(2026, 3, 7, 23, 59, 59, 5, tzinfo=timezone(timedelta(hours=3)))
    days = DayGrid(start)
    assert [days.day_start(n) for n in range(3)] == [
        start + n * timedelta(hours=24) for n in (0, 1, 2)
    ]
    assert days.day_of(start + timedelta(hours=47, minutes=59)) == 1
    assert days.day_of(start + timedelta(hours=48)) == 2
    assert days.day_of(start - timedelta(microseconds=1)) == -1


def test_across_new_yorks_changes_days_are_23_and_25_hours() -> None:
    spring = DayGrid(utc(2026, 3, 7, 14), "America/New_York")  # 09:00 EST
    assert spring.day_start(1) - spring.day_start(0) == timedelta(hours=23)
    assert spring.day_start(1) == utc(2026, 3, 8, 13)  # 09:00 EDT
    autumn = DayGrid(utc(2026, 10, 31, 13), "America/New_York")  # 09:00 EDT
    assert autumn.day_start(1) - autumn.day_start(0) == timedelta(hours=25)


def test_a_start_time_skipped_by_the_change_begins_that_day_as_the_gap_ends() -> None:
    days = DayGrid(utc(2026, 3, 7, 7, 30), "America/New_York")  # 02:30 EST
    assert days.day_start(1) == utc(2026, 3, 8, 7)  # 03:00 EDT: 02:30 never shows
    assert days.day_start(2) == utc(2026, 3, 9, 6, 30)  # 02:30 EDT
    berlin = DayGrid(utc(2026, 3, 28, 1, 45), "Europe/Berlin")  # 02:45 CET
    assert berlin.day_start(1) == utc(2026, 3, 29, 1)  # 03:00 CEST


def test_a_start_time_repeated_by_the_change_begins_that_day_at_its_first_showing() -> None:
    days = DayGrid(utc(2026, 10, 31, 5, 30), "America/New_York")  # 01:30 EDT
    assert days.day_start(1) == utc(2026, 11, 1, 5, 30)  # 01:30 EDT, not 01:30 EST
    assert days.day_start(1) - days.day_start(0) == timedelta(hours=24)
    assert days.day_start(2) == utc(2026, 11, 2, 6, 30)  # 25 hours later


def test_lord_howes_half_hour_change_makes_days_of_23_and_a_half_and_24_and_a_half_hours() -> None:
    spring = DayGrid(utc(2026, 10, 2, 22), "Australia/Lord_Howe")  # 08:30 +10:30
    assert spring.day_start(1) - spring.day_start(0) == timedelta(hours=23, minutes=30)
    autumn = DayGrid(utc(2026, 4, 3, 21), "Australia/Lord_Howe")  # 08:00 +11
    assert autumn.day_start(1) - autumn.day_start(0) == timedelta(hours=24, minutes=30)
    gap = DayGrid(utc(2026, 10, 2, 15, 40), "Australia/Lord_Howe")  # 02:10 +10:30
    assert gap.day_start(1) == utc(2026, 10, 3, 15, 30)  # 02:30 +11: 02:10 never shows


def test_apias_skipped_day_shortens_a_day_or_empties_one() -> None:
    zone = ZoneInfo("Pacific/Apia")
    days = DayGrid(datetime(2011, 12, 29, 10, tzinfo=zone), "Pacific/Apia")
    assert days.day_start(1) == datetime(2011, 12, 31, 0, tzinfo=zone)  # 30 Dec never was
    assert days.day_start(1) - days.day_start(0) == timedelta(hours=14)
    assert days.day_start(2) == datetime(2011, 12, 31, 10, tzinfo=zone)
    midnight = DayGrid(datetime(2011, 12, 29, 0, tzinfo=zone), "Pacific/Apia")
    assert midnight.day_start(1) == midnight.day_start(2)  # day 1 (30 Dec) has no moment
    assert midnight.day_of(midnight.day_start(1)) == 2
    assert midnight.day_of(midnight.day_start(1) - timedelta(microseconds=1)) == 0
