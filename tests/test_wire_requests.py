"""Requests and answers around promotions, form-strict loading, and integer ranges."""

from __future__ import annotations

import pytest

from liveops_rules import (
    CodeGenerationRequest,
    CouponRedeemRequest,
    PromoCodeRedeemRequest,
    RedeemResult,
    RewardItem,
    UserLimitState,
    UserLimitUpdate,
    ValidationError,
    dump_payload,
    is_valid_code,
    load_payload,
    load_promotion,
    normalize_code,
)


def problems(kind, data, form=None):
    def load():
        return load_promotion(kind, data, form=form) if form else load_payload(kind, data)

    with pytest.raises(ValidationError) as caught:
        load()
    return {p.path: p for p in caught.value.problems}


def test_coupon_redeem_request_round_trips():
    data = {"coupon_code": "WINTER2021", "selected_unit_items": {"game_1": "game_1_steam"}}
    request = load_payload("coupon_redeem_request", data)
    assert request == CouponRedeemRequest(
        code="WINTER2021", selected_unit_items={"game_1": "game_1_steam"}
    )
    assert dump_payload(request) == data


def test_promo_code_redeem_request_carries_the_cart():
    data = {"coupon_code": "SUMMER", "cart": {"id": "current"}, "selected_unit_items": {}}
    request = load_payload("promocode_redeem_request", data)
    assert request == PromoCodeRedeemRequest(code="SUMMER", cart_id="current")
    assert dump_payload(request) == data
    assert (
        load_payload("promocode_redeem_request", {"coupon_code": "S", "cart": None}).cart_id is None
    )
    assert "$.cart.id" in problems("promocode_redeem_request", {"coupon_code": "S", "cart": {}})


@pytest.mark.parametrize("code", ["", "x" * 129])
def test_redeem_requests_bound_the_code_length(code):
    assert "$.coupon_code" in problems("coupon_redeem_request", {"coupon_code": code})


def test_redeem_answers_keep_sku_and_quantity_of_the_catalog_items():
    answer = {
        "items": [
            {
                "sku": "booster",
                "quantity": 2,
                "name": "Booster",
                "type": "virtual_good",
                "price": None,
                "is_free": True,
                "groups": [{"external_id": "powerups", "name": "Power Ups"}],
            }
        ]
    }
    result = load_payload("redeem_response", answer)
    assert result == RedeemResult([RewardItem("booster", 2)])
    assert dump_payload(result) == {"items": [{"sku": "booster", "quantity": 2}]}
    assert "$.items[0].quantity" in problems(
        "redeem_response", {"items": [{"sku": "a", "quantity": 0}]}
    )


@pytest.mark.parametrize("code", ["", "a" * 129, "with space", "dash-ed", "\u0663", "abc\n", 5])
def test_codes_are_1_to_128_latin_letters_and_digits(code):
    assert not is_valid_code(code)
    assert "$.coupon_code" in problems("code_request", {"coupon_code": code})


def test_codes_are_case_sensitive_and_unique_within_a_request():
    assert load_payload("codes", ["ABC", "abc", "A" * 128]) == ("ABC", "abc", "A" * 128)
    found = problems("codes", ["ABC", "DEF", "ABC"])
    assert set(found) == {"$[2]"}
    assert "also at $[0]" in found["$[2]"].found
    assert normalize_code("  abc1 ") == "ABC1"


@pytest.mark.parametrize("count", [0, 100_001, True, -1, "5", 1.5])
def test_code_generation_counts_are_1_to_100000(count):
    assert "$.count" in problems("code_generation_request", {"count": count})


def test_code_generation_accepts_its_range():
    assert load_payload("code_generation_request", {"count": 100_000}) == CodeGenerationRequest(
        100_000
    )
    assert dump_payload(CodeGenerationRequest(1)) == {"count": 1}


def test_user_limit_bodies_by_operation():
    body = {"user": {"user_external_id": "player-1"}, "available": 0}
    assert load_payload("user_limit_set", body) == UserLimitUpdate("player-1", 0)
    for operation in ("user_limit_increase", "user_limit_decrease"):
        assert "$.available" in problems(operation, body)
    assert dump_payload(UserLimitUpdate("player-1", 3)) == {
        "user": {"user_external_id": "player-1"},
        "available": 3,
    }
    assert "$.user.user_external_id" in problems(
        "user_limit_set", {"user": {"user_external_id": "has space"}, "available": 1}
    )
    state = load_payload("user_limit_response", {"per_user": {"total": 5, "available": 2}})
    assert state == UserLimitState(5, 2)


@pytest.mark.parametrize(
    ("field", "value"),
    [("redeem_total_limit", 2**31), ("redeem_user_limit", True), ("redeem_code_limit", 0)],
)
def test_integers_are_checked_for_type_and_range(field, value):
    data = {"external_id": "c", "name": {}, field: value}
    assert f"$.{field}" in problems("coupon", data, form="request")


def test_the_request_form_refuses_response_fields():
    data = {
        "name": {},
        "id": 5,
        "is_enabled": True,
        "discount": {"percent": "10"},
        "limits": {
            "per_user": {"total": 3},
            "per_item": 4,
            "recurrent_schedule": {
                "per_user": {
                    "interval_type": "daily",
                    "time": "02:00:00+03:00",
                    "reset_next_date": 1,
                }
            },
        },
    }
    found = problems("discount", data, form="request")
    assert {
        "$.id",
        "$.is_enabled",
        "$.limits.per_user",
        "$.limits.per_item",
        "$.limits.recurrent_schedule.per_user.reset_next_date",
    } <= set(found)


def test_the_response_form_refuses_the_write_form_of_limits():
    data = {"id": 5, "name": {}, "discount": {"percent": "10"}, "limits": {"per_user": 3}}
    assert set(problems("discount", data, form="response")) == {"$.limits.per_user"}


def test_a_coupon_request_has_no_is_enabled():
    found = problems("coupon", {"external_id": "c", "name": {}, "is_enabled": True}, form="request")
    assert set(found) == {"$.is_enabled"}
    assert load_promotion(
        "coupon", {"external_id": "c", "name": {}, "is_enabled": True}, form="response"
    ).enabled


def test_unknown_payload_kinds_are_refused():
    with pytest.raises(ValidationError, match="kind"):
        load_payload("voucher", {})
    with pytest.raises(ValidationError):
        dump_payload(object())
