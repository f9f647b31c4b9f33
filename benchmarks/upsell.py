"""Upsell offers on a 10,000-item catalog with 10,000 discounts.

Run: python benchmarks/upsell.py [--items 10000] [--discounts 10000] [--rounds 200]

The catalog's items each cost 10.00 USD; each discount targets one item (the first half of
the items, twice over) and half of them need the player's `tier` to be `gold`. Timed, best of
`--rounds`, against a floor run in the same process: one pass over the items reading a dict
(what any offer that looks at the catalog at least costs):
- `only_promotions` for a gold player (most items offered: the page fills at once) and for a
  bronze one (half the discounts apply to them);
- `only_promotions` when the discounts are for other players but one, on the catalog's last
  item (the whole catalog walked), and when the catalog has no promotion at all;
- `fixed_list` of 100 SKUs, and `most_sellable` over 30 days of recorded sales (SQLite).
Building the ItemCatalog (once per catalog) is timed too.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from liveops_rules import (  # noqa: E402
    CatalogItem,
    ItemCatalog,
    ItemDiscount,
    Pricing,
    StringCondition,
    Upsell,
    UpsellConfig,
    User,
    ValidityWindow,
    open_store,
)
from liveops_rules.stores import InMemoryStore  # noqa: E402

AT = datetime(2026, 11, 28, 12, tzinfo=UTC)


def best(run: Callable[[], object], rounds: int) -> float:
    spent = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        spent = min(spent, time.perf_counter() - started)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--discounts", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    items = [
        CatalogItem(
            sku=f"item_{n}", name={"en": f"Item {n}"}, price=Decimal("10.00"), currency="USD"
        )
        for n in range(args.items)
    ]
    half = max(1, args.items // 2)
    window = ValidityWindow(AT - timedelta(days=1), None)
    gold = [StringCondition("tier", "eq", "gold")]
    discounts = [
        ItemDiscount(
            promotion_id=n + 1,
            name={"en": f"Discount {n}"},
            discount_percent="10",
            items=[f"item_{n % half}"],
            enabled=True,
            window=window,
            conditions=gold if n % 2 else [],
        )
        for n in range(args.discounts)
    ]
    started = time.perf_counter()
    pricing = Pricing(discounts)
    catalog = ItemCatalog(items, pricing)
    built = time.perf_counter() - started
    by_sku = {item.sku: item for item in items}

    def floor() -> int:
        return sum(1 for item in items if item.sku in by_sku)

    floor_time = best(floor, args.rounds)
    print(f"Python {sys.version.split()[0]}; {args.items} items, {args.discounts} discounts")
    print(f"ItemCatalog + Pricing built in {built * 1e3:.0f} ms (once per catalog)")
    print(f"floor (one pass over the items): {floor_time * 1e6:7.0f} µs")

    upsell = Upsell(InMemoryStore())
    upsell.put(UpsellConfig(type="only_promotions", enabled=True), catalog)
    platinum = [StringCondition("tier", "eq", "platinum")]
    sparse = [attrs.evolve(d, conditions=platinum) for d in discounts]
    sparse.append(
        ItemDiscount(
            promotion_id=len(discounts) + 1,
            name={"en": "Last"},
            discount_percent="5",
            items=[items[-1].sku],
            enabled=True,
            window=window,
        )
    )
    cases = {
        "only_promotions, gold player, 10 a page": (User("g", {"tier": "gold"}), catalog),
        "only_promotions, bronze player": (User("b", {"tier": "bronze"}), catalog),
        "only_promotions, only the last item": (User("x"), ItemCatalog(items, Pricing(sparse))),
        "only_promotions, nothing applies": (User("x"), ItemCatalog(items, Pricing([]))),
    }
    for label, (user, chosen) in cases.items():
        page = upsell.offer(user, AT, chosen)
        spent = best(lambda u=user, c=chosen: upsell.offer(u, AT, c), args.rounds)
        shown = f"{len(page.items)} offered"
        print(f"{label:40}: {spent * 1e6:7.0f} µs ({spent / floor_time:5.2f}x the floor; {shown})")

    upsell.put(
        UpsellConfig(type="fixed_list", enabled=True, items=[i.sku for i in items[:100]]), catalog
    )
    spent = best(lambda: upsell.offer(User("g", {"tier": "gold"}), AT, catalog), args.rounds)
    print(f"{'fixed_list of 100':40}: {spent * 1e6:7.0f} µs ({spent / floor_time:5.2f}x the floor)")

    with tempfile.TemporaryDirectory() as directory:
        store = open_store(f"sqlite:///{Path(directory) / 'sales.db'}?synchronous=NORMAL")
        try:
            sold = Upsell(store)
            sold.put(UpsellConfig(type="most_sellable", enabled=True), catalog)
            for day in range(30):
                lines = [(f"item_{(day * 7 + k) % args.items}", k + 1) for k in range(20)]
                sold.record_sale(f"order-{day}", lines, AT - timedelta(days=day))
            spent = best(lambda: sold.offer(User("g"), AT, catalog), max(1, args.rounds // 4))
            print(
                f"{'most_sellable, 30 days (SQLite)':40}: {spent * 1e6:7.0f} µs "
                f"({spent / floor_time:5.2f}x the floor)"
            )
        finally:
            store.close()


if __name__ == "__main__":
    main()
