"""The catalog index answers exactly what evaluating each promotion would."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveops_rules import (
    Catalog,
    Coupon,
    DateCondition,
    ItemDiscount,
    NumberCondition,
    PersonalizedCatalogRule,
    PromotionKind,
    ShownItem,
    StringCondition,
    User,
    ValidationError,
    ValidityWindow,
    evaluate,
)
from liveops_rules._bitset import bitset, members
from liveops_rules._caches import ByteBudget
from liveops_rules.catalog import EligibleSet
from tests.strategies import (
    catalogs,
    confusable_runs,
    confusable_users,
    focused_catalogs,
    focused_values,
    moments,
    typed_users,
    users,
    wide_catalogs,
    wide_values,
)

AT = datetime(2026, 3, 1, tzinfo=UTC)


@settings(max_examples=300, deadline=None)
@given(catalogs(), st.lists(st.tuples(users, moments), min_size=1, max_size=6))
def test_catalog_matches_evaluating_each_promotion(promotions, queries):
    catalog = Catalog(promotions)
    for user, at in queries:  # several queries exercise the catalog's caches
        expected = [p for p in promotions if evaluate(p, user, at).eligible]
        assert catalog.eligible(user, at) == expected
        for kind in PromotionKind:
            assert catalog.eligible(user, at, [kind]) == [p for p in expected if p.kind is kind]


@settings(max_examples=200, deadline=None)
@given(catalogs(), users, moments)
def test_visible_items_are_the_items_of_the_rules_the_user_meets(promotions, user, at):
    catalog = Catalog(promotions)
    expected: list[ShownItem] = []
    for promotion in promotions:
        if (
            isinstance(promotion, PersonalizedCatalogRule)
            and evaluate(promotion, user, at).eligible
        ):
            expected.extend(i for i in promotion.items if i not in expected)
    assert catalog.visible_items(user, at) == expected


def test_duplicate_ids_of_one_kind_are_refused_with_both_places():
    first = Coupon(external_id="dup")
    with pytest.raises(ValidationError) as caught:
        Catalog([first, Coupon(external_id="other"), Coupon(external_id="dup")])
    (problem,) = caught.value.problems
    assert problem.path == "promotions[2]"
    assert "promotions[0]" in problem.found


def test_the_same_id_in_two_kinds_is_fine():
    catalog = Catalog([Coupon(external_id="7"), ItemDiscount(promotion_id=7, discount_percent=10)])
    assert catalog.get("coupon", "7") is not None
    assert catalog.get(PromotionKind.ITEM_DISCOUNT, "7") is not None
    assert catalog.get("coupon", "8") is None


def test_a_non_promotion_is_refused():
    with pytest.raises(ValidationError, match=r"promotions\[0\]"):
        Catalog(["coupon"])  # type: ignore[list-item]


def test_naive_moment_is_refused():
    catalog = Catalog([Coupon(external_id="c", enabled=True)])
    with pytest.raises(ValidationError, match="naive"):
        catalog.eligible(User("u"), datetime(2026, 3, 1))


def test_many_moments_and_values_beyond_the_cache_stay_exact():
    promotions = [
        Coupon(
            external_id=f"c{i}",
            enabled=True,
            window=ValidityWindow(AT + timedelta(hours=i), AT + timedelta(hours=i + 3)),
            conditions=[StringCondition("tier", "eq", f"t{i % 7}")],
        )
        for i in range(50)
    ]
    catalog = Catalog(promotions, cache_bytes=4_000)  # a few entries: most get evicted
    for hour in range(-2, 60):
        for tier in range(9):
            user = User("u", {"tier": f"t{tier}"})
            at = AT + timedelta(hours=hour)
            expected = [p for p in promotions if evaluate(p, user, at).eligible]
            assert catalog.eligible(user, at) == expected


def test_anonymous_users_see_only_rules_open_to_them():
    open_rule = PersonalizedCatalogRule(
        promotion_id=1,
        name="rule",
        enabled=True,
        satisfied_for_unauth=True,
        conditions=[StringCondition("tier", "eq", "gold")],
        items=[ShownItem(sku="a")],
    )
    closed_rule = PersonalizedCatalogRule(
        promotion_id=2, name="closed", enabled=True, items=[ShownItem(sku="b")]
    )
    catalog = Catalog([open_rule, closed_rule])
    assert catalog.visible_items(User(None), AT) == [ShownItem(sku="a")]
    assert catalog.visible_items(User("u"), AT) == [ShownItem(sku="b")]
    assert catalog.visible_items(User("u", {"tier": "gold"}), AT) == [
        ShownItem(sku="a"),
        ShownItem(sku="b"),
    ]


def test_two_different_eq_values_on_one_attribute_never_hold():
    both = Coupon(
        external_id="both",
        enabled=True,
        conditions=[StringCondition("tier", "eq", "gold"), StringCondition("tier", "eq", "silver")],
    )
    catalog = Catalog([both])
    for tier in ("gold", "silver"):
        assert catalog.eligible(User("u", {"tier": tier}), AT) == []


@settings(max_examples=600, deadline=None)
@given(focused_catalogs(), st.lists(focused_values, min_size=1, max_size=8))
def test_catalog_matches_evaluate_on_dense_comparisons(promotions, values):
    catalog = Catalog(promotions)
    for value in values:
        user = User("u", {"x": value})
        expected = [p for p in promotions if evaluate(p, user, AT).eligible]
        assert catalog.eligible(user, AT) == expected


def test_many_threads_share_a_catalog_whose_caches_are_full():
    """Found by the pricing work: two threads evicting the same oldest cache entry raised
    KeyError in one of them."""
    import sys
    import threading

    promotions = [
        Coupon(
            external_id=f"c{i}",
            enabled=True,
            conditions=[NumberCondition("level", "ge", i), StringCondition("tier", "ne", f"t{i}")],
        )
        for i in range(50)
    ]
    catalog = Catalog(promotions, cache_bytes=8_000)  # a few entries: every query evicts
    at = datetime(2026, 1, 1, tzinfo=UTC)
    errors: list[BaseException] = []

    def query(worker: int) -> None:
        try:
            for i in range(3000):
                user = User("u", {"level": str(worker * 3000 + i), "tier": f"t{i % 50}"})
                expected = [p for p in promotions if evaluate(p, user, at).eligible]
                assert catalog.eligible(user, at) == expected
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=query, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    budget = catalog._attribute_budget
    assert len(budget) > 0
    assert budget.used <= budget.limit
    assert len(budget) == sum(index.cached_answers() for index in catalog._attributes.values())


def _check_queries(catalog: Catalog, promotions: list, queries: list) -> None:
    for user, at in queries:
        expected = [p for p in promotions if evaluate(p, user, at).eligible]
        assert catalog.eligible(user, at) == expected, user
    for budget in (catalog._attribute_budget, catalog._base_budget):
        assert budget.used <= budget.limit
        assert budget.used == sum(cost for _, _, cost in budget._entries)


@settings(max_examples=200, deadline=None)
@given(
    catalogs(),
    st.lists(st.tuples(typed_users | confusable_users, moments), min_size=1, max_size=8),
    st.sampled_from((0, 3_000, 20_000, 64 * 1024 * 1024)),
    st.randoms(use_true_random=False),
)
def test_catalog_matches_evaluating_each_promotion_with_typed_values(
    promotions, queries, cache_bytes, rng
):
    catalog = Catalog(promotions, cache_bytes=cache_bytes)
    again = queries * 2
    rng.shuffle(again)  # the same values again, in another order: answers from the caches
    _check_queries(catalog, promotions, queries + again)


@settings(max_examples=200, deadline=None)
@given(
    focused_catalogs(),
    confusable_runs,
    st.lists(focused_values, max_size=4),
)
def test_values_equal_in_python_but_read_apart_are_answered_apart(promotions, runs, others):
    catalog = Catalog(promotions)
    values = runs + others
    for value in values + values[::-1]:  # each again once the others are cached
        user = User("u", {"x": value})
        expected = [p for p in promotions if evaluate(p, user, AT).eligible]
        assert catalog.eligible(user, AT) == expected, value


@settings(max_examples=100, deadline=None)
@given(
    wide_catalogs(),
    st.lists(st.dictionaries(st.sampled_from(("x", "y")), wide_values), min_size=20, max_size=80),
    st.sampled_from((2_000, 6_000, 64 * 1024 * 1024)),
    st.randoms(use_true_random=False),
)
def test_many_distinct_typed_values_evict_and_stay_exact(promotions, values, cache_bytes, rng):
    catalog = Catalog(promotions, cache_bytes=cache_bytes)
    queries = [(User("u", attributes), AT) for attributes in values]
    again = queries * 2
    rng.shuffle(again)
    _check_queries(catalog, promotions, queries + again)


def test_many_distinct_values_fill_a_small_budget_and_evict():
    promotions = [
        Coupon(
            external_id=f"c{i}",
            enabled=True,
            conditions=[NumberCondition("x", "ge", i), DateCondition("d", "lt", date(2026, 3, i))],
        )
        for i in range(1, 29)
    ]
    catalog = Catalog(promotions, cache_bytes=16_000)
    budget = catalog._attribute_budget
    rng = random.Random(5)
    for _ in range(3):
        for n in range(300):
            x = rng.choice((n, n / 10, Decimal(n) / 10, str(n)))
            day = date(2026, 3, 1) + timedelta(days=n % 40 - 5)
            d = rng.choice((day, datetime(day.year, day.month, day.day, 23, tzinfo=UTC)))
            user = User("u", {"x": x, "d": d})
            expected = [p for p in promotions if evaluate(p, user, AT).eligible]
            assert catalog.eligible(user, AT) == expected
        assert budget.used <= budget.limit
    assert 10 < len(budget) < 600  # it kept some entries and forgot most


def test_typed_values_are_cached_under_keys_of_their_own():
    promotions = [
        Coupon(external_id="n", enabled=True, conditions=[NumberCondition("x", "le", 5)]),
        Coupon(external_id="d", enabled=True, conditions=[DateCondition("x", "le", "2026-03-01")]),
    ]
    catalog = Catalog(promotions)
    budget = catalog._attribute_budget
    values = [
        1,
        True,
        1.0,
        Decimal(1),
        date(2026, 3, 1),
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 3, 1, 5, tzinfo=timezone(timedelta(hours=5))),  # the same moment
        "1",
    ]
    for value in values:
        catalog.eligible(User("u", {"x": value}), AT)
    assert len(budget) == len(values)  # each cached, none conflated with another
    for value in values:  # answered from the caches: nothing more is kept
        catalog.eligible(User("u", {"x": value}), AT)
    assert len(budget) == len(values)
    for unkept in (float("nan"), Decimal("NaN"), Decimal("sNaN"), [1], object()):
        assert catalog.eligible(User("u", {"x": unkept}), AT) == []
    assert len(budget) == len(values)


def _eligible_keys(catalog: Catalog, value: object, at: datetime = AT) -> list[str | None]:
    return [p.key for p in catalog.eligible(User("u", {"x": value}), at)]


@pytest.mark.parametrize("order", [1, -1])
def test_equal_numbers_true_and_text_are_not_conflated(order):
    promotions = [
        Coupon(external_id="eq1", enabled=True, conditions=[NumberCondition("x", "eq", 1)]),
        Coupon(external_id="ne1", enabled=True, conditions=[NumberCondition("x", "ne", 1)]),
        Coupon(external_id="text", enabled=True, conditions=[StringCondition("x", "ne", "zz")]),
        Coupon(
            external_id="tenth",
            enabled=True,
            conditions=[NumberCondition("x", "eq", Decimal("0.1"))],
        ),
    ]
    cases = [
        (1, ["eq1"]),
        (True, []),  # no number: every condition mismatches
        (1.0, ["eq1"]),
        (Decimal(1), ["eq1"]),
        (Decimal("1.000"), ["eq1"]),
        ("1", ["eq1", "text"]),
        (False, []),
        (0, ["ne1"]),
        (0.1, ["ne1"]),  # the float nearest 0.1 is not 0.1
        (Decimal("0.1"), ["ne1", "tenth"]),
        ("0.1", ["ne1", "text", "tenth"]),
    ]
    catalog = Catalog(promotions)
    for value, expected in (cases * 2)[::order]:
        assert _eligible_keys(catalog, value) == expected, value
        user = User("u", {"x": value})
        assert expected == [p.key for p in promotions if evaluate(p, user, AT).eligible]


@pytest.mark.parametrize("order", [1, -1])
def test_one_moment_in_two_offsets_around_midnight_is_read_on_its_own_day(order):
    promotions = [
        Coupon(
            external_id="day", enabled=True, conditions=[DateCondition("x", "eq", "2026-03-01")]
        ),
        Coupon(
            external_id="after",
            enabled=True,
            conditions=[DateCondition("x", "ge", "2026-03-02")],
        ),
        Coupon(
            external_id="before6",
            enabled=True,
            conditions=[DateCondition("x", "lt", "2026-03-01T06:00:00+00:00")],
        ),
    ]
    late = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    ahead = late.astimezone(timezone(timedelta(hours=10)))  # 2026-03-02 09:30, equal to late
    behind = datetime(2026, 3, 1, tzinfo=timezone(timedelta(hours=-12)))  # 12:00 UTC
    assert late == ahead
    assert hash(late) == hash(ahead)
    cases = [
        (late, ["day"]),
        (ahead, ["after"]),
        (date(2026, 3, 1), ["day", "before6"]),  # a date is its midnight in UTC
        (datetime(2026, 3, 1, tzinfo=UTC), ["day", "before6"]),
        (behind, ["day"]),
        (late.isoformat(), ["day"]),
        (ahead.isoformat(), ["after"]),
    ]
    catalog = Catalog(promotions)
    for value, expected in (cases * 2)[::order]:
        assert _eligible_keys(catalog, value) == expected, value
        user = User("u", {"x": value})
        assert expected == [p.key for p in promotions if evaluate(p, user, AT).eligible]


@settings(max_examples=150, deadline=None)
@given(
    catalogs(),
    typed_users,
    moments,
    st.none() | st.sets(st.sampled_from(list(PromotionKind))),
    st.integers(0, 30),
    st.integers(0, 30),
)
def test_eligible_set_is_the_eligible_list(promotions, user, at, kinds, offset, limit):
    catalog = Catalog(promotions)
    expected = catalog.eligible(user, at, kinds)
    found = catalog.eligible_set(user, at, kinds)
    assert isinstance(found, EligibleSet)
    assert found.mask == catalog.eligible_mask(user, at, kinds)
    assert len(found) == len(expected)
    assert bool(found) is bool(expected)
    assert list(found) == expected
    assert list(found) == expected  # twice: the members are extracted once
    assert found.page(offset, limit) == expected[offset : offset + limit]
    assert found.ids() == [f"{p.kind.value}:{p.key}" for p in expected]
    for promotion in promotions:
        member = any(promotion is p for p in expected)
        assert (promotion in found) is member
        assert (attrs.evolve(promotion) in found) is member  # an equal copy  # type: ignore[misc]
    stranger = Coupon(external_id="not-in-the-catalog", enabled=True)
    assert stranger not in found
    assert "coupon:p0" not in found


def test_eligible_set_refuses_a_negative_page():
    found = Catalog([Coupon(external_id="c", enabled=True)]).eligible_set(User("u"), AT)
    assert found.page(0, 5) == list(found)
    assert len(found) == 1
    assert found.ids() == ["coupon:c"]
    with pytest.raises(ValidationError):
        found.page(-1, 5)
    with pytest.raises(ValidationError):
        found.page(0, -1)


def test_a_promotion_equal_in_key_but_not_in_fields_is_not_a_member():
    held = Coupon(external_id="c", enabled=True)
    found = Catalog([held]).eligible_set(User("u"), AT)
    assert held in found
    assert attrs.evolve(held, enabled=False) not in found


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from((1, 8, 64, 255, 256, 257, 1_000, 10_000, 100_000)),
    st.sampled_from((0.0, 0.00005, 0.001, 0.01, 0.3, 0.6, 0.95, 1.0)),
    st.randoms(use_true_random=False),
)
def test_members_are_the_set_bits_at_every_density(size, density, rng):
    chosen = sorted(i for i in range(size) if rng.random() < density)
    if rng.random() < 0.5 and size > 1:
        chosen = sorted({*chosen, size - 1})  # the top bit set
    assert members(bitset(chosen, size)) == chosen


def test_a_byte_budget_forgets_entries_and_never_exceeds_its_limit():
    budget = ByteBudget(1_000)
    first: dict[object, int] = {}
    second: dict[object, int] = {}
    for n in range(100):
        budget.keep(first if n % 2 else second, n, n, 90)
        assert budget.used <= 1_000
        assert budget.used == 90 * (len(first) + len(second)) == 90 * len(budget)
    assert len(budget) == 11  # full: each new entry replaced one
    assert 99 in first  # the newest is always kept
    assert all(first[k] == k for k in first)
    assert all(second[k] == k for k in second)
    assert budget.keep(first, "big", 7, 1_001) == 7
    assert "big" not in first
    assert ByteBudget(0).keep(first, "x", 1, 1) == 1
    assert "x" not in first


def test_a_full_budget_admits_now_and_then_and_never_what_exceeds_it():
    budget = ByteBudget(1_000)
    cache: dict[object, int] = {}
    assert budget.admits(1_000)
    assert not budget.admits(1_001)
    for n in range(10):
        budget.keep(cache, n, n, 100)
    admitted = sum(budget.admits(100) for _ in range(8_000))
    assert 600 < admitted < 1_400  # one in eight, give or take
    assert not ByteBudget(0).admits(1)


def test_a_full_cache_asked_the_same_values_in_the_same_order_still_hits():
    """First in, first out would keep none of them: each pass asks for the oldest next."""
    budget = ByteBudget(100 * 50)
    cache: dict[int, int] = {}
    hits = 0
    for _ in range(20):
        for key in range(150):  # three times what fits
            if key in cache:
                hits += 1
            elif budget.admits(100):
                budget.keep(cache, key, key, 100)
    assert hits > 150  # about a quarter of the 2,850 later asks find theirs
    assert budget.used <= budget.limit


@pytest.mark.parametrize("budget", [-1, 1.5, True, "64", 1 << 41])
def test_a_cache_budget_that_is_not_a_whole_number_of_bytes_is_refused(budget):
    with pytest.raises(ValidationError, match="cache_bytes"):
        Catalog([], cache_bytes=budget)


_NEW_YORK = ZoneInfo("America/New_York")
_IN_FOLD = datetime(2025, 11, 2, 1, 30, fold=1, tzinfo=_NEW_YORK)  # 06:30Z, the hour again
_MOMENTS = (
    _IN_FOLD,
    _IN_FOLD.astimezone(UTC),
    datetime(2025, 11, 2, 1, 30, tzinfo=_NEW_YORK),  # the first 01:30, 05:30Z
    datetime(2025, 11, 2, 5, 30, tzinfo=UTC),
    datetime(2025, 11, 2, 7, tzinfo=timezone(timedelta(hours=2))),
    datetime(2025, 11, 2, 7, tzinfo=timezone(timedelta(hours=2))),  # another tzinfo object
)


def _wide_catalog(rng: random.Random, size: int) -> list:
    """`size` promotions on four attributes, many with `eq` conditions on two or more of
    them and in two kinds on one (text and number on "x"), so that answers hold sparse
    sets, members past checkpoints and promotions shared by several `eq` groups; "m"
    compares moments, some in a fold (01:30 twice in New York)."""
    day0 = date(2026, 1, 1)

    def condition(name: str) -> object:
        missing = rng.random() < 0.3
        op = rng.choice(("eq", "eq", "ne", "gt", "ge", "lt", "le"))
        if name == "x" and rng.random() < 0.5:
            value = str(rng.randrange(12))
            return StringCondition("x", rng.choice(("eq", "ne")), value, can_be_missing=missing)
        if name == "d":
            day = day0 + timedelta(days=rng.randrange(12))
            return DateCondition("d", op, day, can_be_missing=missing)
        if name == "m":
            return DateCondition("m", op, rng.choice(_MOMENTS), can_be_missing=missing)
        return NumberCondition(name, op, rng.randrange(12), can_be_missing=missing)

    promotions = []
    for i in range(size):
        names = rng.sample(("x", "y", "d", "m"), rng.randrange(5))
        extra = [condition(n) for n in names for _ in range(rng.choice((1, 1, 2)))]
        promotions.append(Coupon(external_id=f"c{i}", enabled=True, conditions=extra))
    return promotions


def _wide_user(rng: random.Random) -> User:
    day0 = date(2026, 1, 1)
    attributes: dict[str, object] = {}
    for name in ("x", "y", "d", "m"):
        roll = rng.random()
        if roll < 0.15:
            continue
        if name == "d":
            day = day0 + timedelta(days=rng.randrange(-1, 13))
            attributes[name] = day if roll < 0.6 else day.isoformat()
        elif name == "m":
            moment = rng.choice(_MOMENTS)
            attributes[name] = moment if roll < 0.7 else moment.isoformat()
        else:
            n = rng.randrange(-1, 13)
            odd = rng.choice(([], True, float("nan"), Decimal("NaN"), -0.0))
            attributes[name] = rng.choice((n, str(n), n + 0.5, Decimal(n))) if roll < 0.9 else odd
    return User("u", attributes)


@pytest.mark.parametrize("operator", ["gt", "ge", "lt", "le"])
@pytest.mark.parametrize("threshold", [_IN_FOLD, _IN_FOLD.astimezone(UTC)])
@pytest.mark.parametrize("value", [_IN_FOLD, _IN_FOLD.astimezone(UTC), "2025-11-02T06:30:00Z"])
@pytest.mark.parametrize("cache_bytes", [0, None])
def test_a_moment_in_a_fold_is_compared_as_the_conditions_compare(
    operator, threshold, value, cache_bytes
):
    """In a fold, an aware datetime is neither ==, < nor > the same instant in another zone
    (and hashes apart from it): the index must only ever compare thresholds with `<`, as
    the conditions do. Found by review: a lookup of the value among the thresholds and a
    sort on (threshold, operator) tuples answered these apart from evaluate."""
    strict = "gt" if operator in ("gt", "ge") else "lt"
    promotions = [
        Coupon(
            external_id="one", enabled=True, conditions=[DateCondition("m", operator, threshold)]
        ),
        Coupon(
            external_id="tie",
            enabled=True,
            conditions=[DateCondition("m", strict, _IN_FOLD), DateCondition("m", "le", _IN_FOLD)],
        ),
    ]
    user = User("u", {"m": value})
    expected = [p for p in promotions if evaluate(p, user, AT).eligible]
    assert Catalog(promotions, cache_bytes=cache_bytes).eligible(user, AT) == expected


@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, 2**32),
    st.sampled_from((300, 1_000, 3_000)),
    st.sampled_from((0, 60_000, 64 * 1024 * 1024)),
)
def test_large_catalogs_gather_sparse_answers_exactly(seed, size, cache_bytes):
    """Past 128 promotions, sets of a value are kept sparse and members past a checkpoint
    are gathered: the whole query converts them once, and its answer is still exact."""
    rng = random.Random(seed)
    promotions = _wide_catalog(rng, size)
    catalog = Catalog(promotions, cache_bytes=cache_bytes)
    users = [_wide_user(rng) for _ in range(12)]
    for user in users + users:  # the second pass may find answers cached
        expected = [p for p in promotions if evaluate(p, user, AT).eligible]
        assert catalog.eligible(user, AT) == expected, user
