"""A user's typed script over the public API: `mypy --strict` checks it (test_static_checks)
and test_typed_usage runs it, so the hints and the behaviour agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from liveops_rules import (
    Accounting,
    Bonus,
    Cart,
    CartLine,
    Catalog,
    Coupon,
    DateCondition,
    DiscountedItem,
    ErrorCode,
    Form,
    ItemDiscount,
    NumberCondition,
    Period,
    PersonalizedCatalogRule,
    PriceCondition,
    Pricing,
    PromoCode,
    PromotionKind,
    PromotionLimits,
    Reason,
    RecurrentSchedule,
    RewardItem,
    ShownItem,
    StringCondition,
    UniqueCatalogOffer,
    User,
    ValidationError,
    ValidityWindow,
    code_rewards,
    code_verification,
    dump_payload,
    dump_promotion,
    error_code_for,
    error_envelope,
    evaluate,
    load_payload,
    load_promotion,
    load_update,
    open_store,
    parse_json,
    redeemed_cart,
)
from liveops_rules.models.answers import CodeRewards, CreatedPromotion, RedeemedCart

AT = datetime(2026, 11, 28, 12, tzinfo=UTC)


def promotions() -> list[Coupon | PromoCode | ItemDiscount | Bonus]:
    window = ValidityWindow.of_periods(
        [
            Period(AT - timedelta(days=1), AT + timedelta(days=1)),
            Period(AT + timedelta(days=7), AT + timedelta(days=8)),
        ]
    )
    return [
        Coupon(
            external_id="winter",
            enabled=True,
            window=window,
            bonus=[RewardItem("gem", 5)],
            conditions=[
                NumberCondition("level", "ge", 10),
                StringCondition("tier", "ne", "banned"),
                DateCondition("signup", "lt", "2026-01-01", can_be_missing=True),
            ],
            redeem_user_limit=1,
        ),
        PromoCode(
            external_id="five",
            enabled=True,
            discount_percent=Decimal(5),
            discounted_items=[DiscountedItem("sword", Decimal(20))],
            price_conditions=[PriceCondition("ge", Decimal(1))],
        ),
        ItemDiscount(
            promotion_id=1,
            enabled=True,
            discount_percent="10",
            items=["sword"],
            limits=PromotionLimits(per_user=3, recurrent_schedule=RecurrentSchedule("daily")),
        ),
        Bonus(promotion_id=2, enabled=True, bonus=[RewardItem("potion")], condition=None),
    ]


def decisions() -> list[str]:
    found = promotions()
    user = User("p1", {"level": "7", "tier": "gold"})
    reasons: list[Reason] = list(evaluate(found[0], user, AT).reasons)
    codes = [int(error_code_for(reason)) for reason in reasons]
    catalog = Catalog(found)
    eligible = [p.key or "" for p in catalog.eligible(user, AT)]
    rule = PersonalizedCatalogRule(
        promotion_id=3, name="Orks", items=[ShownItem(sku="axe", item_id=4)]
    )
    offer = UniqueCatalogOffer(external_id="secret", items=["helm"])
    return [*(r.message for r in reasons), *map(str, codes), *eligible, rule.name, *offer.items]


def wire() -> list[object]:
    coupon = load_promotion("coupon", parse_json('{"external_id": "c", "name": {"en": "C"}}'))
    updated = load_update(PromotionKind.COUPON, "c", {"name": {"en": "D"}}, current=coupon)
    created = load_payload("created", {"external_id": "c"})
    assert isinstance(created, CreatedPromotion)
    body = dump_promotion(updated, Form.UPDATE)
    v3 = dump_promotion(promotions()[0], Form.RESPONSE, version=3)
    five = promotions()[1]
    assert isinstance(five, PromoCode)
    rewards: CodeRewards = code_rewards(five)
    assert isinstance(coupon, Coupon)
    verified = dump_payload(code_verification(coupon, "WIN"))
    try:
        load_promotion("coupon", {"external_id": "a b", "name": {}})
    except ValidationError as error:
        paths = [p.path for p in error.problems]
    return [body, v3, dump_payload(rewards), verified, paths]


def pricing_and_accounting() -> list[object]:
    found = promotions()
    five = found[1]
    assert isinstance(five, PromoCode)
    pricing = Pricing(
        [p for p in found if isinstance(p, ItemDiscount | Bonus)], codes={"FIVE": five}
    )
    cart = Cart(currency="USD", lines=[CartLine(sku="sword", quantity=1, price="10.00")])
    quote = pricing.quote(cart, User("p1"), AT, promo_code="FIVE")
    answer: RedeemedCart = redeemed_cart(quote, cart_id="c1")
    accounting = Accounting(open_store("memory://"))
    coupon = found[0]
    assert isinstance(coupon, Coupon)
    accounting.import_promotions([coupon])
    accounting.add_codes(coupon, ["WINTER1"])
    player = User("p9", {"level": 12, "tier": "gold"})
    first = accounting.redeem("WINTER1", player, AT)
    again = accounting.redeem("WINTER1", player, AT)
    code = ErrorCode.VALIDATION_ERROR if again.refusal is None else error_code_for(again.refusal)
    return [str(quote.total), dump_payload(answer)["price"], first.ok, error_envelope(code)]


def main() -> list[object]:
    """Every part, for the test that runs this file."""
    return [decisions(), wire(), pricing_and_accounting()]
