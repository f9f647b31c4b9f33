"""Hypothesis strategies for promotions, users and moments, shared by the tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import attrs
from hypothesis import strategies as st

from liveops_rules import (
    Bonus,
    Coupon,
    DateCondition,
    ItemDiscount,
    NumberCondition,
    Period,
    PersonalizedCatalogRule,
    PromoCode,
    RewardItem,
    ShownItem,
    StringCondition,
    UniqueCatalogOffer,
    User,
    ValidityWindow,
)

ATTRIBUTES = ("tier", "level", "signup")
STRING_VALUES = ("gold", "silver", "US", "DE", "", "10")
NUMBER_VALUES = (Decimal("-1"), Decimal(0), Decimal("9.5"), Decimal(10), Decimal(11), Decimal(100))
BASE = datetime(2026, 3, 1, tzinfo=UTC)
OFFSETS = (UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12)))
DAYS = (*(date(2026, 2, d) for d in (27, 28)), date(2026, 3, 1), date(2026, 3, 2))

moments = st.builds(
    lambda hours, tz: (BASE + timedelta(hours=hours)).astimezone(tz),
    st.integers(-72, 72),
    st.sampled_from(OFFSETS),
)
day_or_moment = st.one_of(st.sampled_from(DAYS), moments)

string_conditions = st.builds(
    StringCondition,
    st.sampled_from(ATTRIBUTES),
    st.sampled_from(("eq", "ne")),
    st.sampled_from(STRING_VALUES),
    can_be_missing=st.booleans(),
)
number_conditions = st.builds(
    NumberCondition,
    st.sampled_from(ATTRIBUTES),
    st.sampled_from(("eq", "ne", "gt", "ge", "lt", "le")),
    st.sampled_from(NUMBER_VALUES),
    can_be_missing=st.booleans(),
)
date_conditions = st.builds(
    DateCondition,
    st.sampled_from(ATTRIBUTES),
    st.sampled_from(("eq", "ne", "gt", "ge", "lt", "le")),
    day_or_moment,
    can_be_missing=st.booleans(),
)
conditions = st.one_of(string_conditions, number_conditions, date_conditions)


@st.composite
def windows(draw: st.DrawFn) -> ValidityWindow:
    start = draw(st.none() | moments)
    end = draw(st.none() | moments)
    if start is not None and end is not None and end <= start:
        start, end = (end, start) if end < start else (start, None)
    return ValidityWindow(start, end)


def _common(draw: st.DrawFn, index: int) -> dict[str, object]:
    return {
        "window": draw(windows()),
        "conditions": draw(st.lists(conditions, max_size=5)),
        "enabled": draw(st.booleans()),
    }


@st.composite
def promotions(draw: st.DrawFn, index: int) -> object:
    kind = draw(st.sampled_from(("coupon", "promo", "discount", "bonus", "offer", "rule")))
    common = _common(draw, index)
    if kind == "coupon":
        return Coupon(external_id=f"p{index}", bonus=[RewardItem("gem", 1)], **common)
    if kind == "promo":
        return PromoCode(external_id=f"p{index}", discount_percent=Decimal(5), **common)
    if kind == "discount":
        return ItemDiscount(
            promotion_id=index + 1, discount_percent=Decimal(10), items=["sword"], **common
        )
    if kind == "bonus":
        return Bonus(promotion_id=index + 1, bonus=[RewardItem("gem", 2)], **common)
    if kind == "offer":
        return UniqueCatalogOffer(external_id=f"p{index}", items=["sword"], **common)
    return PersonalizedCatalogRule(
        promotion_id=index + 1,
        name="rule",
        items=[ShownItem(sku=draw(st.sampled_from(("sword", "shield"))))],
        satisfied_for_unauth=draw(st.booleans()),
        **common,
    )


@st.composite
def catalogs(draw: st.DrawFn) -> list[object]:
    size = draw(st.integers(0, 25))
    return [draw(promotions(i)) for i in range(size)]


raw_values = st.one_of(
    st.none(),
    st.sampled_from(STRING_VALUES),
    st.sampled_from(STRING_VALUES),  # strings twice: they are the common case
    st.sampled_from(STRING_VALUES),
    st.sampled_from(("9.5", "10", "10.0", "1e1", "abc", "2026-02-28", "2026-03-01T05:00:00+14:00")),
    st.integers(-2, 120),
    st.sampled_from(NUMBER_VALUES),
    st.sampled_from((True, 1.5, float("nan"), Decimal("NaN"))),
    day_or_moment,
    st.just(datetime(2026, 3, 1, 0, 0)),  # naive: unreadable as a date
)

users = st.builds(
    User,
    st.none() | st.sampled_from(("u1", "u2")),
    st.dictionaries(st.sampled_from(ATTRIBUTES), raw_values),
)


# A denser space for the index's comparisons: one attribute, every promotion enabled and
# always open, thresholds and user values drawn from the same small pools, so that equal
# values, offsets and day boundaries meet often.
FOCUS_NUMBERS = (Decimal(-1), Decimal(0), Decimal("9.5"), Decimal(10), Decimal(11))
FOCUS_MOMENTS = tuple(
    datetime(2026, 3, 1, hour, tzinfo=tz)
    for hour in (0, 10, 23)
    for tz in (UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12)))
)
FOCUS_DAYS = (date(2026, 2, 28), date(2026, 3, 1), date(2026, 3, 2))
OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le")

focused_conditions = st.one_of(
    st.builds(
        StringCondition,
        st.just("x"),
        st.sampled_from(("eq", "ne")),
        st.sampled_from(("a", "b", "10")),
        can_be_missing=st.booleans(),
    ),
    st.builds(
        NumberCondition,
        st.just("x"),
        st.sampled_from(OPERATORS),
        st.sampled_from(FOCUS_NUMBERS),
        can_be_missing=st.booleans(),
    ),
    st.builds(
        DateCondition,
        st.just("x"),
        st.sampled_from(OPERATORS),
        st.sampled_from(FOCUS_DAYS + FOCUS_MOMENTS),
        can_be_missing=st.booleans(),
    ),
)

focused_values = st.one_of(
    st.none(),
    st.sampled_from(("a", "b", "10", "10.0", "9.5", "-1", "x")),
    st.sampled_from(FOCUS_NUMBERS),
    st.sampled_from((-1, 0, 10, 11)),
    st.sampled_from(FOCUS_DAYS + FOCUS_MOMENTS),
    st.sampled_from(FOCUS_DAYS + FOCUS_MOMENTS).map(lambda v: v.isoformat()),
)


@st.composite
def focused_catalogs(draw: st.DrawFn) -> list[object]:
    size = draw(st.integers(1, 30))
    return [
        Coupon(
            external_id=f"c{i}",
            enabled=True,
            conditions=draw(st.lists(focused_conditions, min_size=1, max_size=3)),
        )
        for i in range(size)
    ]


# Every field of every kind, for dump/load round trips.
from liveops_rules import (  # noqa: E402
    DiscountedItem,
    PriceCondition,
    PromotionLimits,
    RecurrentSchedule,
)

skus = st.from_regex(r"[A-Za-z0-9_.\-]{1,12}", fullmatch=True)
external_ids = st.from_regex(r"[A-Za-z0-9._-]{1,20}", fullmatch=True)
int32 = st.integers(1, 2**31 - 1)
limits_or_none = st.none() | int32
decimals_4 = st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False)
percents = st.decimals(min_value=Decimal("0.01"), max_value=100, places=2, allow_nan=False)
any_offset = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-23 * 60, 23 * 60)
)
precise_moments = st.builds(
    lambda seconds, micro, tz: (BASE + timedelta(seconds=seconds, microseconds=micro)).astimezone(
        tz
    ),
    st.integers(-(10**8), 10**8),
    st.sampled_from((0, 0, 123456)),
    any_offset,
)
names = st.dictionaries(
    st.from_regex(r"[a-z]{2}(-[A-Z]{2})?", fullmatch=True), st.text(max_size=20), max_size=3
)
full_conditions = st.one_of(
    st.builds(
        StringCondition,
        st.from_regex(r"[-_.0-9A-Za-z]{1,20}", fullmatch=True),
        st.sampled_from(("eq", "ne")),
        st.text(max_size=30),
        can_be_missing=st.booleans(),
    ),
    st.builds(
        NumberCondition,
        st.from_regex(r"[-_.0-9A-Za-z]{1,20}", fullmatch=True),
        st.sampled_from(OPERATORS),
        st.one_of(
            st.integers(-(10**12), 10**12),
            st.decimals(
                allow_nan=False, allow_infinity=False, places=3, min_value=-(10**9), max_value=10**9
            ),
        ),
        can_be_missing=st.booleans(),
    ),
    st.builds(
        DateCondition,
        st.from_regex(r"[-_.0-9A-Za-z]{1,20}", fullmatch=True),
        st.sampled_from(OPERATORS),
        st.one_of(
            st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1)), precise_moments
        ),
        can_be_missing=st.booleans(),
    ),
)


@st.composite
def full_windows(draw: st.DrawFn) -> ValidityWindow:
    start = draw(st.none() | precise_moments)
    end = draw(st.none() | precise_moments)
    if start is not None and end is not None and end <= start:
        end = None
    return ValidityWindow(start, end)


price_conditions = st.none() | st.lists(
    st.builds(PriceCondition, st.sampled_from(OPERATORS), decimals_4), max_size=3
)
schedules = st.one_of(
    st.builds(
        RecurrentSchedule,
        st.just("daily"),
        st.integers(0, 23),
        any_offset.map(lambda tz: tz.utcoffset(None)),
    ),
    st.builds(
        RecurrentSchedule,
        st.just("weekly"),
        st.integers(0, 23),
        any_offset.map(lambda tz: tz.utcoffset(None)),
        day_of_week=st.integers(1, 7),
    ),
    st.builds(
        RecurrentSchedule,
        st.just("monthly"),
        st.integers(0, 23),
        any_offset.map(lambda tz: tz.utcoffset(None)),
        day_of_month=st.integers(1, 31),
    ),
)
promotion_limits = st.none() | st.builds(
    PromotionLimits, per_user=limits_or_none, recurrent_schedule=st.none() | schedules
)
rewards = st.lists(st.builds(RewardItem, skus, int32), max_size=3)


def _shared(draw: st.DrawFn) -> dict[str, object]:
    return {
        "window": draw(full_windows()),
        "conditions": draw(st.lists(full_conditions, max_size=4)),
        "enabled": draw(st.booleans()),
    }


def _code_fields(draw: st.DrawFn) -> dict[str, object]:
    return {
        "external_id": draw(external_ids),
        "name": draw(names),
        "redeem_total_limit": draw(limits_or_none),
        "redeem_user_limit": draw(limits_or_none),
        "redeem_code_limit": draw(limits_or_none),
    }


@st.composite
def full_promotions(draw: st.DrawFn) -> object:
    kind = draw(st.sampled_from(("coupon", "promo", "discount", "bonus", "offer", "rule")))
    shared = _shared(draw)
    if kind == "coupon":
        return Coupon(**_code_fields(draw), bonus=draw(rewards), **shared)
    if kind == "promo":
        return PromoCode(
            **_code_fields(draw),
            bonus=draw(rewards),
            discount_percent=draw(st.none() | percents),
            discounted_items=draw(
                st.none() | st.lists(st.builds(DiscountedItem, skus, percents), max_size=2)
            ),
            price_conditions=draw(price_conditions),
            item_price_conditions=draw(price_conditions),
            excluded_promotions=draw(st.lists(int32, max_size=3)),
            **shared,
        )
    if kind == "discount":
        return ItemDiscount(
            promotion_id=draw(st.none() | int32),
            name=draw(names),
            discount_percent=draw(percents),
            items=draw(st.none() | st.lists(skus, max_size=3)),
            price_conditions=draw(price_conditions),
            limits=draw(promotion_limits),
            excluded_promotions=draw(st.lists(int32, max_size=3)),
            **shared,
        )
    if kind == "bonus":
        return Bonus(
            promotion_id=draw(st.none() | int32),
            name=draw(names),
            bonus=draw(st.lists(st.builds(RewardItem, skus, int32), min_size=1, max_size=3)),
            condition=draw(st.none() | st.lists(skus, max_size=3)),
            price_conditions=draw(price_conditions),
            limits=draw(promotion_limits),
            excluded_promotions=draw(st.lists(int32, max_size=3)),
            **shared,
        )
    if kind == "offer":
        shared.pop("conditions")
        return UniqueCatalogOffer(
            **_code_fields(draw), items=draw(st.lists(skus, max_size=3)), **shared
        )
    shared.pop("window")
    return PersonalizedCatalogRule(
        promotion_id=draw(st.none() | int32),
        name=draw(st.from_regex(r"\S[ -~]{0,20}", fullmatch=True)),
        satisfied_for_unauth=draw(st.booleans()),
        items=draw(
            st.lists(
                st.one_of(st.builds(ShownItem, sku=skus), st.builds(ShownItem, item_id=int32)),
                max_size=3,
            )
        ),
        **shared,
    )


def writable(promotion: object) -> bool:
    """Whether a create or update body can carry it: LiveOps' rule bodies need conditions
    and items."""
    return not isinstance(promotion, PersonalizedCatalogRule) or bool(
        promotion.conditions and promotion.items
    )


@st.composite
def period_windows(draw: st.DrawFn) -> ValidityWindow:
    """A window of one to four periods (v3), or any single window."""
    count = draw(st.integers(0, 4))
    if count <= 1:
        return draw(windows())
    hours = sorted(draw(st.sets(st.integers(-72, 72), min_size=2 * count, max_size=2 * count)))
    if draw(st.booleans()):  # periods may touch: one ends where the next starts
        hours[2] = hours[1]
    periods = [
        Period(BASE + timedelta(hours=hours[2 * i]), BASE + timedelta(hours=hours[2 * i + 1]))
        for i in range(count)
    ]
    return ValidityWindow.of_periods(draw(st.permutations(periods)))


@st.composite
def catalogs_with_periods(draw: st.DrawFn) -> list[object]:
    found = draw(catalogs())
    return [
        p
        if isinstance(p, PersonalizedCatalogRule)
        else attrs.evolve(p, window=draw(period_windows()))  # type: ignore[misc]
        for p in found
    ]


# Typed attribute values, as a User may hold them: values equal in Python but read apart by
# conditions (1, 1.0, True, Decimal("1"); one moment in several offsets, around midnight).
TYPED_OFFSETS = (*OFFSETS, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=1)))
typed_moments = st.builds(
    lambda minutes, tz: (BASE + timedelta(minutes=minutes)).astimezone(tz),
    st.sampled_from((-721, -720, -60, -1, 0, 1, 59, 60, 600, 720, 1439, 1440, 1441)),
    st.sampled_from(TYPED_OFFSETS),
)
typed_values = st.one_of(
    st.integers(-2, 120),
    st.sampled_from((0, 1, 10, 11, 100, -1)),
    st.booleans(),
    st.sampled_from((0.0, -0.0, 1.0, 9.5, 10.0, 10.5, 0.1, 1e1, float("inf"), float("nan"))),
    st.sampled_from(NUMBER_VALUES),
    st.sampled_from((Decimal(1), Decimal("1.0"), Decimal("10.00"), Decimal("1E+1"))),
    st.sampled_from((Decimal("-0"), Decimal("Infinity"), Decimal("sNaN"))),
    st.sampled_from(DAYS),
    typed_moments,
)
typed_users = st.builds(
    User,
    st.none() | st.sampled_from(("u1", "u2")),
    st.dictionaries(st.sampled_from(ATTRIBUTES), st.one_of(raw_values, typed_values, typed_values)),
)

# Many distinct values of every type for one attribute, more than a small cache holds.
wide_values = st.one_of(
    st.none(),
    st.integers(-50, 200),
    st.integers(-50, 200).map(str),
    st.integers(-500, 2000).map(lambda n: n / 20),
    st.integers(-500, 2000).map(lambda n: Decimal(n) / 20),
    st.integers(-3000, 3000).map(
        lambda m: (BASE + timedelta(minutes=m)).astimezone(OFFSETS[m % 3])
    ),
    st.integers(-3000, 3000).map(lambda m: (BASE + timedelta(minutes=m)).isoformat()),
    st.integers(-5, 5).map(lambda d: date(2026, 3, 1) + timedelta(days=d)),
    st.sampled_from(STRING_VALUES),
)

wide_conditions = st.one_of(
    st.builds(
        StringCondition,
        st.just("x"),
        st.sampled_from(("eq", "ne")),
        st.sampled_from(STRING_VALUES) | st.integers(-50, 200).map(str),
        can_be_missing=st.booleans(),
    ),
    st.builds(
        NumberCondition,
        st.just("x"),
        st.sampled_from(OPERATORS),
        st.integers(-50, 200) | st.integers(-500, 2000).map(lambda n: Decimal(n) / 20),
        can_be_missing=st.booleans(),
    ),
    st.builds(
        DateCondition,
        st.just("x"),
        st.sampled_from(OPERATORS),
        st.integers(-5, 5).map(lambda d: date(2026, 3, 1) + timedelta(days=d))
        | st.integers(-3000, 3000).map(lambda m: BASE + timedelta(minutes=m)),
        can_be_missing=st.booleans(),
    ),
)


@st.composite
def wide_catalogs(draw: st.DrawFn) -> list[object]:
    """Enabled, always open coupons with conditions on one attribute "x" (and a second,
    "y", so that two attributes share the caches), thresholds spread like `wide_values`."""
    size = draw(st.integers(1, 40))
    found = []
    for i in range(size):
        conditions = draw(st.lists(wide_conditions, min_size=1, max_size=3))
        if draw(st.booleans()):
            other = draw(wide_conditions)
            conditions.append(attrs.evolve(other, attribute="y"))  # type: ignore[misc]
        found.append(Coupon(external_id=f"c{i}", enabled=True, conditions=conditions))
    return found


# Values that Python finds equal (and hashes alike) but conditions read apart, in groups of
# equal values, to meet one another often in one catalog's caches.
CONFUSABLE_GROUPS: tuple[tuple[object, ...], ...] = (
    (1, True, 1.0, Decimal(1), Decimal("1.0"), "1"),
    (0, False, 0.0, -0.0, Decimal(0), Decimal("-0"), "0"),
    (10, 10.0, Decimal("1E+1"), "10"),
    (date(2026, 3, 1), datetime(2026, 3, 1, tzinfo=UTC), "2026-03-01"),
    *(
        tuple((BASE + timedelta(minutes=minutes)).astimezone(tz) for tz in TYPED_OFFSETS)
        for minutes in (-30, 30, 720)
    ),
)
CONFUSABLE_VALUES = tuple(value for group in CONFUSABLE_GROUPS for value in group)
confusable_runs = st.lists(
    st.sampled_from(CONFUSABLE_GROUPS).flatmap(
        lambda group: st.lists(st.sampled_from(group), min_size=2, max_size=4)
    ),
    min_size=1,
    max_size=4,
).map(lambda runs: [value for run in runs for value in run])
confusable_users = st.builds(
    User,
    st.sampled_from(("u1", "u2")),
    st.dictionaries(st.sampled_from(ATTRIBUTES), st.sampled_from(CONFUSABLE_VALUES)),
)
