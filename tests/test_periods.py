"""LiveOps v3 promotion periods: a promotion runs in any of its periods (start inclusive,
end exclusive), says which period is next, and keeps both wire forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveops_rules import (
    BetweenPeriods,
    Catalog,
    Coupon,
    Ended,
    NotStarted,
    Period,
    PromotionKind,
    User,
    ValidationError,
    ValidityWindow,
    error_code_for,
    evaluate,
    is_eligible,
)
from liveops_rules.wire import (
    Form,
    dump_promotion,
    dump_stored_promotion,
    load_promotion,
    load_stored_promotion,
)
from tests.strategies import BASE, catalogs_with_periods, moments, period_windows, users


def at(hours: float) -> datetime:
    return BASE + timedelta(hours=hours)


TWO = ValidityWindow.of_periods([Period(at(10), at(20)), Period(at(0), at(5))])


def brute_force_inside(window: ValidityWindow, moment: datetime) -> bool:
    return any(
        (start is None or start <= moment) and (end is None or moment < end)
        for start, end in window.all_periods
    )


@settings(max_examples=400, deadline=None)
@given(period_windows(), moments)
def test_a_window_contains_a_moment_when_one_of_its_periods_does(window, moment):
    assert window.contains(moment) == brute_force_inside(window, moment)
    later = [s for s, _ in window.all_periods if s is not None and s > moment]
    assert window.next_start(moment) == (min(later) if later else None)


def test_periods_are_sorted_and_one_period_is_the_plain_window():
    assert TWO.start == at(0)
    assert TWO.end == at(20)
    assert [p.start for p in TWO.periods] == [at(0), at(10)]
    assert ValidityWindow.of_periods([Period(at(1), at(2))]) == ValidityWindow(at(1), at(2))
    assert ValidityWindow.of_periods([]) == ValidityWindow()


@pytest.mark.parametrize(
    "periods",
    [
        [Period(at(0), at(5)), Period(at(4), at(9))],  # overlap
        [Period(at(0)), Period(at(10), at(20))],  # open, with another period
    ],
)
def test_overlapping_or_open_periods_among_several_are_refused(periods):
    with pytest.raises(ValidationError):
        ValidityWindow.of_periods(periods)


def test_the_reasons_say_not_started_between_periods_with_the_next_start_or_ended():
    coupon = Coupon(external_id="c", enabled=True, window=TWO)
    user = User("u")
    assert evaluate(coupon, user, at(-1)).reasons == (NotStarted(at(0)),)
    assert evaluate(coupon, user, at(0)).eligible
    assert evaluate(coupon, user, at(5)).reasons == (BetweenPeriods(at(5), at(10)),)
    assert evaluate(coupon, user, at(9.9)).reasons == (BetweenPeriods(at(5), at(10)),)
    assert evaluate(coupon, user, at(10)).eligible
    assert evaluate(coupon, user, at(20)).reasons == (Ended(at(20)),)
    assert not is_eligible(coupon, user, at(7))
    assert int(error_code_for(BetweenPeriods(at(5), at(10)))) == 9807
    assert BetweenPeriods(at(5), at(10)).to_dict()["next_start"] == at(10).isoformat()


@settings(max_examples=250, deadline=None)
@given(catalogs_with_periods(), st.lists(st.tuples(users, moments), min_size=1, max_size=6))
def test_the_catalog_answers_as_evaluate_for_promotions_with_periods(promotions, queries):
    catalog = Catalog(promotions)
    for user, moment in queries:
        expected = [p for p in promotions if evaluate(p, user, moment).eligible]
        assert catalog.eligible(user, moment) == expected


V3 = {
    "external_id": "c",
    "name": {"en": "C"},
    "promotion_periods": [
        {"date_from": "2026-03-01T10:00:00+00:00", "date_until": "2026-03-01T20:00:00+00:00"},
        {"date_from": "2026-03-01T00:00:00+00:00", "date_until": "2026-03-01T05:00:00+00:00"},
    ],
}


def test_v3_payloads_load_and_dump_and_v2_dumps_refuse_several_periods():
    coupon = load_promotion("coupon", V3, form=Form.REQUEST)
    assert coupon.window == TWO
    dumped = dump_promotion(coupon, Form.REQUEST, version=3)
    assert dumped["promotion_periods"] == sorted(
        V3["promotion_periods"], key=lambda p: p["date_from"]
    )
    assert "date_start" not in dumped
    assert load_promotion("coupon", dumped) == coupon
    with pytest.raises(ValidationError, match="periods"):
        dump_promotion(coupon)  # v2: refused, not truncated to one period
    single = load_promotion(
        "coupon",
        {**V3, "promotion_periods": [{"date_from": "2026-03-01T00:00:00Z", "date_until": None}]},
    )
    assert single.window == ValidityWindow(at(0))
    assert dump_promotion(single)["date_start"] == "2026-03-01T00:00:00+00:00"  # v2 still
    assert load_stored_promotion(dump_stored_promotion(coupon)) == coupon


@pytest.mark.parametrize(
    ("periods", "path"),
    [
        ([], "$.promotion_periods"),
        (
            [{"date_from": "2026-03-01T00:00:00Z"}, V3["promotion_periods"][0]],
            "$.promotion_periods[0].date_until",
        ),
        (
            [
                {"date_from": "2026-03-01T00:00:00Z", "date_until": "2026-03-01T11:00:00Z"},
                V3["promotion_periods"][0],
            ],
            "$.promotion_periods[1].date_from",
        ),
        ([{"date_until": "2026-03-01T11:00:00Z"}], "$.promotion_periods[0].date_from"),
    ],
)
def test_wrong_periods_are_refused_at_their_path(periods, path):
    with pytest.raises(ValidationError) as caught:
        load_promotion("coupon", {**V3, "promotion_periods": periods})
    assert path in [p.path for p in caught.value.problems]


def test_a_payload_has_dates_or_periods_not_both():
    with pytest.raises(ValidationError, match="not both"):
        load_promotion("coupon", {**V3, "date_start": "2026-03-01T00:00:00Z"})


def test_a_catalog_of_one_kind_keeps_its_kinds_apart_with_periods():
    coupon = Coupon(external_id="c", enabled=True, window=TWO)
    catalog = Catalog([coupon])
    assert catalog.eligible(User("u"), at(12), [PromotionKind.COUPON]) == [coupon]
    assert catalog.eligible(User("u"), at(7)) == []
    assert catalog.eligible(User("u"), datetime(2026, 3, 1, 12, tzinfo=UTC)) == [coupon]
