"""LiveOps answers and small bodies: each loads into its model and dumps back; the answers
the library computes come from its own results (a Quote, a promotion)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from liveops_rules import (
    Cart,
    CartLine,
    Coupon,
    DiscountedItem,
    ErrorCode,
    ItemDiscount,
    PersonalizedCatalogRule,
    Pricing,
    PromoCode,
    PromotionKind,
    RewardItem,
    ShownItem,
    StringCondition,
    User,
    ValidationError,
    ValidityWindow,
    dump_payload,
    error_envelope,
    load_payload,
)
from liveops_rules.models.answers import (
    CodeList,
    CodeRequest,
    CodeRewards,
    CreatedPromotion,
    PromotionPage,
    RulePatch,
)
from liveops_rules.wire import code_rewards, code_verification, redeemed_cart

AT = datetime(2026, 11, 28, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "document"),
    [
        ("created", {"external_id": "winter"}),
        ("created", {"promotion_id": 7}),
        ("created", {"rule_id": 3}),
        ("code_request", {"coupon_code": "WINTER"}),
        ("code_response", {"code": "WINTER"}),
        ("code_generation_response", {"count": 10}),
        ("code_list", {"codes": [{"code": "A1"}, {"code": "B2"}], "total_count": 2}),
        (
            "code_limits",
            {
                "promotion_id": 1,
                "items": [
                    {
                        "code": "A",
                        "per_code": {"total": 5, "available": 2, "used": 2, "reserved": 1},
                    }
                ],
                "total_items_count": 1,
                "has_more": False,
            },
        ),
        ("user_limit_reset", {"user": {"user_external_id": "p1"}}),
        ("promocode_remove_request", {"cart": {"id": "c1"}}),
        ("promocode_remove_request", {}),
        ("personalized_rule_patch", {"is_enabled": False}),
        ("codes", ["ABC", "abc"]),
        (
            "coupon_list",
            {
                "items": [{"external_id": "c", "name": {"en": "C"}, "is_enabled": True}],
                "total_promotions_count": 1,
                "active_promotions_count": 1,
                "inactive_promotions_count": 0,
            },
        ),
        (
            "discount_list",
            {
                "promotions": [
                    {"id": 4, "name": {}, "is_enabled": False, "discount": {"percent": "5"}}
                ]
            },
        ),
        (
            "personalized_rule_list",
            {
                "items": [
                    {
                        "rule_id": 1,
                        "name": "r",
                        "is_enabled": True,
                        "is_satisfied_for_unauth": False,
                    }
                ],
                "has_more": False,
            },
        ),
        (
            "code_rewards",
            {"bonus": [{"item": {"sku": "gem"}, "quantity": 2}], "is_selectable": True},
        ),
    ],
)
def test_every_loaded_payload_dumps_back(kind, document):
    assert dump_payload(load_payload(kind, document)) == document


def test_the_answers_are_models():
    assert load_payload("created", {"rule_id": 3}) == CreatedPromotion(rule_id=3)
    assert load_payload("code_request", {"coupon_code": "W1"}) == CodeRequest("W1")
    assert load_payload("code_list", {"codes": [{"code": "A"}]}) == CodeList(("A",))
    page = load_payload("coupon_list", {"items": [{"external_id": "c", "name": {}}]})
    assert page == PromotionPage(kind=PromotionKind.COUPON, promotions=[Coupon(external_id="c")])


@pytest.mark.parametrize(
    ("kind", "document", "path"),
    [
        ("created", {"external_id": "a", "rule_id": 1}, "$.external_id"),
        ("code_list", {"codes": [{"code": "a b"}]}, "$.codes[0]"),
        (
            "code_limits",
            {
                "items": [
                    {
                        "code": "A",
                        "per_code": {"total": -1, "available": 0, "used": 0, "reserved": 0},
                    }
                ]
            },
            "$.items[0].per_code.total",
        ),
        (
            "coupon_list",
            {"items": [{"external_id": "c", "name": {}, "redeem_user_limit": 0}]},
            "$.items[0].redeem_user_limit",
        ),
        ("coupon_list", {"items": [], "total_promotions_count": "2"}, "$.total_promotions_count"),
        ("user_limit_reset", {"user": {"user_external_id": ""}}, "$.user.user_external_id"),
        ("personalized_rule_patch", {"attribute_conditions": []}, "$.attribute_conditions"),
        ("promocode_redeem_response", {"price": {"amount": "1e5"}}, "$.price.amount"),
        ("code_verification", {"type": "bonus", "code": "A", "rewards": {}}, "$.type"),
        ("error_response", {"statusCode": 1, "errorCode": 0, "errorMessage": ""}, "$.statusCode"),
    ],
)
def test_wrong_answers_are_refused_at_their_json_path(kind, document, path):
    with pytest.raises(ValidationError) as caught:
        load_payload(kind, document)
    assert path in [p.path for p in caught.value.problems]


def test_the_librarys_own_error_envelopes_read_back():
    envelope = error_envelope(ErrorCode.CODE_NOT_FOUND, transaction_id="t-1")
    answer = load_payload("error_response", envelope)
    assert (answer.status_code, answer.error_code) == (404, 9811)
    assert dump_payload(answer) == envelope


def test_a_rule_patch_changes_only_what_it_gives():
    rule = PersonalizedCatalogRule(
        promotion_id=1,
        name="r",
        enabled=True,
        conditions=[StringCondition("race", "eq", "ork")],
        items=[ShownItem(sku="axe")],
    )
    patch = load_payload(
        "personalized_rule_patch", {"is_enabled": False, "items": [{"item_id": 9}]}
    )
    assert patch == RulePatch(enabled=False, items=[ShownItem(item_id=9)])
    patched = patch.apply(rule)
    assert (patched.enabled, patched.items, patched.name) == (False, (ShownItem(item_id=9),), "r")
    assert patched.conditions == rule.conditions


def test_rewards_and_verification_come_from_the_promotion():
    code = PromoCode(
        external_id="summer",
        bonus=[RewardItem("gem", 2)],
        discount_percent="10",
        discounted_items=[DiscountedItem("sword", "20")],
    )
    rewards = code_rewards(code)
    assert dump_payload(rewards) == {
        "bonus": [{"item": {"sku": "gem"}, "quantity": 2}],
        "discount": {"percent": "10"},
        "discounted_items": [{"sku": "sword", "discount": {"percent": "20"}}],
        "is_selectable": False,
    }
    verified = dump_payload(
        code_verification(Coupon(external_id="c", bonus=[RewardItem("a")]), "WIN")
    )
    assert verified == {
        "type": "coupon",
        "code": "WIN",
        "rewards": {"bonus": [{"item": {"sku": "a"}, "quantity": 1}], "is_selectable": False},
    }
    assert load_payload("code_rewards", dump_payload(rewards)) == rewards
    with pytest.raises(ValidationError):
        code_rewards(ItemDiscount(discount_percent="5"))  # type: ignore[arg-type]


def test_the_redeem_answer_is_the_quote_repriced():
    sale = ItemDiscount(
        promotion_id=1,
        name={"en": "Sale"},
        discount_percent="10",
        items=["sword"],
        enabled=True,
        window=ValidityWindow(datetime(2026, 11, 1, tzinfo=UTC)),
    )
    five = PromoCode(
        external_id="five", discount_percent="5", enabled=True, bonus=[RewardItem("gem")]
    )
    pricing = Pricing([sale], codes={"FIVE": five})
    cart = Cart(
        currency="USD",
        lines=[
            CartLine(sku="sword", price="10.00"),
            CartLine(sku="shield", quantity=2, price="4.00"),
        ],
    )
    quote = pricing.quote(cart, User("p1"), AT, promo_code="FIVE")
    # By hand: sword 10.00 x 0.9 x 0.95 = 8.55; shield 4.00 x 0.95 = 3.80, twice.
    answer = dump_payload(quote)
    assert answer["price"] == {
        "amount": "16.15",
        "amount_without_discount": "18.00",
        "currency": "USD",
    }
    sword, shield, gem = answer["items"]
    assert sword["price"] == {
        "amount": "8.55",
        "amount_without_discount": "10.00",
        "currency": "USD",
    }
    assert [p.get("discount") for p in sword["promotions"]] == [{"percent": "10"}, {"percent": "5"}]
    assert shield["quantity"] == 2
    assert shield["price"]["amount"] == "3.80"
    assert gem == {"sku": "gem", "quantity": 1, "is_free": True, "is_bonus": True}
    assert answer["rewards"]["discount"] == {"percent": "5"}
    named = dump_payload(
        redeemed_cart(
            quote,
            cart_id="c1",
            promotions={
                (PromotionKind.ITEM_DISCOUNT, "1"): sale,
                (PromotionKind.PROMO_CODE, "five"): five,
            },
        )
    )
    assert named["cart_id"] == "c1"
    assert named["items"][0]["promotions"][0]["name"] == "Sale"
    assert named["items"][0]["promotions"][0]["date_start"] == "2026-11-01T00:00:00+00:00"
    assert load_payload("promocode_redeem_response", named) == redeemed_cart(
        quote,
        cart_id="c1",
        promotions={
            (PromotionKind.ITEM_DISCOUNT, "1"): sale,
            (PromotionKind.PROMO_CODE, "five"): five,
        },
    )
    assert isinstance(redeemed_cart(quote).rewards, CodeRewards)
    assert Decimal(answer["price"]["amount"]) == quote.total
