"""Loading LiveOps payloads and catalog files: models out, or every problem with its path."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveops_rules import (
    Coupon,
    DateCondition,
    ItemDiscount,
    NumberCondition,
    PromotionKind,
    RecurrentSchedule,
    StringCondition,
    ValidationError,
)
from liveops_rules.wire import load_catalog, load_promotion, load_user, parse_json

COUPON = {
    "external_id": "winter",
    "name": {"en-US": "Winter"},
    "date_start": "2026-11-01T00:00:00+03:00",
    "date_end": None,
    "bonus": [{"sku": "chest", "quantity": 2}],
    "redeem_total_limit": 500,
    "redeem_user_limit": 1,
    "redeem_code_limit": None,
    "attribute_conditions": [
        {"attribute": "tier", "type": "string", "operator": "ne", "value": "gold"},
        {
            "attribute": "level",
            "type": "number",
            "operator": "ge",
            "value": "10",
            "can_be_missing": True,
        },
        {"attribute": "signup", "type": "date", "operator": "lt", "value": "2026-01-01"},
    ],
    "is_enabled": True,
}


def paths(data, kind=PromotionKind.COUPON):
    with pytest.raises(ValidationError) as caught:
        load_promotion(kind, data)
    return {p.path: p for p in caught.value.problems}


def test_a_coupon_payload_loads_into_the_model():
    coupon = load_promotion("coupon", COUPON)
    assert isinstance(coupon, Coupon)
    assert coupon.window.start == datetime(2026, 10, 31, 21, tzinfo=UTC)
    assert coupon.window.end is None
    assert coupon.enabled is True
    assert coupon.redeem_code_limit is None
    assert coupon.conditions == (
        StringCondition("tier", "ne", "gold"),
        NumberCondition("level", "ge", Decimal(10), can_be_missing=True),
        DateCondition("signup", "lt", date(2026, 1, 1)),
    )


def test_is_enabled_defaults_to_false():
    data = {k: v for k, v in COUPON.items() if k != "is_enabled"}
    assert load_promotion("coupon", data).enabled is False


def test_every_problem_is_reported_with_its_path():
    data = {
        **COUPON,
        "external_id": "with space",
        "date_start": "2026-11-01T00:00:00",
        "redeem_user_limit": 0,
        "bonus": [{"sku": "chest", "quantity": 0}],
        "attribute_conditions": [
            COUPON["attribute_conditions"][0],
            {"attribute": "tier", "type": "string", "operator": "gt", "value": "gold"},
            {"attribute": "level", "type": "number", "operator": "er", "value": "ten"},
            {"attribute": "x", "type": "bool", "operator": "eq", "value": "1"},
        ],
    }
    found = paths(data)
    assert set(found) == {
        "$.external_id",
        "$.date_start",
        "$.redeem_user_limit",
        "$.bonus[0].quantity",
        "$.attribute_conditions[1].operator",
        "$.attribute_conditions[2].value",
        "$.attribute_conditions[3].type",
    }
    assert found["$.date_start"].found == "'2026-11-01T00:00:00'"


def test_shape_problems_are_reported_together():
    found = paths({**COUPON, "is_enabled": 1, "redeem_total_limit": True, "bonus": {}, "extra": 1})
    assert set(found) == {"$.is_enabled", "$.redeem_total_limit", "$.bonus", "$.extra"}
    assert found["$.redeem_total_limit"].expected == "an integer"
    assert found["$.extra"].found == "an unknown field"


def test_required_fields_are_named():
    found = paths({"name": {}})
    assert "$.external_id" in found
    assert found["$.external_id"].found == "nothing"


@pytest.mark.parametrize("count", [0, 101])
def test_condition_lists_hold_1_to_100_when_present(count):
    condition = COUPON["attribute_conditions"][0]
    assert "$.attribute_conditions" in paths(
        {**COUPON, "attribute_conditions": [condition] * count}
    )


def test_end_before_start_is_refused():
    found = paths({**COUPON, "date_end": "2026-10-01T00:00:00+00:00"})
    assert set(found) == {"$.date_end"}


def test_item_discount_limits_in_write_and_read_form():
    write = {
        "id": 7,
        "name": {"en": "Sale"},
        "discount": {"percent": "10.00"},
        "items": [{"sku": "sword"}],
        "limits": {
            "per_user": 3,
            "recurrent_schedule": {
                "per_user": {
                    "interval_type": "monthly",
                    "day_of_month": 31,
                    "time": "02:00:00-03:30",
                }
            },
        },
    }
    discount = load_promotion("discount", write)
    assert isinstance(discount, ItemDiscount)
    assert discount.limits is not None
    assert discount.limits.per_user == 3
    assert discount.limits.recurrent_schedule == RecurrentSchedule(
        "monthly", hour=2, utc_offset=-timedelta(hours=3, minutes=30), day_of_month=31
    )
    read = json.loads(json.dumps(write))
    read["limits"]["per_user"] = {"total": 3}
    read["limits"]["per_item"] = None
    read["limits"]["recurrent_schedule"]["per_user"].update(
        {
            "day_of_week": None,
            "reset_next_date": 1767225600,
            "displayable_reset_start_date": "2026-01-31T02:00:00-03:30",
            "displayable_reset_next_date": "2026-02-28T02:00:00-03:30",
        }
    )
    assert load_promotion("discount", read) == discount


@pytest.mark.parametrize("time", ["02:30:00+03:00", "24:00:00+00:00", "2:00:00+03:00", "02:00:00"])
def test_reset_times_are_whole_hours_with_an_offset(time):
    data = {
        "name": {},
        "discount": {"percent": "10"},
        "limits": {"recurrent_schedule": {"per_user": {"interval_type": "daily", "time": time}}},
    }
    assert "$.limits.recurrent_schedule.per_user.time" in paths(data, PromotionKind.ITEM_DISCOUNT)


@pytest.mark.parametrize("percent", ["0", "100.5", "ten", "-5", " 5", "5%"])
def test_discount_percents_are_checked(percent):
    data = {"name": {}, "discount": {"percent": percent}}
    assert set(paths(data, PromotionKind.ITEM_DISCOUNT)) == {"$.discount.percent"}


@pytest.mark.parametrize("value", ["-1", "1.23456", "1e3", "", "1.", "\u0663"])
def test_price_condition_values_match_the_liveops_pattern(value):
    data = {
        "external_id": "P",
        "name": {},
        "price_conditions": [{"operator": "ge", "value": value}],
    }
    assert set(paths(data, PromotionKind.PROMO_CODE)) == {"$.price_conditions[0].value"}


def test_personalized_rules_load_with_items_by_sku_or_id():
    rule = load_promotion(
        "personalized_rule",
        {
            "rule_id": 3,
            "name": "Whales",
            "is_enabled": True,
            "is_satisfied_for_unauth": True,
            "items": [{"sku": "bundle"}, {"item_id": 42}],
        },
    )
    assert rule.satisfied_for_unauth is True  # type: ignore[union-attr]
    assert len(rule.items) == 2  # type: ignore[union-attr]
    found = paths({"name": "x", "items": [{}]}, PromotionKind.PERSONALIZED_RULE)
    assert "$.items[0].sku" in found


def test_users_load_from_id_and_attributes():
    user = load_user({"id": "p1", "attributes": {"level": "12", "vip": True, "spent": 10.5}})
    assert user.attributes["level"] == "12"
    assert load_user({}).is_anonymous
    with pytest.raises(ValidationError, match=r"\$\.attributes\.nested"):
        load_user({"id": "p1", "attributes": {"nested": {"a": 1}}})


def test_catalog_ids_are_required_and_unique_within_a_kind():
    discount = {"name": {}, "discount": {"percent": "10"}}
    with pytest.raises(ValidationError) as caught:
        load_catalog(
            {
                "coupons": [COUPON, COUPON],
                "discounts": [discount, {**discount, "id": 5}],
                "bonus": [],
            }
        )
    found = {p.path: p for p in caught.value.problems}
    assert set(found) == {"$.coupons[1].external_id", "$.discounts[0].id", "$.bonus"}
    assert "$.coupons[0]" in found["$.coupons[1].external_id"].found


def test_strict_json_refuses_duplicate_keys_nan_and_bad_text():
    with pytest.raises(ValidationError, match=r"\$\.a\.b"):
        parse_json('{"a": {"b": 1, "b": 2}}')
    for text in ("[NaN]", "[Infinity]", "[-Infinity]", "{", "", "\xff"):
        with pytest.raises(ValidationError):
            parse_json(text)
    with pytest.raises(ValidationError, match="nesting"):
        parse_json("[" * 100 + "]" * 100)
    assert parse_json('{"p": 1.10}') == {"p": Decimal("1.10")}


_Tree = tuple[str, object]  # ("scalar", text) | ("list", [trees]) | ("object", [(key, tree)])

_trees = st.recursive(
    st.sampled_from(["1", "2.50", '"x"', "null", "true"]).map(lambda text: ("scalar", text)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: ("list", items)),
        st.lists(st.tuples(st.sampled_from("abc"), inner), max_size=3).map(
            lambda pairs: ("object", pairs)
        ),
    ),
    max_leaves=12,
)


def _text(tree: _Tree) -> str:
    kind, body = tree
    if kind == "scalar":
        return body  # type: ignore[return-value]
    if kind == "list":
        return "[" + ", ".join(_text(item) for item in body) + "]"  # type: ignore[attr-defined]
    return "{" + ", ".join(f'"{key}": {_text(item)}' for key, item in body) + "}"  # type: ignore[attr-defined]


def _faults(tree: _Tree, depth: int = 0) -> tuple[int, bool]:
    """The deepest level any value sits at, and whether some object repeats a key (objects
    deeper than 64 levels are refused for their depth; their keys are not read)."""
    kind, body = tree
    deepest, repeated = depth, False
    if kind == "scalar":
        return deepest, repeated
    children = body if kind == "list" else [item for _, item in body]  # type: ignore[attr-defined]
    if kind == "object":
        keys = [key for key, _ in body]  # type: ignore[attr-defined]
        repeated = len(set(keys)) < len(keys) and depth <= 64
    for child in children:  # type: ignore[attr-defined]
        below, again = _faults(child, depth + 1)
        deepest, repeated = max(deepest, below), repeated or again
    return deepest, repeated


@settings(max_examples=300, deadline=None)
@given(tree=_trees, wrapping=st.integers(0, 70), in_objects=st.booleans())
def test_strict_json_refuses_exactly_repeated_keys_and_deep_nesting(
    tree: _Tree, wrapping: int, in_objects: bool
) -> None:
    # The quick pass that decides whether to walk for paths must agree with a reading of the
    # document made here, from the tree the text was written from.
    for _ in range(wrapping):
        tree = ("object", [("k", tree)]) if in_objects else ("list", [tree])
    deepest, repeated = _faults(tree)
    text = _text(tree)
    if deepest <= 64 and not repeated:
        assert parse_json(text) == json.loads(text, parse_float=Decimal)
        return
    with pytest.raises(ValidationError) as caught:
        parse_json(text)
    expected = {"each key once in an object"} if repeated else set()
    if deepest > 64:
        expected.add("at most 64 levels of nesting")
    assert {problem.expected for problem in caught.value.problems} == expected


def _coupon(external_id: str, *conditions: object) -> dict[str, object]:
    return {
        "external_id": external_id,
        "name": {"en": external_id},
        "attribute_conditions": list(conditions),
    }


def test_conditions_repeated_across_a_catalog_load_alike_and_faults_keep_their_paths():
    # Loading shares a condition already built; a repeat must be the same condition, and
    # a faulty one (even next to known ones, even one `==` a known one) must be named.
    good = {"attribute": "tier", "type": "string", "operator": "eq", "value": "gold"}
    flagged = {**good, "can_be_missing": True}
    as_int = {**good, "can_be_missing": 1}  # 1 == True in Python, not in JSON
    for _ in range(2):  # the second pass reads the memo
        first, second = load_catalog(
            {"coupons": [_coupon("a", good, flagged), _coupon("b", flagged, good)]}
        )
        assert first.conditions == second.conditions[::-1]
        assert first.conditions[1].can_be_missing is True
        assert first.conditions[0] == StringCondition("tier", "eq", "gold")
        with pytest.raises(ValidationError) as error:
            load_catalog({"coupons": [_coupon("a", good, as_int), _coupon("b", flagged, good)]})
        assert [(p.path, p.expected) for p in error.value.problems] == [
            ("$.coupons[0].attribute_conditions[1].can_be_missing", "true or false")
        ]
        bad_value = {**good, "type": "number", "value": "ten"}
        with pytest.raises(ValidationError) as error:
            load_catalog({"coupons": [_coupon("a", good, bad_value, bad_value)]})
        assert [p.path for p in error.value.problems] == [
            "$.coupons[0].attribute_conditions[1].value",
            "$.coupons[0].attribute_conditions[2].value",
        ]
