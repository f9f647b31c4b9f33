"""Models refuse invalid values at construction, naming the field."""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from liveops_rules import (
    Bonus,
    Coupon,
    DateCondition,
    ItemDiscount,
    LocalizedName,
    NaiveDatetimeError,
    NumberCondition,
    PersonalizedCatalogRule,
    PriceCondition,
    PromoCode,
    PromotionLimits,
    RecurrentSchedule,
    RewardItem,
    ShownItem,
    StringCondition,
    User,
    ValidationError,
    ValidityWindow,
)

AT = datetime(2026, 3, 1, tzinfo=UTC)


def problem_paths(error: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [p.path for p in error.value.problems]


@pytest.mark.parametrize("operator", ["gt", "ge", "lt", "le", "er", "ee", "EQ", "", None])
def test_string_conditions_take_only_eq_and_ne(operator):
    with pytest.raises(ValidationError) as caught:
        StringCondition("tier", operator, "gold")
    assert problem_paths(caught) == ["operator"]


@pytest.mark.parametrize("operator", ["er", "ee", "later", 1])
def test_number_and_date_conditions_refuse_unknown_operators(operator):
    with pytest.raises(ValidationError, match="operator"):
        NumberCondition("level", operator, 1)
    with pytest.raises(ValidationError, match="operator"):
        DateCondition("signup", operator, date(2026, 1, 1))


def test_er_and_ee_are_refused_with_a_pointer_to_lt_and_le():
    with pytest.raises(ValidationError, match="use lt/le"):
        NumberCondition("level", "er", 1)


@pytest.mark.parametrize(
    "attribute", ["", "has space", "ünicode", "\u0663", "a" * 256, "tier\n", 5, None]
)
def test_attribute_codes_are_ascii_and_bounded(attribute):
    with pytest.raises(ValidationError) as caught:
        StringCondition(attribute, "eq", "x")
    assert problem_paths(caught) == ["attribute"]


def test_attribute_codes_allow_their_documented_characters():
    assert StringCondition("a-b_c.D9", "eq", "x").attribute == "a-b_c.D9"
    assert StringCondition("a" * 255, "eq", "x")


@pytest.mark.parametrize(
    "value", [True, 1.5, float("nan"), Decimal("NaN"), Decimal("Infinity"), "ten"]
)
def test_number_condition_values_are_finite_numbers(value):
    with pytest.raises(ValidationError) as caught:
        NumberCondition("level", "ge", value)
    assert problem_paths(caught) == ["value"]


def test_number_condition_reads_decimal_text_and_ints():
    assert NumberCondition("level", "ge", "10.5").value == Decimal("10.5")
    assert NumberCondition("level", "ge", 10).value == 10


def test_string_condition_values_are_at_most_255_characters():
    StringCondition("tier", "eq", "x" * 255)
    with pytest.raises(ValidationError):
        StringCondition("tier", "eq", "x" * 256)
    with pytest.raises(ValidationError):
        StringCondition("tier", "eq", 5)


def test_date_condition_values_are_dates_or_aware_datetimes():
    assert DateCondition("d", "lt", "2026-01-01").value == date(2026, 1, 1)
    assert DateCondition("d", "lt", "2026-01-01T10:00:00+02:00").value == datetime(
        2026, 1, 1, 8, tzinfo=UTC
    )
    with pytest.raises(NaiveDatetimeError):
        DateCondition("d", "lt", datetime(2026, 1, 1))
    with pytest.raises(ValidationError):
        DateCondition("d", "lt", "2026-01-01T10:00:00")  # no offset: not a moment
    with pytest.raises(ValidationError):
        DateCondition("d", "lt", 20260101)


def test_can_be_missing_is_a_real_bool():
    with pytest.raises(ValidationError, match="can_be_missing"):
        StringCondition("tier", "eq", "x", can_be_missing=1)  # type: ignore[arg-type]


def test_window_end_must_follow_start_and_both_be_aware():
    ValidityWindow(AT, AT + timedelta(seconds=1))
    with pytest.raises(ValidationError) as caught:
        ValidityWindow(AT, AT)
    assert problem_paths(caught) == ["end"]
    with pytest.raises(ValidationError):
        ValidityWindow(AT, AT - timedelta(days=1))
    with pytest.raises(NaiveDatetimeError):
        ValidityWindow(datetime(2026, 1, 1))
    with pytest.raises(NaiveDatetimeError):
        ValidityWindow(None, datetime(2026, 1, 1))


def test_window_compares_moments_across_offsets():
    start = datetime(2026, 3, 1, 6, 0, tzinfo=timezone(timedelta(hours=3)))  # 03:00Z
    window = ValidityWindow(start, None)
    assert not window.contains(datetime(2026, 3, 1, 2, 59, tzinfo=UTC))
    assert window.contains(datetime(2026, 3, 1, 3, 0, tzinfo=UTC))
    assert window.contains(datetime(2026, 2, 28, 17, 0, tzinfo=timezone(timedelta(hours=-10))))


@pytest.mark.parametrize("limit", [0, -1, 2**31, True, 1.0, "5"])
def test_redemption_limits_are_positive_int32_or_none(limit):
    with pytest.raises(ValidationError) as caught:
        Coupon(external_id="c", redeem_total_limit=limit)
    assert problem_paths(caught) == ["redeem_total_limit"]


def test_none_limit_means_unlimited_and_zero_is_not_unlimited():
    assert Coupon(external_id="c").redeem_user_limit is None
    with pytest.raises(ValidationError):
        Coupon(external_id="c", redeem_user_limit=0)


def test_new_promotions_start_disabled():
    assert Coupon(external_id="c").enabled is False


@pytest.mark.parametrize("external_id", ["", "with space", "x" * 256, "ü", 7])
def test_external_ids_follow_the_liveops_pattern(external_id):
    with pytest.raises(ValidationError) as caught:
        Coupon(external_id=external_id)
    assert problem_paths(caught) == ["external_id"]


def test_at_most_100_conditions():
    conditions = [StringCondition("tier", "ne", str(i)) for i in range(100)]
    assert len(Coupon(external_id="c", conditions=conditions).conditions) == 100
    with pytest.raises(ValidationError, match="conditions"):
        Coupon(external_id="c", conditions=[*conditions, conditions[0]])


def test_conditions_must_be_conditions():
    with pytest.raises(ValidationError) as caught:
        Coupon(external_id="c", conditions=[StringCondition("a", "eq", "b"), "tier eq gold"])
    assert problem_paths(caught) == ["conditions[1]"]


def test_percents_are_in_zero_to_hundred_and_never_floats():
    assert ItemDiscount(promotion_id=1, discount_percent="12.5").discount_percent == Decimal("12.5")
    for bad in (0, "0", 101, "100.01", 10.0, "ten", " 10", "1_0", "NaN"):
        with pytest.raises(ValidationError, match="discount_percent"):
            ItemDiscount(promotion_id=1, discount_percent=bad)


def test_price_conditions_take_non_negative_decimals():
    assert PriceCondition("ge", "20.00").value == Decimal("20.00")
    with pytest.raises(ValidationError):
        PriceCondition("ge", "-1")
    with pytest.raises(ValidationError):
        PriceCondition("ge", 1.5)
    with pytest.raises(ValidationError):
        PriceCondition("between", "1")


def test_promo_code_keeps_every_liveops_field():
    code = PromoCode(
        external_id="SALE",
        discount_percent="5",
        discounted_items=[],
        price_conditions=[PriceCondition("ge", "20")],
        item_price_conditions=None,
        excluded_promotions=[12, 789],
        bonus=[RewardItem("gem", 3)],
    )
    assert code.excluded_promotions == (12, 789)
    assert code.price_conditions == (PriceCondition("ge", "20"),)
    assert code.discounted_items == ()
    assert code.item_price_conditions is None


def test_bonus_needs_at_least_one_reward_and_condition_none_means_any_purchase():
    assert Bonus(promotion_id=1, bonus=[RewardItem("gem")]).condition is None
    with pytest.raises(ValidationError, match="bonus"):
        Bonus(promotion_id=1, bonus=[])


@pytest.mark.parametrize("quantity", [0, -1, True, 1.5, 2**31])
def test_reward_quantities_are_positive_integers(quantity):
    with pytest.raises(ValidationError, match="quantity"):
        RewardItem("gem", quantity)


def test_skus_follow_the_liveops_pattern():
    RewardItem("elven-sword_2.0")
    for bad in ("", "with space", "x" * 256, "sword\n"):
        with pytest.raises(ValidationError, match="sku"):
            RewardItem(bad)


def test_recurrent_schedules_need_their_day_fields_and_only_those():
    RecurrentSchedule("daily", hour=2, utc_offset=timedelta(hours=3))
    RecurrentSchedule("weekly", day_of_week=7)
    RecurrentSchedule("monthly", day_of_month=31)
    with pytest.raises(ValidationError, match="day_of_week"):
        RecurrentSchedule("weekly")
    with pytest.raises(ValidationError, match="day_of_week"):
        RecurrentSchedule("daily", day_of_week=1)
    with pytest.raises(ValidationError, match="day_of_week"):
        RecurrentSchedule("weekly", day_of_week=8)
    with pytest.raises(ValidationError, match="day_of_month"):
        RecurrentSchedule("monthly", day_of_month=32)
    with pytest.raises(ValidationError, match="interval"):
        RecurrentSchedule("hourly")
    with pytest.raises(ValidationError, match="utc_offset"):
        RecurrentSchedule("daily", utc_offset=timedelta(hours=24))
    with pytest.raises(ValidationError, match="hour"):
        RecurrentSchedule("daily", hour=24)
    assert PromotionLimits(per_user=3).recurrent_schedule is None


def test_localized_names_check_locales_and_read_like_a_mapping():
    name = LocalizedName({"en-US": "Sale", "de": "Angebot"})
    assert name["de"] == "Angebot"
    assert dict(name) == {"de": "Angebot", "en-US": "Sale"}
    assert name.best("de-DE") == "Angebot"
    assert name.best("fr") == "Sale"
    for bad in ({"english": "x"}, {"en_US": "x"}, {"en-us": "x"}, {"en": 5}):
        with pytest.raises(ValidationError):
            LocalizedName(bad)


def test_shown_items_name_a_sku_an_item_id_or_both():
    ShownItem(sku="a")
    ShownItem(item_id=5)
    assert ShownItem(sku="a", item_id=5).item_id == 5  # as LiveOps reads a rule back
    with pytest.raises(ValidationError):
        ShownItem()


def test_personalized_rule_names_are_plain_text():
    assert PersonalizedCatalogRule(promotion_id=1, name="Whales").name == "Whales"
    with pytest.raises(ValidationError):
        PersonalizedCatalogRule(promotion_id=1, name=" starts with space")


def test_users_are_read_only_and_may_be_anonymous():
    source = {"tier": "gold"}
    user = User("u1", source)
    source["tier"] = "silver"
    assert user.attributes["tier"] == "gold"
    with pytest.raises(TypeError):
        user.attributes["tier"] = "x"  # type: ignore[index]
    assert User(None).is_anonymous
    with pytest.raises(ValidationError):
        User("")
    with pytest.raises(ValidationError):
        User("u", {1: "x"})  # type: ignore[dict-item]


def test_models_are_immutable_hashable_and_picklable():
    coupon = Coupon(
        external_id="c",
        conditions=[
            StringCondition("tier", "eq", "gold"),
            NumberCondition("level", "ge", 5),
            DateCondition("d", "lt", "2026-01-01"),
        ],
    )
    with pytest.raises(AttributeError):
        coupon.enabled = True  # type: ignore[misc]
    assert hash(coupon) == hash(pickle.loads(pickle.dumps(coupon)))
    assert pickle.loads(pickle.dumps(coupon)) == coupon
