"""Cart pricing: what each line costs, which promotions apply and why the others do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from liveops_rules import (
    AppliedPromotion,
    Bonus,
    Cart,
    CartLine,
    DiscountedItem,
    ErrorCode,
    ItemDiscount,
    NaiveDatetimeError,
    NumberCondition,
    PriceCondition,
    Pricing,
    PromoCode,
    PromotionKind,
    PromotionLimits,
    RewardItem,
    User,
    ValidationError,
    ValidityWindow,
    VirtualPrice,
    minor_units,
    round_money,
)

AT = datetime(2026, 11, 28, 12, tzinfo=UTC)
PLAYER = User("player-1", {"level": "12"})
D = Decimal


def discount(number: int, percent: str, items=None, **fields) -> ItemDiscount:
    return ItemDiscount(
        promotion_id=number, discount_percent=percent, items=items, enabled=True, **fields
    )


def code(key: str = "CODE", **fields) -> PromoCode:
    return PromoCode(external_id=key, enabled=True, **fields)


def cart(*lines: tuple[str, str] | tuple[str, str, int], currency: str = "USD") -> Cart:
    return Cart(
        currency=currency,
        lines=[CartLine(sku=line[0], price=line[1], quantity=(*line, 1)[2]) for line in lines],
    )


def line(quote, sku):
    (found,) = [line for line in quote.lines if line.sku == sku]
    return found


def applied(quote) -> dict[tuple[str, str], Decimal]:
    return {(a.kind.value, a.id): a.amount for a in quote.applied}


# -- the worked example and stacking ----------------------------------------------------------


def test_the_worked_example_costs_6_84():
    promo = code("FIVE", discount_percent="5")
    pricing = Pricing(
        [discount(1, "10", ["sword"]), discount(2, "20", ["sword"])], codes={"FIVE": promo}
    )
    quote = pricing.quote(cart(("sword", "10.00")), PLAYER, AT, promo_code="FIVE")
    assert line(quote, "sword").final_price == D("6.84")
    assert quote.total_before == D("10.00")
    assert quote.total == D("6.84")
    assert [(a.id, a.amount) for a in line(quote, "sword").applied] == [
        ("1", D("1.00")),
        ("2", D("1.80")),
        ("FIVE", D("0.36")),
    ]
    assert quote.promo_code_applied


def test_every_applicable_discount_stacks_multiplicatively_and_shares_add_up():
    pricing = Pricing(
        [discount(1, "15", ["a"]), discount(2, "15", ["a"]), discount(3, "33", ["a"])]
    )
    quote = pricing.quote(cart(("a", "3.33", 7)), PLAYER, AT)
    exact = D("3.33") * D("0.85") * D("0.85") * D("0.67")
    assert line(quote, "a").final_price == round_money(exact, 2)
    assert quote.total == line(quote, "a").final_price * 7
    assert sum(a.amount for a in quote.applied) == quote.total_before - quote.total
    assert sum(a.amount for a in line(quote, "a").applied) == quote.discount


def test_a_full_discount_makes_the_line_free_never_negative():
    quote = Pricing([discount(1, "100", ["a"]), discount(2, "50", ["a"])]).quote(
        cart(("a", "9.99")), PLAYER, AT
    )
    assert quote.total == D("0.00")
    assert applied(quote) == {("discount", "1"): D("9.99"), ("discount", "2"): D(0)}


# -- rounding and currencies ------------------------------------------------------------------


def test_rounding_is_half_up_to_the_currency_minor_unit():
    assert round_money(D("0.125"), 2) == D("0.13")  # half-even would give 0.12
    assert round_money(D("0.005"), 2) == D("0.01")
    assert round_money(D("-0.005"), 2) == D("-0.01")
    assert (minor_units("USD"), minor_units("JPY"), minor_units("KWD")) == (2, 0, 3)
    assert minor_units("CLF") == 4
    assert minor_units("XYZ") == 2  # not in ISO's exceptions: two decimals
    with pytest.raises(ValidationError, match="three-letter ISO 4217"):
        minor_units("usd")


def test_yen_prices_round_to_whole_yen_and_dinar_to_fils():
    pricing = Pricing([discount(1, "33", ["a"])])
    yen = pricing.quote(cart(("a", "999"), currency="JPY"), PLAYER, AT)
    assert line(yen, "a").final_price == D("669")  # 669.33
    assert yen.to_dict()["total"] == "669"
    dinar = pricing.quote(cart(("a", "1.005"), currency="KWD"), PLAYER, AT)
    assert line(dinar, "a").final_price == D("0.673")  # 0.67335 rounds half-up
    assert dinar.to_dict()["lines"][0]["price"] == "1.005"


def test_a_half_cent_rounds_up():
    # 0.50 * 0.99 = 0.495: half-up gives 0.50, so the 1% takes nothing
    quote = Pricing([discount(1, "1", ["a"])]).quote(cart(("a", "0.50")), PLAYER, AT)
    assert line(quote, "a").final_price == D("0.50")
    assert applied(quote) == {("discount", "1"): D(0)}


def test_the_minor_unit_can_be_given_for_a_currency_iso_does_not_know():
    priced = Cart(currency="XTS", lines=[CartLine(sku="a", price="1.0005")], minor_units=4)
    quote = Pricing([discount(1, "50", ["a"])]).quote(priced, PLAYER, AT)
    assert line(quote, "a").final_price == D("0.5003")  # 0.50025 half-up


# -- which discounts target which line --------------------------------------------------------


def test_discounts_target_listed_skus_or_prices_meeting_their_conditions():
    listed = discount(1, "10", ["a"])
    cheap = discount(2, "50", None, price_conditions=[PriceCondition("lt", "5")])
    listed_and_cheap = discount(3, "20", ["a", "b"], price_conditions=[PriceCondition("lt", "5")])
    nothing = discount(4, "90")  # neither items nor price conditions: targets no line
    quote = Pricing([listed, cheap, listed_and_cheap, nothing]).quote(
        cart(("a", "10.00"), ("b", "4.00"), ("c", "5.00")), PLAYER, AT
    )
    assert [a.id for a in line(quote, "a").applied] == ["1"]
    assert [a.id for a in line(quote, "b").applied] == ["2", "3"]
    assert line(quote, "c").applied == ()  # 5.00 is not < 5
    assert line(quote, "b").final_price == D("1.60")
    assert quote.not_applied == ()


def test_price_conditions_compare_the_undiscounted_unit_price():
    half = discount(1, "50", ["a"])
    big_ticket = discount(2, "10", None, price_conditions=[PriceCondition("ge", "10")])
    quote = Pricing([half, big_ticket]).quote(cart(("a", "10.00")), PLAYER, AT)
    assert line(quote, "a").final_price == D("4.50")


def test_not_applied_lists_targeting_promotions_with_the_evaluators_reasons():
    ended = discount(
        1,
        "10",
        ["a"],
        window=ValidityWindow(AT - timedelta(days=9), AT - timedelta(days=1)),
    )
    off = ItemDiscount(promotion_id=2, discount_percent="10", items=["a"])
    high_level = discount(3, "10", ["a"], conditions=[NumberCondition("level", "ge", 50)])
    elsewhere = ItemDiscount(promotion_id=4, discount_percent="10", items=["zzz"])
    quote = Pricing([ended, off, high_level, elsewhere]).quote(cart(("a", "1.00")), PLAYER, AT)
    assert quote.total == D("1.00")
    reasons = {n.id: [r.code for r in n.reasons] for n in quote.not_applied}
    assert reasons == {"1": ["ended"], "2": ["disabled"], "3": ["condition_failed"]}
    assert quote.not_applied[2].reasons[0].message == "attribute `level` is `12`, needs `ge 50`"


def test_a_promotion_with_a_per_user_limit_needs_a_signed_in_user():
    limited = discount(1, "10", ["a"], limits=PromotionLimits(per_user=1))
    pricing = Pricing([limited])
    assert pricing.quote(cart(("a", "1.00")), PLAYER, AT).total == D("0.90")
    anonymous = pricing.quote(cart(("a", "1.00")), User(None), AT)
    assert anonymous.total == D("1.00")
    assert [r.code for r in anonymous.not_applied[0].reasons] == ["sign_in_required"]


def test_virtual_currency_prices_are_never_discounted():
    cheap = discount(1, "50", ["gem"])
    lines = [CartLine(sku="gem", quantity=3, virtual_price=VirtualPrice("gold", 40))]
    quote = Pricing([cheap]).quote(Cart(currency="USD", lines=lines), PLAYER, AT)
    priced = line(quote, "gem")
    assert (priced.price, priced.final_price, priced.applied) == (None, None, ())
    assert quote.virtual_totals() == {"gold": 120}
    assert quote.total == D(0)
    assert quote.to_dict()["virtual_totals"] == {"gold": 120}


def test_a_line_with_both_prices_is_discounted_in_money_only():
    both = CartLine(sku="gem", price="2.00", virtual_price=VirtualPrice("gold", 40))
    quote = Pricing([discount(1, "50", ["gem"])]).quote(
        Cart(currency="USD", lines=[both]), PLAYER, AT
    )
    assert line(quote, "gem").final_price == D("1.00")
    assert line(quote, "gem").virtual_price == VirtualPrice("gold", 40)


# -- bonuses ----------------------------------------------------------------------------------


def test_bonuses_are_granted_once_per_cart_for_a_listed_sku_or_any_purchase():
    bonuses = [
        Bonus(promotion_id=1, bonus=[RewardItem("potion", 3)], condition=["sword"], enabled=True),
        Bonus(promotion_id=2, bonus=[RewardItem("potion", 1), RewardItem("gem")], enabled=True),
        Bonus(promotion_id=3, bonus=[RewardItem("x")], condition=["shield"], enabled=True),
    ]
    quote = Pricing(bonuses).quote(cart(("sword", "5.00", 4)), PLAYER, AT)
    assert [(i.sku, i.quantity) for i in quote.bonus_items] == [("potion", 4), ("gem", 1)]
    assert [(a.kind, a.id, a.amount) for a in quote.applied] == [
        (PromotionKind.BONUS, "1", D(0)),
        (PromotionKind.BONUS, "2", D(0)),
    ]
    assert Pricing(bonuses).quote(cart(), PLAYER, AT).bonus_items == ()  # no purchase


def test_a_bonus_price_condition_needs_a_line_priced_to_meet_it():
    big = Bonus(
        promotion_id=1,
        bonus=[RewardItem("chest")],
        price_conditions=[PriceCondition("ge", "20")],
        enabled=True,
    )
    pricing = Pricing([big])
    assert pricing.quote(cart(("a", "19.99"), ("b", "19.99")), PLAYER, AT).bonus_items == ()
    assert pricing.quote(cart(("a", "20.00")), PLAYER, AT).bonus_items == (RewardItem("chest"),)
    virtual = Cart(
        currency="USD", lines=[CartLine(sku="a", virtual_price=VirtualPrice("gold", 99))]
    )
    assert pricing.quote(virtual, PLAYER, AT).bonus_items == ()


def test_a_bonus_on_a_virtual_currency_purchase_of_its_sku():
    gift = Bonus(promotion_id=1, bonus=[RewardItem("chest")], condition=["a"], enabled=True)
    virtual = Cart(currency="USD", lines=[CartLine(sku="a", virtual_price=VirtualPrice("g", 9))])
    assert Pricing([gift]).quote(virtual, PLAYER, AT).bonus_items == (RewardItem("chest"),)


# -- promo codes ------------------------------------------------------------------------------


def test_a_cart_discount_is_gated_by_the_undiscounted_cart_total():
    promo = code(discount_percent="10", price_conditions=[PriceCondition("ge", "20")])
    pricing = Pricing([discount(1, "50", ["a"])], codes={"CODE": promo})
    quote = pricing.quote(cart(("a", "20.00")), PLAYER, AT, promo_code="CODE")
    assert quote.total == D("9.00")  # the 50% discount does not take the cart below the gate
    short = pricing.quote(cart(("a", "19.99")), PLAYER, AT, promo_code="CODE")
    assert short.total == D("10.00")  # 19.99 - 50%, without the code: still priced
    refusal = short.promo_code_refusal
    assert refusal is not None
    assert refusal.error_code is ErrorCode.INVALID_CODE
    assert refusal.reasons[0].message == "cart total is 19.99, needs `ge 20`"
    assert refusal.to_dict()["error_code"] == 9807


def test_discounted_items_take_their_own_percent():
    promo = code(discounted_items=[DiscountedItem("a", "10"), DiscountedItem("b", "30")])
    pricing = Pricing([], codes={"CODE": promo})
    quote = pricing.quote(
        cart(("a", "10.00"), ("b", "10.00"), ("c", "10.00")), PLAYER, AT, promo_code="CODE"
    )
    assert [line(quote, s).final_price for s in "abc"] == [D("9.00"), D("7.00"), D("10.00")]
    assert applied(quote) == {("promocode", "CODE"): D("4.00")}
    assert quote.applied[0].percent is None  # per-item percents differ


def test_item_price_conditions_pick_the_lines_a_code_discounts():
    promo = code(discount_percent="25", item_price_conditions=[PriceCondition("gt", "5")])
    pricing = Pricing([], codes={"CODE": promo})
    quote = pricing.quote(cart(("a", "8.00"), ("b", "4.00")), PLAYER, AT, promo_code="CODE")
    assert [line(quote, s).final_price for s in "ab"] == [D("6.00"), D("4.00")]
    none_pick = pricing.quote(cart(("b", "4.00")), PLAYER, AT, promo_code="CODE")
    assert [r.code for r in none_pick.promo_code_refusal.reasons] == ["no_matching_item"]


def test_a_code_bonus_is_granted_with_the_code():
    promo = code(bonus=[RewardItem("gem", 50)])
    quote = Pricing([], codes={"CODE": promo}).quote(
        cart(("a", "1.00")), PLAYER, AT, promo_code="CODE"
    )
    assert quote.bonus_items == (RewardItem("gem", 50),)
    assert quote.total == D("1.00")
    assert quote.applied == (
        AppliedPromotion(PromotionKind.PROMO_CODE, "CODE", D(0), None, (RewardItem("gem", 50),)),
    )


def test_a_code_that_would_change_nothing_is_refused():
    promo = code(discounted_items=[DiscountedItem("zzz", "10")])
    quote = Pricing([], codes={"CODE": promo}).quote(
        cart(("a", "1.00")), PLAYER, AT, promo_code="CODE"
    )
    assert [r.code for r in quote.promo_code_refusal.reasons] == ["no_matching_item"]


@pytest.mark.parametrize(
    ("typed", "reason", "error"),
    [
        ("NOPE", "unknown_code", ErrorCode.CODE_NOT_FOUND),
        ("no pe!", "malformed_code", ErrorCode.INVALID_CODE),
        ("OLD", "ended", ErrorCode.EXPIRED),
        ("OFF", "disabled", ErrorCode.INVALID_CODE),
        ("RICH", "condition_failed", ErrorCode.INVALID_CODE),
    ],
)
def test_an_unusable_code_is_reported_with_its_liveops_error_and_the_cart_still_priced(
    typed, reason, error
):
    codes = {
        "OLD": code("old", discount_percent="5", window=ValidityWindow(None, AT)),
        "OFF": PromoCode(external_id="off", discount_percent="5"),
        "RICH": code("rich", discount_percent="5", conditions=[NumberCondition("level", "gt", 90)]),
    }
    quote = Pricing([discount(1, "10", ["a"])], codes=codes).quote(
        cart(("a", "10.00")), PLAYER, AT, promo_code=typed
    )
    assert quote.total == D("9.00")
    refusal = quote.promo_code_refusal
    assert refusal is not None
    assert refusal.reasons[0].code == reason
    assert refusal.error_code is error
    assert quote.to_dict()["not_applied"][-1]["error_code"] == int(error)
    assert quote.to_dict()["promo_code"] == typed


def test_codes_match_as_given_unless_a_normalizer_is_set():
    from liveops_rules import normalize_code

    promo = code(discount_percent="10")
    assert (
        Pricing([], codes={"SAVE": promo})
        .quote(cart(("a", "1.00")), PLAYER, AT, promo_code="save")
        .promo_code_refusal
        is not None
    )
    lenient = Pricing([], codes={"SAVE": promo}, code_normalizer=normalize_code)
    assert lenient.quote(cart(("a", "1.00")), PLAYER, AT, promo_code=" save ").total == D("0.90")


def test_the_code_can_be_given_as_the_promotion():
    quote = Pricing([]).quote(
        cart(("a", "1.00")), PLAYER, AT, promo_code=code(discount_percent="10")
    )
    assert quote.total == D("0.90")


def test_a_code_with_a_per_user_limit_needs_a_signed_in_user():
    promo = code(discount_percent="10", redeem_user_limit=1)
    quote = Pricing([], codes={"C": promo}).quote(
        cart(("a", "1.00")), User(None), AT, promo_code="C"
    )
    assert [r.code for r in quote.promo_code_refusal.reasons] == ["sign_in_required"]


# -- exclusions -------------------------------------------------------------------------------


def test_a_code_removes_the_promotions_it_excludes():
    promo = code(discount_percent="5", excluded_promotions=[1])
    pricing = Pricing([discount(1, "50", ["a"]), discount(2, "10", ["a"])], codes={"C": promo})
    quote = pricing.quote(cart(("a", "10.00")), PLAYER, AT, promo_code="C")
    assert line(quote, "a").final_price == D("8.55")
    (excluded,) = quote.not_applied
    assert (excluded.id, excluded.reasons[0].message) == ("1", "excluded by promocode CODE")


def test_a_discount_that_excludes_the_code_keeps_the_code_out():
    promo = PromoCode(external_id="C", promotion_id=77, discount_percent="5", enabled=True)
    pricing = Pricing([discount(1, "50", ["a"], excluded_promotions=[77])], codes={"C": promo})
    quote = pricing.quote(cart(("a", "10.00")), PLAYER, AT, promo_code="C")
    assert quote.total == D("5.00")
    assert quote.promo_code_refusal.reasons[0].code == "excluded"
    assert quote.promo_code_refusal.error_code is ErrorCode.INVALID_CODE
    # ...unless the code excludes that discount first: the code the customer typed wins
    winner = PromoCode(
        external_id="C",
        promotion_id=77,
        discount_percent="5",
        excluded_promotions=[1],
        enabled=True,
    )
    quote = Pricing(pricing.catalog, codes={"C": winner}).quote(
        cart(("a", "10.00")), PLAYER, AT, promo_code="C"
    )
    assert quote.total == D("9.50")


def test_discounts_exclude_each_other_at_once():
    one = discount(1, "10", ["a"], excluded_promotions=[2])
    two = discount(2, "20", ["a"], excluded_promotions=[1])
    three = discount(3, "30", ["a", "b"], excluded_promotions=[4])
    four = discount(4, "40", ["b"])
    quote = Pricing([one, two, three, four]).quote(cart(("a", "10.00"), ("b", "10.00")), PLAYER, AT)
    assert [a.id for a in quote.applied] == ["3"]
    assert {n.id: n.reasons[0].by_id for n in quote.not_applied} == {"1": "2", "2": "1", "4": "3"}


def test_a_promotion_that_does_not_target_the_cart_excludes_nothing():
    other = discount(1, "10", ["zzz"], excluded_promotions=[2])
    quote = Pricing([other, discount(2, "20", ["a"])]).quote(cart(("a", "10.00")), PLAYER, AT)
    assert quote.total == D("8.00")


# -- inputs -----------------------------------------------------------------------------------


def test_cart_inputs_are_validated_with_every_problem():
    with pytest.raises(ValidationError) as caught:
        Cart(
            currency="USD",
            lines=[CartLine(sku="a", price="1.005"), CartLine(sku="a", price="1")],
        )
    assert [p.path for p in caught.value.problems] == ["lines[0].price", "lines[1].sku"]
    with pytest.raises(ValidationError, match="price"):
        CartLine(sku="a", price=1.5)  # a float never becomes money
    with pytest.raises(ValidationError, match="price"):
        CartLine(sku="a", price="-1")
    with pytest.raises(ValidationError, match="a price, a virtual_price or both"):
        CartLine(sku="a")
    with pytest.raises(ValidationError, match="quantity"):
        CartLine(sku="a", price="1", quantity=0)
    with pytest.raises(ValidationError, match="currency"):
        Cart(currency="usd", lines=[])


def test_quote_arguments_are_checked():
    pricing = Pricing([])
    with pytest.raises(NaiveDatetimeError):
        pricing.quote(cart(("a", "1")), PLAYER, datetime(2026, 1, 1))
    with pytest.raises(ValidationError, match="a Cart"):
        pricing.quote({"currency": "USD"}, PLAYER, AT)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="a User"):
        pricing.quote(cart(), "player", AT)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="promo_code"):
        pricing.quote(cart(), PLAYER, AT, promo_code=5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="PromoCode"):
        Pricing([], codes={"X": discount(1, "5", ["a"])})  # type: ignore[dict-item]


def test_the_json_shape_of_a_quote():
    promo = code(discount_percent="5")
    quote = Pricing([discount(1, "10", ["a"])], codes={"C": promo}).quote(
        cart(("a", "10.00", 2)), PLAYER, AT, promo_code="C"
    )
    assert quote.to_dict() == {
        "currency": "USD",
        "total_before": "20.00",
        "total": "17.10",
        "discount": "2.90",
        "lines": [
            {
                "sku": "a",
                "quantity": 2,
                "price": "10.00",
                "final_price": "8.55",
                "total_before": "20.00",
                "total": "17.10",
                "applied": [
                    {"kind": "discount", "id": "1", "amount": "2.00", "percent": "10"},
                    {"kind": "promocode", "id": "CODE", "amount": "0.90", "percent": "5"},
                ],
            }
        ],
        "bonus_items": [],
        "applied": [
            {"kind": "discount", "id": "1", "amount": "2.00", "percent": "10"},
            {"kind": "promocode", "id": "CODE", "amount": "0.90", "percent": "5"},
        ],
        "not_applied": [],
        "promo_code": "C",
    }


def test_a_code_without_ids_is_named_by_the_text_typed():
    anonymous_code = PromoCode(discount_percent="10", enabled=True)
    quote = Pricing([], codes={"TYPED": anonymous_code}).quote(
        cart(("a", "1.00")), PLAYER, AT, promo_code="TYPED"
    )
    assert [a.id for a in quote.applied] == ["TYPED"]


def test_the_largest_cart_is_priced_to_the_last_digit():
    big = "999999999999999.99999999"  # the largest unit price, with 8 decimals
    lines = [CartLine(sku=f"s{i}", price=big, quantity=1_000_000) for i in range(1000)]
    biggest = Cart(currency="XTS", lines=lines, minor_units=8)
    everything = discount(1, "50", [f"s{i}" for i in range(1000)])
    quote = Pricing([everything]).quote(biggest, PLAYER, AT)
    assert quote.total_before == D(big) * 1_000_000 * 1000
    assert quote.total == D("500000000000000.00000000") * 1_000_000 * 1000
    assert quote.to_dict()["total_before"] == "999999999999999999999990.00000000"
    assert quote.discount == quote.total_before - quote.total


def test_codes_given_to_pricing_must_be_codes():
    with pytest.raises(ValidationError, match="codes"):
        Pricing([], codes={"not a code": code(discount_percent="5")})
