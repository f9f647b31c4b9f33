"""evaluate(): eligibility with every reason, and the semantics LiveOps users rely on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveops_rules import (
    AnonymousUser,
    AttributeMissing,
    ConditionFailed,
    Coupon,
    DateCondition,
    Disabled,
    Ended,
    NaiveDatetimeError,
    NotStarted,
    NumberCondition,
    PersonalizedCatalogRule,
    ShownItem,
    StringCondition,
    TypeMismatch,
    User,
    ValidationError,
    ValidityWindow,
    evaluate,
    is_eligible,
)
from tests import eligibility_reference as reference
from tests.strategies import ATTRIBUTES, catalogs, moments, promotions, raw_values, users

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)


def coupon(*conditions, **fields):
    return Coupon(external_id="c", enabled=True, conditions=conditions, **fields)


def reasons(promotion, attributes, at=AT, user_id="u1"):
    return evaluate(promotion, User(user_id, attributes), at).reasons


def test_an_eligible_promotion_has_no_reasons():
    decision = evaluate(
        coupon(StringCondition("tier", "eq", "gold")), User("u", {"tier": "gold"}), AT
    )
    assert decision.eligible
    assert decision.reasons == ()


def test_every_reason_is_reported_in_a_fixed_order():
    promotion = Coupon(
        external_id="c",
        enabled=False,
        window=ValidityWindow(AT + timedelta(days=1)),
        conditions=[
            StringCondition("tier", "ne", "gold"),
            NumberCondition("level", "ge", 10),
            DateCondition("signup", "lt", "2026-01-01"),
        ],
    )
    found = reasons(promotion, {"tier": "gold", "level": "ten"})
    assert [r.code for r in found] == [
        "disabled",
        "not_started",
        "condition_failed",
        "type_mismatch",
        "attribute_missing",
    ]
    assert found[0] == Disabled()
    assert found[1] == NotStarted(AT + timedelta(days=1))
    assert found[2] == ConditionFailed("tier", "ne", "gold", "gold")
    assert found[2].message == "attribute `tier` is `gold`, needs `ne gold`"
    assert found[3] == TypeMismatch("level", "number", "ten")
    assert found[4] == AttributeMissing("signup", "lt", "2026-01-01")


def test_window_start_is_inclusive_and_end_exclusive():
    promotion = coupon(window=ValidityWindow(AT, AT + timedelta(hours=1)))
    assert reasons(promotion, {}, AT - timedelta(microseconds=1)) == (NotStarted(AT),)
    assert reasons(promotion, {}, AT) == ()
    assert reasons(promotion, {}, AT + timedelta(minutes=59, seconds=59, microseconds=999999)) == ()
    end = AT + timedelta(hours=1)
    assert reasons(promotion, {}, end) == (Ended(end),)
    assert Ended(end).message == "ended at 2026-03-01T13:00:00+00:00"


def test_window_edges_hold_across_offsets():
    promotion = coupon(window=ValidityWindow(AT, None))
    just_before = (AT - timedelta(seconds=1)).astimezone(timezone(timedelta(hours=14)))
    assert not evaluate(promotion, User("u"), just_before).eligible
    assert evaluate(promotion, User("u"), AT.astimezone(timezone(timedelta(hours=-12)))).eligible


def test_can_be_missing_rescues_only_a_missing_attribute():
    promotion = coupon(StringCondition("tier", "eq", "gold", can_be_missing=True))
    assert reasons(promotion, {}) == ()
    assert reasons(promotion, {"tier": None}) == ()
    assert [r.code for r in reasons(promotion, {"tier": "silver"})] == ["condition_failed"]
    assert [r.code for r in reasons(promotion, {"tier": 5})] == ["type_mismatch"]


def test_ne_on_a_missing_attribute_fails_unless_it_can_be_missing():
    assert reasons(coupon(StringCondition("tier", "ne", "gold")), {}) == (
        AttributeMissing("tier", "ne", "gold"),
    )
    assert reasons(coupon(StringCondition("tier", "ne", "gold", can_be_missing=True)), {}) == ()


@pytest.mark.parametrize(
    ("raw", "eligible"),
    [
        (10, True),
        ("10", True),
        ("10.0", True),
        ("1e1", True),
        (Decimal("10.00"), True),
        (10.0, True),
        ("9.99", False),
        (9, False),
        ("-11", False),
    ],
)
def test_number_conditions_read_ints_decimals_and_numeric_text(raw, eligible):
    promotion = coupon(NumberCondition("level", "ge", 10))
    assert evaluate(promotion, User("u", {"level": raw}), AT).eligible is eligible


@pytest.mark.parametrize(
    "raw",
    [
        True,
        False,
        "ten",
        "",
        " 10",
        "10 ",
        "\u0661\u0660",
        "0x10",
        "1_0",
        "nan",
        "inf",
        float("nan"),
        float("inf"),
        Decimal("NaN"),
        [10],
        {"v": 10},
        date(2026, 1, 1),
    ],
)
def test_unreadable_numbers_are_type_mismatches_and_never_raise(raw):
    (reason,) = reasons(coupon(NumberCondition("level", "ge", 10)), {"level": raw})
    assert reason.code == "type_mismatch"


def test_all_six_number_operators_have_their_usual_meaning():
    expected = {"eq": [5], "ne": [4, 6], "gt": [6], "ge": [5, 6], "lt": [4], "le": [4, 5]}
    for operator, passing in expected.items():
        promotion = coupon(NumberCondition("n", operator, 5))
        got = [n for n in (4, 5, 6) if evaluate(promotion, User("u", {"n": n}), AT).eligible]
        assert got == passing, operator


def test_date_conditions_read_dates_datetimes_and_iso_text():
    promotion = coupon(DateCondition("signup", "lt", "2026-01-01"))
    for raw in (
        "2025-12-31",
        date(2025, 12, 31),
        "2025-12-31T23:59:59+00:00",
        datetime(2025, 12, 31, 23, tzinfo=UTC),
    ):
        assert evaluate(promotion, User("u", {"signup": raw}), AT).eligible, raw
    for raw in ("2026-01-01", "2026-01-01T00:00:00Z"):
        assert not evaluate(promotion, User("u", {"signup": raw}), AT).eligible, raw


def test_a_moment_is_compared_by_its_own_calendar_date_against_a_date():
    promotion = coupon(DateCondition("signup", "eq", "2026-01-01"))
    # 2025-12-31T23:00-05:00 is 2026-01-01T04:00Z, but its own date is the 31st.
    assert not evaluate(promotion, User("u", {"signup": "2025-12-31T23:00:00-05:00"}), AT).eligible
    assert evaluate(promotion, User("u", {"signup": "2026-01-01T23:00:00-05:00"}), AT).eligible


def test_moments_compare_as_instants_across_offsets():
    promotion = coupon(DateCondition("last_login", "ge", "2026-01-01T00:00:00+00:00"))
    assert evaluate(promotion, User("u", {"last_login": "2026-01-01T02:00:00+02:00"}), AT).eligible
    assert not evaluate(
        promotion, User("u", {"last_login": "2026-01-01T01:59:59+02:00"}), AT
    ).eligible


def test_a_date_against_a_moment_is_that_date_at_midnight_utc():
    promotion = coupon(DateCondition("d", "ge", "2026-01-01T00:00:00+00:00"))
    assert evaluate(promotion, User("u", {"d": "2026-01-01"}), AT).eligible
    assert not evaluate(promotion, User("u", {"d": "2025-12-31"}), AT).eligible


@pytest.mark.parametrize(
    "raw",
    [
        "2026-13-01",
        "2026-01-01T10:00:00",
        datetime(2026, 1, 1),
        "yesterday",
        20260101,
        "\u0662\u0660\u0662\u0666-01-01",
    ],
)
def test_unreadable_dates_are_type_mismatches(raw):
    (reason,) = reasons(coupon(DateCondition("d", "lt", "2026-01-01")), {"d": raw})
    assert reason.code == "type_mismatch"


def test_string_conditions_compare_text_exactly():
    promotion = coupon(StringCondition("tier", "eq", "gold"))
    assert evaluate(promotion, User("u", {"tier": "gold"}), AT).eligible
    for raw in ("Gold", "gold ", ""):
        assert reasons(promotion, {"tier": raw})[0].code == "condition_failed"
    assert reasons(promotion, {"tier": 1})[0] == TypeMismatch("tier", "string", "1")


def test_long_values_are_shortened_in_reasons():
    (reason,) = reasons(coupon(StringCondition("tier", "eq", "gold")), {"tier": "x" * 1000})
    assert len(reason.actual) == 100
    assert reason.actual.endswith("...")


def test_anonymous_users_and_personalized_rules():
    rule = PersonalizedCatalogRule(
        promotion_id=1,
        name="rule",
        enabled=True,
        conditions=[StringCondition("tier", "eq", "gold")],
        items=[ShownItem(sku="a")],
    )
    assert reasons(rule, {"tier": "gold"}, user_id=None) == (AnonymousUser(),)
    open_rule = PersonalizedCatalogRule(
        promotion_id=2,
        name="rule",
        enabled=True,
        satisfied_for_unauth=True,
        conditions=[StringCondition("tier", "eq", "gold")],
    )
    assert reasons(open_rule, {}, user_id=None) == ()
    assert [r.code for r in reasons(open_rule, {}, user_id="u")] == ["attribute_missing"]


def test_other_promotions_evaluate_anonymous_users_by_their_conditions():
    promotion = coupon(StringCondition("tier", "eq", "gold", can_be_missing=True))
    assert evaluate(promotion, User(None), AT).eligible


def test_naive_or_missing_moments_are_refused():
    with pytest.raises(NaiveDatetimeError):
        evaluate(coupon(), User("u"), datetime(2026, 3, 1))
    with pytest.raises(ValidationError):
        evaluate(coupon(), User("u"), "2026-03-01T00:00:00Z")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        is_eligible(coupon(), {"id": "u"}, AT)  # type: ignore[arg-type]


def test_arguments_are_checked_after_good_calls_with_either_of_them():
    # is_eligible skips its checks while the moment stays the same object and the user does
    # too (or is another User): a wrong one in either place is refused every time it comes,
    # after good calls with the other, whatever the promotion (a disabled one reads neither).
    user, other = User("u"), User("v")
    for promotion in (coupon(), Coupon(external_id="off", enabled=False)):
        expected = promotion.enabled
        for wrong_user in ({"id": "u"}, None, "u"):
            assert is_eligible(promotion, user, AT) is expected
            for _ in range(2):
                with pytest.raises(ValidationError):
                    is_eligible(promotion, wrong_user, AT)  # type: ignore[arg-type]
        wrong_moments = [
            (datetime(2026, 3, 1), NaiveDatetimeError),
            ("2026-03-01T00:00:00Z", ValidationError),
            (None, ValidationError),
        ]
        for wrong_moment, error in wrong_moments:
            assert is_eligible(promotion, other, AT) is expected
            for _ in range(2):
                with pytest.raises(error):
                    is_eligible(promotion, other, wrong_moment)  # type: ignore[arg-type]
        assert is_eligible(promotion, user, AT) is expected
        assert is_eligible(promotion, other, AT) is expected


def test_reasons_render_as_json_ready_dicts():
    (reason,) = reasons(coupon(NumberCondition("level", "ge", 10)), {"level": 3})
    assert reason.to_dict() == {
        "code": "condition_failed",
        "message": "attribute `level` is `3`, needs `ge 10`",
        "attribute": "level",
        "operator": "ge",
        "expected": "10",
        "actual": "3",
    }


@settings(max_examples=350, deadline=None)
@given(promotions(0), users, moments)
def test_is_eligible_agrees_with_evaluate_and_reasons_explain_every_refusal(promotion, user, at):
    decision = evaluate(promotion, user, at)
    assert is_eligible(promotion, user, at) is decision.eligible
    assert decision.eligible is (decision.reasons == ())


class _Text(str):
    """A str subclass: read as the string it is."""


class _EqualsAnything:
    """Not a string, though it says it equals every one: a type mismatch all the same."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__


_tricky_values = st.one_of(
    raw_values,
    st.sampled_from(("gold", "10", "2026-03-01")).map(_Text),
    st.sampled_from(
        ("+10", ".5", "5.", " 10", "1e999999", "\u0661\u0660", "10\n", "2026-03-01T00:00:00")
    ),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from((b"10", ["gold"], {"a": 1}, object())),
    st.builds(_EqualsAnything),
)
_tricky_users = st.builds(
    User,
    st.none() | st.sampled_from(("u1", "u2")),
    st.dictionaries(st.sampled_from(ATTRIBUTES), _tricky_values),
)


@settings(max_examples=400, deadline=None)
@given(catalogs(), _tricky_users, moments)
def test_is_eligible_and_evaluate_follow_an_independent_reading_of_the_rules(catalog, user, at):
    # One user across a catalog, twice: the second pass reads the user's memo of converted
    # values (and an attribute may be read as a number by one promotion, a date by the next).
    for _ in range(2):
        for promotion in catalog:
            expected = reference.reason_codes(promotion, user, at)
            assert is_eligible(promotion, user, at) is (expected == []), promotion
            decision = evaluate(promotion, user, at)
            assert decision.eligible is (expected == [])
            assert [reason.code for reason in decision.reasons] == expected


@pytest.mark.parametrize("operator", ["eq", "ne"])
def test_only_strings_meet_string_conditions_whatever_else_claims_equality(operator):
    promotion = Coupon(
        external_id="c", enabled=True, conditions=[StringCondition("tier", operator, "gold")]
    )
    at = datetime(2026, 3, 1, tzinfo=UTC)
    pretender = User("u", {"tier": _EqualsAnything()})
    assert not is_eligible(promotion, pretender, at)
    assert [r.code for r in evaluate(promotion, pretender, at).reasons] == ["type_mismatch"]
    text = User("u", {"tier": _Text("gold" if operator == "eq" else "silver")})
    assert is_eligible(promotion, text, at)
