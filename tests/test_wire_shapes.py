"""Shapes LiveOps' schema and examples use that the library reads: update bodies, nested
condition lists, integral numbers, default quantities, rule items read back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from liveops_rules import (
    Bonus,
    Coupon,
    DiscountedItem,
    ItemDiscount,
    NumberCondition,
    PersonalizedCatalogRule,
    PromoCode,
    RewardItem,
    ShownItem,
    StringCondition,
    ValidationError,
)
from liveops_rules.wire import Form, dump_promotion, load_promotion, load_update

RACE = {"type": "string", "attribute": "race", "operator": "eq", "value": "ork"}
LEVEL = {"type": "number", "attribute": "level", "operator": "ge", "value": "10"}


def problem_paths(load) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        load()
    return [p.path for p in caught.value.problems]


def test_an_update_body_has_no_external_id_and_takes_it_from_the_path():
    body = {"name": {"en": "Winter"}, "redeem_user_limit": 2}
    coupon = load_update("coupon", "winter", body)
    assert coupon == Coupon(external_id="winter", name={"en": "Winter"}, redeem_user_limit=2)
    assert problem_paths(lambda: load_update("coupon", "winter", {**body, "external_id": "w"})) == [
        "$.external_id"
    ]
    assert dump_promotion(coupon, Form.UPDATE) == body


def test_an_update_replaces_the_whole_configuration_but_not_the_switch():
    current = Coupon(
        external_id="winter", enabled=True, redeem_user_limit=1, bonus=[RewardItem("a")]
    )
    updated = load_update("coupon", "winter", {"name": {"en": "W"}}, current=current)
    assert updated.redeem_user_limit is None  # left out: unlimited, as LiveOps replaces it
    assert updated.bonus == ()
    assert updated.enabled is True  # activate/deactivate switch it, not a PUT
    with pytest.raises(ValidationError, match="current"):
        load_update("coupon", "other", {"name": {}}, current=current)


def test_updates_of_numbered_kinds_take_the_numeric_id():
    discount = load_update("discount", 7, {"name": {}, "discount": {"percent": "5"}, "items": []})
    assert discount.promotion_id == 7
    rule = load_update(
        "personalized_rule",
        3,
        {"name": "r", "is_enabled": True, "attribute_conditions": [RACE], "items": [{"sku": "a"}]},
    )
    assert rule.promotion_id == 3
    assert rule.enabled is True
    with pytest.raises(ValidationError, match="numeric id"):
        load_update("bonus", "7", {"name": {}, "bonus": [{"sku": "a"}]})


def test_item_discount_conditions_may_be_nested_and_are_written_nested():
    body = {
        "name": {},
        "discount": {"percent": "24.00"},
        "items": [],
        "attribute_conditions": [[RACE], [LEVEL]],
    }
    discount = load_promotion("discount", body, form=Form.REQUEST)
    assert discount.conditions == (
        StringCondition("race", "eq", "ork"),
        NumberCondition("level", "ge", 10),
    )
    assert load_promotion("discount", {**body, "attribute_conditions": [RACE, LEVEL]}) == discount
    race, level = ({**c, "can_be_missing": False} for c in (RACE, LEVEL))
    assert dump_promotion(discount, Form.REQUEST)["attribute_conditions"] == [[race], [level]]
    assert dump_promotion(discount, Form.RESPONSE)["attribute_conditions"] == [race, level]
    bad = {**body, "attribute_conditions": [[RACE], [{**LEVEL, "operator": "xx"}]]}
    assert problem_paths(lambda: load_promotion("discount", bad)) == [
        "$.attribute_conditions[1][0].operator"
    ]


def test_an_empty_items_list_is_a_discount_chosen_by_price():
    discount = ItemDiscount(discount_percent="5", items=[])
    assert discount.items is None


def test_integral_numbers_are_integers_everywhere_and_quantity_defaults_to_one():
    body = {"name": {}, "bonus": [{"sku": "gem"}], "limits": {"per_user": 1.0}, "condition": None}
    bonus = load_promotion("bonus", body)
    assert bonus.limits is not None
    assert bonus.limits.per_user == 1
    assert bonus.bonus == (RewardItem("gem", 1),)
    assert problem_paths(lambda: load_promotion("bonus", {**body, "limits": {"per_user": 1.5}}))


def test_rule_items_read_back_carry_id_sku_and_description():
    read = {
        "rule_id": 1,
        "name": "Orks",
        "is_enabled": True,
        "attribute_conditions": [RACE],
        "items": [
            {"item_id": 1, "sku": "armor", "name": "Ork Armor", "type": "virtual_good"},
            {
                "item_id": 2,
                "sku": "pack",
                "name": "Pack",
                "type": "bundle",
                "bundle_type": "standard",
            },
        ],
    }
    rule = load_promotion("personalized_rule", read, form=Form.RESPONSE)
    assert isinstance(rule, PersonalizedCatalogRule)
    assert rule.items == (ShownItem(sku="armor", item_id=1), ShownItem(sku="pack", item_id=2))
    assert dump_promotion(rule, Form.REQUEST)["items"] == [{"item_id": 1}, {"item_id": 2}]


def test_request_bodies_write_the_fields_liveops_requires():
    assert dump_promotion(Bonus(bonus=[RewardItem("a")]))["condition"] is None
    assert dump_promotion(ItemDiscount(discount_percent="5"))["items"] == []
    with pytest.raises(ValidationError, match="conditions"):
        dump_promotion(PersonalizedCatalogRule(name="r", items=[ShownItem(sku="a")]))
    code = PromoCode(external_id="p", discounted_items=[DiscountedItem("sword", Decimal(10))])
    assert dump_promotion(code, Form.RESPONSE)["discount"] == {"percent": None}


def test_a_bad_locale_is_reported_at_the_name_field():
    assert problem_paths(
        lambda: load_promotion("coupon", {"external_id": "c", "name": {"english": "x"}})
    ) == ["$.name['english']"]
