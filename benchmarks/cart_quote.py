"""Cart quotes: `Pricing.quote` of a 10-line cart against 1,000 and 10,000 active discounts,
against a naive quote that checks every promotion (same process, same carts and users).

Run: python benchmarks/cart_quote.py [--sizes 1000 10000] [--quotes 2000]

The catalog: P enabled, active item discounts over 5,000 SKUs (each lists 1-5 SKUs; one in
500 targets a price point instead), 30% with 1-2 attribute conditions, 3% excluding another
discount, plus P/20 bonuses. At 10,000 a line has about 6 discounts listing its SKU and 3
targeting its price. Each quote prices 10 random lines for one of 500 users, half of
them with a promo code. Prints µs per quote for the first pass over the users (caches cold)
and a second pass (warm), the naive loop's µs and the ratio. The machine is noisy: compare
the ratios, measured in the same run.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from liveops_rules import (
    Bonus,
    Cart,
    CartLine,
    ItemDiscount,
    NumberCondition,
    PriceCondition,
    Pricing,
    PromoCode,
    RewardItem,
    StringCondition,
    User,
    is_eligible,
)
from liveops_rules.money import round_money

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
SKUS = [f"sku_{i}" for i in range(5000)]
PRICES = [Decimal(p) for p in ("0.99", "1.99", "4.99", "9.99", "19.99", "49.99", "99.99")]
TIERS = ["bronze", "silver", "gold", "platinum"]
COUNTRIES = [f"C{i}" for i in range(40)]


def make_conditions(rng: random.Random) -> list[object]:
    if rng.random() >= 0.3:
        return []
    found: list[object] = []
    for _ in range(rng.randint(1, 2)):
        roll = rng.random()
        if roll < 0.4:
            found.append(StringCondition("tier", rng.choice(["eq", "ne"]), rng.choice(TIERS)))
        elif roll < 0.7:
            found.append(StringCondition("country", "ne", rng.choice(COUNTRIES)))
        else:
            found.append(NumberCondition("level", rng.choice(["ge", "lt"]), rng.randint(1, 60)))
    return found


def make_catalog(size: int, rng: random.Random) -> list[object]:
    promotions: list[object] = []
    for number in range(1, size + 1):
        by_price = rng.random() < 0.002
        promotions.append(
            ItemDiscount(
                promotion_id=number,
                discount_percent=rng.choice(["5", "10", "15", "20", "25", "33.33"]),
                items=None if by_price else rng.sample(SKUS, rng.randint(1, 5)),
                price_conditions=([PriceCondition("eq", rng.choice(PRICES))] if by_price else None),
                conditions=make_conditions(rng),
                excluded_promotions=[rng.randint(1, size)] if rng.random() < 0.03 else [],
                enabled=True,
            )
        )
    for number in range(size + 1, size + size // 20 + 1):
        promotions.append(
            Bonus(
                promotion_id=number,
                bonus=[RewardItem("gem", rng.randint(1, 50))],
                condition=rng.sample(SKUS, rng.randint(1, 3)),
                conditions=make_conditions(rng),
                enabled=True,
            )
        )
    return promotions


def make_user(rng: random.Random, index: int) -> User:
    return User(
        f"user-{index}",
        {
            "tier": rng.choice(TIERS),
            "country": rng.choice(COUNTRIES),
            "level": str(rng.randint(1, 80)),
        },
    )


def make_cart(rng: random.Random) -> Cart:
    return Cart(
        currency="USD",
        lines=[
            CartLine(sku=sku, price=rng.choice(PRICES), quantity=rng.randint(1, 3))
            for sku in rng.sample(SKUS, 10)
        ],
    )


def naive_total(
    promotions: list[object], code: PromoCode | None, cart: Cart, user: User
) -> Decimal:
    """The rules applied by checking every promotion against every line (no index)."""
    targets: dict[int, list[int]] = {}
    for index, promotion in enumerate(promotions):
        assert isinstance(promotion, ItemDiscount | Bonus)
        hit = []
        for position, line in enumerate(cart.lines):
            price = line.price
            assert price is not None
            holds = all(c.holds(price) for c in promotion.price_conditions or ())
            if isinstance(promotion, ItemDiscount):
                listed = promotion.items is not None and line.sku in promotion.items
                if holds and (listed or (promotion.items is None and promotion.price_conditions)):
                    hit.append(position)
            elif holds and (promotion.condition is None or line.sku in promotion.condition):
                hit.append(position)
        if hit and is_eligible(promotion, user, NOW):  # type: ignore[arg-type]
            targets[index] = hit
    usable = code is not None and is_eligible(code, user, NOW)
    removed = set()
    if usable:
        assert code is not None
        removed = {i for i in targets if promotions[i].promotion_id in code.excluded_promotions}  # type: ignore[attr-defined]
    remaining = {i: hit for i, hit in targets.items() if i not in removed}
    excluded = {
        number
        for i in remaining
        for number in promotions[i].excluded_promotions  # type: ignore[attr-defined]
        if number != promotions[i].promotion_id  # type: ignore[attr-defined]
    }
    total = Decimal(0)
    for position, line in enumerate(cart.lines):
        assert line.price is not None
        unit = line.price
        for i, hit in remaining.items():
            promotion = promotions[i]
            if (
                position in hit
                and isinstance(promotion, ItemDiscount)
                and promotion.promotion_id not in excluded
            ):
                unit = unit * (100 - promotion.discount_percent) / 100
        if usable and code is not None and code.discount_percent is not None:
            unit = unit * (100 - code.discount_percent) / 100
        total += round_money(unit, 2) * line.quantity
    return total


def run(size: int, quotes: int) -> None:
    rng = random.Random(size)
    promotions = make_catalog(size, rng)
    code = PromoCode(external_id="SAVE5", discount_percent="5", enabled=True)
    started = time.perf_counter()
    pricing = Pricing(promotions, codes={"SAVE5": code})  # type: ignore[arg-type]
    build = time.perf_counter() - started
    users = [make_user(rng, i) for i in range(500)]
    work = [
        (make_cart(rng), users[i % len(users)], "SAVE5" if i % 2 else None) for i in range(quotes)
    ]
    for cart, user, typed in work[:200]:  # the indexed quote and the naive one agree
        expected = naive_total(promotions, code if typed else None, cart, user)
        assert pricing.quote(cart, user, NOW, promo_code=typed).total == expected

    def timed(job: object, items: list[tuple[Cart, User, str | None]]) -> float:
        gc.collect()
        begin = time.perf_counter()
        for cart, user, typed in items:
            job(cart, user, typed)  # type: ignore[operator]
        return (time.perf_counter() - begin) / len(items) * 1e6

    fresh = Pricing(promotions, codes={"SAVE5": code})  # type: ignore[arg-type]
    cold = timed(lambda c, u, t: fresh.quote(c, u, NOW, promo_code=t), work[:500])
    warm_runs = [
        timed(lambda c, u, t: pricing.quote(c, u, NOW, promo_code=t), work) for _ in range(3)
    ]
    warm = statistics.median(warm_runs)
    sample = work[:: max(1, quotes // 100)]
    naive = timed(lambda c, u, t: naive_total(promotions, code if t else None, c, u), sample)
    print(
        f"P={size:>6}  build {build * 1000:7.1f} ms  quote cold {cold:7.1f} µs"
        f"  warm {warm:7.1f} µs  naive {naive:9.1f} µs  naive/warm {naive / warm:6.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--quotes", type=int, default=2000)
    args = parser.parse_args()
    for size in args.sizes:
        run(size, args.quotes)


if __name__ == "__main__":
    main()
