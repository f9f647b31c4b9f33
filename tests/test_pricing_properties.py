"""Pricing properties: the indexed pricing equals a naive reading of the rules, the order of
promotions and lines never matters, totals stay within bounds and adding a discount never
raises a price."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liveops_rules import (
    Bonus,
    Cart,
    CartLine,
    DiscountedItem,
    ItemDiscount,
    NumberCondition,
    PriceCondition,
    Pricing,
    PromoCode,
    PromotionLimits,
    RewardItem,
    User,
    VirtualPrice,
    evaluate,
)

AT = datetime(2026, 11, 28, 12, tzinfo=UTC)
SKUS = ("a", "b", "c", "d")
PRICES = ("0.00", "0.01", "0.99", "1.00", "3.33", "5.00", "9.99", "10.00", "19.99", "20.00")
PERCENTS = ("5", "10", "12.5", "15", "20", "33", "33.33", "50", "99.99", "100")
THRESHOLDS = ("1", "5", "9.99", "10", "20", "30")
IDS = range(1, 13)

price_conditions = st.none() | st.lists(
    st.builds(
        PriceCondition,
        st.sampled_from(("eq", "ne", "gt", "ge", "lt", "le")),
        st.sampled_from(THRESHOLDS),
    ),
    min_size=1,
    max_size=2,
)
excluded = st.lists(st.sampled_from(IDS), max_size=2, unique=True) | st.just([])
conditions = st.lists(
    st.builds(NumberCondition, st.just("level"), st.sampled_from(("ge", "lt")), st.just(10)),
    max_size=1,
)
limits = st.none() | st.builds(PromotionLimits, per_user=st.integers(1, 3))
sku_lists = st.none() | st.lists(st.sampled_from(SKUS), min_size=1, max_size=3, unique=True)


@st.composite
def promotion_sets(draw):
    ids = draw(st.lists(st.sampled_from(IDS), max_size=8, unique=True))
    found = []
    for number in ids:
        common = {
            "promotion_id": number,
            "enabled": draw(st.booleans() | st.just(True)),
            "conditions": draw(conditions),
            "price_conditions": draw(price_conditions),
            "limits": draw(limits),
            "excluded_promotions": draw(excluded),
        }
        if draw(st.integers(0, 3)):
            found.append(
                ItemDiscount(
                    discount_percent=draw(st.sampled_from(PERCENTS)),
                    items=draw(sku_lists),
                    **common,
                )
            )
        else:
            found.append(
                Bonus(
                    bonus=[
                        RewardItem(
                            draw(st.sampled_from(("gem", "potion"))), draw(st.integers(1, 3))
                        )
                    ],
                    condition=draw(sku_lists),
                    **common,
                )
            )
    return found


promo_codes = st.none() | st.builds(
    PromoCode,
    external_id=st.just("CODE"),
    promotion_id=st.sampled_from(IDS) | st.none(),
    enabled=st.just(True),
    discount_percent=st.none() | st.sampled_from(PERCENTS),
    discounted_items=st.none()
    | st.lists(
        st.builds(DiscountedItem, st.sampled_from(SKUS), st.sampled_from(PERCENTS)),
        min_size=1,
        max_size=2,
        unique_by=lambda item: item.sku,
    ),
    price_conditions=price_conditions,
    item_price_conditions=price_conditions,
    bonus=st.lists(st.builds(RewardItem, st.just("gem"), st.integers(1, 2)), max_size=1),
    excluded_promotions=excluded,
    conditions=conditions,
)


@st.composite
def carts(draw):
    skus = draw(st.lists(st.sampled_from(SKUS), max_size=4, unique=True))
    lines = []
    for sku in skus:
        quantity = draw(st.integers(1, 5))
        if draw(st.integers(0, 5)):
            lines.append(CartLine(sku=sku, quantity=quantity, price=draw(st.sampled_from(PRICES))))
        else:
            lines.append(
                CartLine(sku=sku, quantity=quantity, virtual_price=VirtualPrice("gold", 10))
            )
    return Cart(currency="USD", lines=lines)


users = st.builds(
    User,
    st.sampled_from(("p1", None)),
    st.fixed_dictionaries({"level": st.sampled_from(("5", "12"))}),
)


# -- a naive reading of the rules, with exact fractions -----------------------------------------


def _targets(promotion, line) -> bool:
    holds = (
        all(c.holds(line.price) for c in promotion.price_conditions or ())
        if line.price is not None
        else not promotion.price_conditions
    )
    if isinstance(promotion, ItemDiscount):
        if line.price is None:
            return False
        if promotion.items is not None:
            return line.sku in promotion.items and holds
        return promotion.price_conditions is not None and holds
    if promotion.condition is not None and line.sku not in promotion.condition:
        return False
    return holds


def naive_quote(promotions, promo, cart, user):
    relevant = [p for p in promotions if any(_targets(p, line) for line in cart.lines)]
    limited = {p.promotion_id for p in relevant if p.limits is not None and p.limits.per_user}
    eligible = [
        p
        for p in relevant
        if evaluate(p, user, AT).eligible and not (user.id is None and p.promotion_id in limited)
    ]
    total_before = sum(
        (x.price * x.quantity for x in cart.lines if x.price is not None), Decimal(0)
    )
    code_percent: dict[str, list[Decimal]] = {}
    if promo is not None:
        usable = evaluate(promo, user, AT).eligible and not (
            user.id is None and promo.redeem_user_limit is not None
        )
        usable = usable and all(c.holds(total_before) for c in promo.price_conditions or ())
        picked = False
        listed = {i.sku: i.percent for i in promo.discounted_items or ()}
        for line in cart.lines:
            if line.price is None:
                continue
            owned = []
            if promo.item_price_conditions is None:
                if promo.discount_percent is not None:
                    owned.append(promo.discount_percent)
            elif all(c.holds(line.price) for c in promo.item_price_conditions):
                picked = True
                if promo.discount_percent is not None:
                    owned.append(promo.discount_percent)
            if line.sku in listed:
                owned.append(listed[line.sku])
            if owned:
                code_percent[line.sku] = owned
        if promo.item_price_conditions is not None and not picked:
            usable = False
        if not (promo.bonus or code_percent):
            usable = False
        if not usable:
            promo, code_percent = None, {}
    removed = set()
    if promo is not None:
        removed = {p.promotion_id for p in eligible if p.promotion_id in promo.excluded_promotions}
    remaining = [p for p in eligible if p.promotion_id not in removed]
    dropped = {
        p.promotion_id
        for p in remaining
        if any(q is not p and p.promotion_id in q.excluded_promotions for q in remaining)
    }
    if promo is not None and any(promo.promotion_id in q.excluded_promotions for q in remaining):
        promo, code_percent = None, {}
    applied = [p for p in remaining if p.promotion_id not in dropped]
    finals = {}
    for line in cart.lines:
        if line.price is None:
            finals[line.sku] = None
            continue
        exact = Fraction(line.price)
        for p in applied:
            if isinstance(p, ItemDiscount) and _targets(p, line):
                exact *= 1 - Fraction(p.discount_percent) / 100
        for percent in code_percent.get(line.sku, ()):
            exact *= 1 - Fraction(percent) / 100
        finals[line.sku] = Decimal(exact.numerator) / Decimal(exact.denominator)
        finals[line.sku] = _round(exact)
    bonus = Counter()
    for p in applied:
        if isinstance(p, Bonus):
            for item in p.bonus:
                bonus[item.sku] += item.quantity
    if promo is not None:
        for item in promo.bonus:
            bonus[item.sku] += item.quantity
    names = {
        ("discount" if isinstance(p, ItemDiscount) else "bonus", str(p.promotion_id))
        for p in applied
    }
    if promo is not None:
        names.add(("promocode", "CODE"))
    return finals, names, bonus


def _round(exact: Fraction) -> Decimal:
    # half-up to cents, on the exact value
    cents = exact * 100
    whole = cents.numerator // cents.denominator
    if cents - whole >= Fraction(1, 2):
        whole += 1
    return (Decimal(whole) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(promotion_sets(), promo_codes, carts(), users)
def test_pricing_equals_a_naive_reading_of_the_rules(promotions, promo, cart, user):
    quote = Pricing(promotions).quote(cart, user, AT, promo_code=promo)
    finals, names, bonus = naive_quote(promotions, promo, cart, user)
    assert {line.sku: line.final_price for line in quote.lines} == finals
    assert {(a.kind.value, a.id) for a in quote.applied} == names
    assert Counter({i.sku: i.quantity for i in quote.bonus_items}) == bonus


@SETTINGS
@given(promotion_sets(), promo_codes, carts(), users, st.randoms(use_true_random=False))
def test_the_order_of_promotions_and_lines_never_matters(promotions, promo, cart, user, rng):
    first = Pricing(promotions).quote(cart, user, AT, promo_code=promo)
    shuffled_promotions = list(promotions)
    rng.shuffle(shuffled_promotions)
    shuffled_lines = list(cart.lines)
    rng.shuffle(shuffled_lines)
    again = Pricing(shuffled_promotions).quote(
        Cart(currency=cart.currency, lines=shuffled_lines), user, AT, promo_code=promo
    )
    assert sorted(first.lines, key=lambda x: x.sku) == sorted(again.lines, key=lambda x: x.sku)
    assert (first.total, first.applied, first.not_applied) == (
        again.total,
        again.applied,
        again.not_applied,
    )
    assert Counter(first.bonus_items) == Counter(again.bonus_items)


@SETTINGS
@given(promotion_sets(), promo_codes, carts(), users)
def test_totals_stay_within_bounds_and_add_up(promotions, promo, cart, user):
    quote = Pricing(promotions).quote(cart, user, AT, promo_code=promo)
    assert Decimal(0) <= quote.total <= quote.total_before
    for line in quote.lines:
        if line.price is not None:
            assert Decimal(0) <= line.final_price <= line.price
            assert line.total == line.final_price * line.quantity
            assert sum(a.amount for a in line.applied) == line.total_before - line.total
            assert all(a.amount >= 0 for a in line.applied)
    assert quote.total == sum((x.total for x in quote.lines if x.total is not None), Decimal(0))
    assert sum(a.amount for a in quote.applied) == quote.discount


@SETTINGS
@given(
    promotion_sets(),
    promo_codes,
    carts(),
    users,
    st.sampled_from(PERCENTS),
    sku_lists,
    price_conditions,
)
def test_adding_a_discount_never_raises_a_price(
    promotions, promo, cart, user, percent, items, prices
):
    before = Pricing(promotions).quote(cart, user, AT, promo_code=promo)
    extra = ItemDiscount(
        promotion_id=99,
        discount_percent=percent,
        items=items,
        price_conditions=prices,
        enabled=True,
    )
    after = Pricing([*promotions, extra]).quote(cart, user, AT, promo_code=promo)
    assert after.total <= before.total
    for old, new in zip(before.lines, after.lines, strict=True):
        if old.final_price is not None:
            assert new.final_price <= old.final_price


def test_a_large_random_catalog_prices_like_the_naive_reading():
    rng = random.Random(7)
    promotions = []
    for number in range(1, 400):
        promotions.append(
            ItemDiscount(
                promotion_id=number,
                discount_percent=rng.choice(PERCENTS[:6]),
                items=rng.sample([f"s{i}" for i in range(60)], 3) if rng.random() < 0.9 else None,
                price_conditions=[PriceCondition("ge", rng.choice(THRESHOLDS))]
                if rng.random() < 0.2
                else None,
                enabled=rng.random() < 0.9,
                excluded_promotions=[rng.randrange(1, 400)] if rng.random() < 0.05 else [],
            )
        )
    pricing = Pricing(promotions)
    user = User("p", {"level": "12"})
    for _ in range(50):
        skus = rng.sample([f"s{i}" for i in range(60)], 8)
        cart = Cart(
            currency="USD",
            lines=[
                CartLine(sku=s, price=rng.choice(PRICES), quantity=rng.randint(1, 3)) for s in skus
            ],
        )
        quote = pricing.quote(cart, user, AT)
        finals, names, _ = naive_quote(promotions, None, cart, user)
        assert {line.sku: line.final_price for line in quote.lines} == finals
        assert {(a.kind.value, a.id) for a in quote.applied} == names
