"""Catalog eligibility: the indexed Catalog against a naive per-promotion loop, same process.

Run: python benchmarks/catalog_eligibility.py [--sizes 1000 10000 100000] [--users 200]
     [--periods N]  (N > 1: every promotion runs in N periods, LiveOps v3)
     [--workloads basic heavy selective] [--heavy-sizes 10000 100000] [--million]
     [--cache-mib 64] [--builds 3]

Prints, for each catalog size P: build time (median of 3), memory the index adds on top of
the promotions themselves (tracemalloc, on a separate build), µs per user
for the catalog (first pass, caches cold; second pass, warm) and for the naive loop, and the
ratio. Then the cost of one `evaluate` of a 6-condition promotion. Timings are noisy on a
shared machine; the ratios, measured in the same run, are what to compare.

The heavy workload (issue 20): 100 attributes (60 text, 30 number, 10 date), 0..100
conditions a promotion (mean ~6), 1,000 distinct values per attribute, 200 players, each
run twice: values as text (as LiveOps sends them) and typed (int / float / Decimal numbers,
date / aware datetime in several offsets). The selective workload: every promotion requires
`campaign eq <one of 1,000 values>`, so a player gets ~P/1,000 x (the share open) results.
Each is compared with the naive loop in the same process (answers checked first), at
`--heavy-sizes` (1,000,000 promotions only with `--million`), with `--cache-mib` MiB of
caches (the catalog's default unless told). Their build is the median of `--builds`, with
the read floor: one pass over the promotions reading what the index is built from.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from liveops_rules import (
    Catalog,
    Coupon,
    DateCondition,
    ItemDiscount,
    NumberCondition,
    Operator,
    Period,
    StringCondition,
    User,
    ValidityWindow,
    evaluate,
    is_eligible,
)
from liveops_rules._attribute_index import AttributeIndex
from liveops_rules._failing import Failing

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
STRING_ATTRIBUTES = {
    name: [f"{name}_{i}" for i in range(size)]
    for name, size in (
        ("country", 50),
        ("tier", 4),
        ("platform", 5),
        ("segment", 12),
        ("language", 20),
        ("cohort", 30),
    )
}
NUMBER_ATTRIBUTES = {"level": (1, 100), "spent_usd": (0, 2000)}
DATE_ATTRIBUTE = "registered"


def make_condition(rng: random.Random) -> object:
    can_be_missing = rng.random() < 0.3
    roll = rng.random()
    if roll < 0.7:
        name = rng.choice(list(STRING_ATTRIBUTES))
        operator = "eq" if rng.random() < 0.6 else "ne"
        value = rng.choice(STRING_ATTRIBUTES[name])
        return StringCondition(name, operator, value, can_be_missing=can_be_missing)
    if roll < 0.9:
        name = rng.choice(list(NUMBER_ATTRIBUTES))
        low, high = NUMBER_ATTRIBUTES[name]
        operator = rng.choice(("eq", "ne", "gt", "ge", "lt", "le"))
        return NumberCondition(
            name, operator, rng.randint(low, high), can_be_missing=can_be_missing
        )
    operator = rng.choice(("eq", "ne", "gt", "ge", "lt", "le"))
    value = date(2020, 1, 1) + timedelta(days=rng.randint(0, 2500))
    return DateCondition(DATE_ATTRIBUTE, operator, value, can_be_missing=can_be_missing)


def make_window(rng: random.Random) -> ValidityWindow:
    roll = rng.random()
    hours = timedelta(hours=rng.randint(1, 2000))
    if roll < 0.4:
        return ValidityWindow()
    if roll < 0.7:
        return ValidityWindow(NOW - hours, NOW + timedelta(hours=rng.randint(1, 2000)))
    if roll < 0.85:
        return ValidityWindow(NOW - 2 * hours, NOW - hours)
    return ValidityWindow(NOW + hours, None)


def make_periods(rng: random.Random, count: int) -> ValidityWindow:
    """`count` periods, not overlapping, within 2000 hours either side of NOW."""
    hours = sorted(rng.sample(range(-2000, 2000), 2 * count))
    return ValidityWindow.of_periods(
        Period(NOW + timedelta(hours=hours[2 * i]), NOW + timedelta(hours=hours[2 * i + 1]))
        for i in range(count)
    )


def make_promotion(index: int, common: dict[str, object]) -> object:
    """Promotion `index`: a coupon when odd, an item discount when even, with `common`."""
    if index % 2:
        return Coupon(external_id=f"coupon_{index}", **common)  # type: ignore[arg-type]
    return ItemDiscount(promotion_id=index + 1, discount_percent=Decimal(10), **common)  # type: ignore[arg-type]


def make_catalog(size: int, seed: int, periods: int = 1) -> list[object]:
    rng = random.Random(seed)
    promotions: list[object] = []
    for index in range(size):
        common = {
            "window": make_window(rng) if periods <= 1 else make_periods(rng, periods),
            "conditions": [make_condition(rng) for _ in range(rng.randint(1, 6))],
            "enabled": rng.random() >= 0.1,
        }
        promotions.append(make_promotion(index, common))
    return promotions


def make_users(count: int, seed: int) -> list[User]:
    rng = random.Random(seed)
    users = []
    for index in range(count):
        attributes: dict[str, object] = {}
        for name, values in STRING_ATTRIBUTES.items():
            if rng.random() >= 0.2:
                attributes[name] = rng.choice(values)
        for name, (low, high) in NUMBER_ATTRIBUTES.items():
            if rng.random() >= 0.2:
                attributes[name] = str(rng.randint(low, high))  # LiveOps sends strings
        if rng.random() >= 0.2:
            day = date(2020, 1, 1) + timedelta(days=rng.randint(0, 2500))
            attributes[DATE_ATTRIBUTE] = day.isoformat()
        users.append(User(f"user_{index}", attributes))
    return users


def per_user_seconds(function: object, users: list[User]) -> float:
    started = time.perf_counter()
    for user in users:
        function(user)  # type: ignore[operator]
    return (time.perf_counter() - started) / len(users)


def measure(size: int, user_count: int, periods: int = 1) -> None:
    promotions = make_catalog(size, seed=size, periods=periods)
    users = make_users(user_count, seed=7)
    build = sorted(build_seconds(promotions, 3))[1]  # the median of three
    gc.collect()
    tracemalloc.start()  # memory is measured on a separate build: tracing slows building
    catalog = Catalog(promotions)  # type: ignore[arg-type]
    index_bytes, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    def indexed(user: User) -> list[object]:
        return catalog.eligible(user, NOW)  # type: ignore[return-value]

    def naive(user: User) -> list[object]:
        return [p for p in promotions if is_eligible(p, user, NOW)]  # type: ignore[arg-type]

    cold = per_user_seconds(indexed, users)
    warm = per_user_seconds(indexed, users)
    naive_users = users[: max(10, min(user_count, 2_000_000 // size))]
    slow = per_user_seconds(naive, naive_users)
    for user in naive_users:  # the index must give exactly the naive answer
        assert indexed(user) == naive(user), user
    matched = sum(len(indexed(u)) for u in users) / len(users)
    # A new moment crosses promotions' starts and ends: its window set is built on first use.
    moments = [NOW + timedelta(minutes=37 * n) for n in range(1, 41)]
    started = time.perf_counter()
    for moment in moments:
        catalog.eligible(users[0], moment)
    new_moment = (time.perf_counter() - started) / len(moments)
    label = f"P={size:>7,}" + (f" x{periods} periods" if periods > 1 else "")
    print(
        f"{label}  build {build:6.2f} s  index {index_bytes / size:7.0f} B/promotion  "
        f"catalog {cold * 1e6:9.1f} µs/user cold, {warm * 1e6:9.1f} warm  "
        f"naive {slow * 1e6:11.1f} µs/user  ratio {slow / warm:6.1f}x warm, "
        f"{slow / cold:6.1f}x cold  ({matched:.0f} eligible/user); "
        f"first query at a new moment {new_moment * 1e6:8.1f} µs"
    )


def six_condition_case() -> tuple[Coupon, User, User, datetime]:
    """One promotion with six conditions (string, number, date; numbers and dates sent as
    text), a player who meets them all, one who fails four, and a moment it runs."""
    conditions = [
        StringCondition("tier", "ne", "tier_0"),
        NumberCondition("level", "ge", 10),
        DateCondition("registered", "lt", "2026-01-01"),
        StringCondition("country", "eq", "country_1"),
        NumberCondition("spent_usd", "gt", "99.5"),
        StringCondition("platform", "eq", "platform_1", can_be_missing=True),
    ]
    promotion = Coupon(
        external_id="six", enabled=True, window=ValidityWindow(NOW, None), conditions=conditions
    )
    passing = User(
        "u",
        {
            "tier": "tier_2",
            "level": "12",
            "registered": "2025-05-01",
            "country": "country_1",
            "spent_usd": "100",
        },
    )
    failing = User(  # fails tier, level (not a number), registered (missing) and platform
        "u",
        {
            "tier": "tier_0",
            "level": "x",
            "country": "country_1",
            "spent_usd": "100",
            "platform": "platform_3",
        },
    )
    return promotion, passing, failing, NOW + timedelta(hours=1)


def measure_evaluate() -> None:
    promotion, passing, failing, at = six_condition_case()
    for label, user in (("eligible", passing), ("4 reasons", failing)):
        rounds = 200_000
        started = time.perf_counter()
        for _ in range(rounds):
            _ = evaluate(promotion, user, at).reasons
        each = (time.perf_counter() - started) / rounds
        print(f"evaluate, 6 conditions, {label:<9}: {each * 1e6:5.2f} µs")


HEAVY_KINDS = ["text"] * 60 + ["number"] * 30 + ["date"] * 10  # 100 attributes
HEAVY_VALUES = 1_000
DAY0 = date(2023, 1, 1)
ZONES = (UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5)))


def heavy_condition(rng: random.Random, attribute: int) -> object:
    name, kind = f"a{attribute}", HEAVY_KINDS[attribute]
    can_be_missing = rng.random() < 0.3
    if kind == "text":
        operator = "eq" if rng.random() < 0.2 else "ne"
        value = f"{name}_{rng.randrange(HEAVY_VALUES)}"
        return StringCondition(name, operator, value, can_be_missing=can_be_missing)
    operator = rng.choice(("eq", "ne", "gt", "ge", "lt", "le", "ge", "le"))
    if kind == "number":
        threshold = rng.randrange(HEAVY_VALUES)
        return NumberCondition(name, operator, threshold, can_be_missing=can_be_missing)
    day = DAY0 + timedelta(days=rng.randrange(HEAVY_VALUES))
    return DateCondition(name, operator, day, can_be_missing=can_be_missing)


def make_heavy_catalog(size: int, seed: int, selective: bool) -> list[object]:
    rng = random.Random(seed)
    promotions: list[object] = []
    for index in range(size):
        count = min(100, int(rng.expovariate(1 / 6.5)))  # 0..100, mean ~6
        conditions = [heavy_condition(rng, a) for a in rng.sample(range(100), count)]
        window = make_window(rng)
        if selective:  # a required campaign, and the heavy conditions that rarely fail (ne)
            value = f"campaign_{rng.randrange(HEAVY_VALUES)}"
            rare = [c for c in conditions if c.operator is Operator.NE]  # type: ignore[attr-defined]
            conditions = [StringCondition("campaign", "eq", value), *rare]
            window = ValidityWindow()
        common = {"window": window, "conditions": conditions, "enabled": True}
        promotions.append(make_promotion(index, common))
    return promotions


def make_heavy_users(count: int, seed: int, typed: bool) -> list[User]:
    """`count` players; the same ones (same seed) whether `typed` or as text."""
    rng = random.Random(seed)
    users = []
    for index in range(count):
        attributes: dict[str, object] = {"campaign": f"campaign_{rng.randrange(HEAVY_VALUES)}"}
        for attribute, kind in enumerate(HEAVY_KINDS):
            name, pick, style = f"a{attribute}", rng.randrange(HEAVY_VALUES), rng.randrange(3)
            if rng.random() < 0.2:
                continue
            if kind == "text":
                attributes[name] = f"{name}_{pick}"
            elif kind == "number":
                number = (pick, pick + 0.5, Decimal(pick) + Decimal("0.25"))[style]
                attributes[name] = number if typed else str(number)
            else:
                day = DAY0 + timedelta(days=pick)
                moment = datetime(day.year, day.month, day.day, 12, tzinfo=ZONES[style])
                value: object = day if style == 0 else moment
                attributes[name] = value if typed else value.isoformat()  # type: ignore[attr-defined]
        users.append(User(f"player_{index}", attributes))
    return users


def floor_seconds(catalog: Catalog, users: list[User]) -> float:
    """Per player, the floor of a query: every attribute's answer at hand (computed
    beforehand), only ORed together, then the running promotions less the failing ones."""
    indexes = catalog._attributes  # a benchmark may read the internals it measures

    def answer(index: AttributeIndex, raw: object) -> int:
        found = Failing()
        index.collect(raw, found)
        return found.bits(len(catalog), catalog._shared)

    answers = [
        [answer(index, user.attributes.get(name)) for name, index in indexes.items()]
        for user in users
    ]
    base = catalog._active(NOW)

    def query(found: list[int]) -> int:
        failing = 0
        for bits in found:
            failing |= bits
        return (base ^ (base & failing)).bit_count()

    return per_user_seconds(query, answers)  # type: ignore[arg-type]


def read_floor_seconds(promotions: list[object]) -> float:
    """One pass over the promotions reading what an index is built from: each promotion's
    kind, key, flags and periods, and each condition's attribute, operator, value (hashed)
    and flag. Its cost per promotion grows with P only as reading memory does."""
    started = time.perf_counter()
    seen = 0
    for promotion in promotions:
        seen ^= hash((promotion.kind, promotion.key, promotion.enabled))  # type: ignore[attr-defined]
        seen ^= len(promotion.window.all_periods)  # type: ignore[attr-defined]
        for condition in promotion.conditions:  # type: ignore[attr-defined]
            seen ^= hash(condition.attribute) ^ hash(condition.value) ^ id(condition.operator)
            seen ^= condition.can_be_missing
    return time.perf_counter() - started


def build_seconds(promotions: list[object], builds: int) -> list[float]:
    """Seconds of `builds` builds of the catalog, each after a full collection."""
    times = []
    for _ in range(builds):
        gc.collect()
        started = time.perf_counter()
        catalog = Catalog(promotions)  # type: ignore[arg-type]
        times.append(time.perf_counter() - started)
        del catalog
    return times


def measure_heavy(
    size: int, user_count: int, selective: bool, cache_bytes: int | None, builds: int = 3
) -> None:
    promotions = make_heavy_catalog(size, seed=size + 20, selective=selective)
    conditions = sum(len(p.conditions) for p in promotions) / size  # type: ignore[attr-defined]
    times = build_seconds(promotions, builds)
    build = sorted(times)[len(times) // 2]
    read = min(read_floor_seconds(promotions) for _ in range(3))
    gc.collect()
    tracemalloc.start()  # memory is measured on a separate build: tracing slows building
    catalog = Catalog(promotions, cache_bytes=0)  # type: ignore[arg-type]
    index_bytes, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del catalog
    label = "selective" if selective else "heavy"
    print(
        f"{label} P={size:>9,}  build {build:6.2f} s ({build / size * 1e6:.1f} µs/promotion,"
        f" median of {builds}: {' '.join(f'{t / size * 1e6:.1f}' for t in times)};"
        f" {build / read:.1f}x the read floor {read / size * 1e6:.2f})"
        f"  index {index_bytes / size:5.0f} B/promotion  {conditions:.1f} conditions/promotion"
    )
    for typed in (False, True):
        users = make_heavy_users(user_count, seed=11, typed=typed)
        catalog = Catalog(promotions, cache_bytes=cache_bytes)  # type: ignore[arg-type]

        def naive(user: User) -> list[object]:
            return [p for p in promotions if is_eligible(p, user, NOW)]  # type: ignore[arg-type]

        naive_users = users[: max(5, min(user_count, 1_000_000 // size))]
        for user in naive_users:  # the index must give exactly the naive answer
            assert catalog.eligible(user, NOW) == naive(user), user
        catalog = Catalog(promotions, cache_bytes=cache_bytes)  # type: ignore[arg-type]
        lazy_cold = per_user_seconds(lambda u, c=catalog: len(c.eligible_set(u, NOW)), users)
        lazy = per_user_seconds(lambda u, c=catalog: len(c.eligible_set(u, NOW)), users)
        warm = per_user_seconds(lambda u, c=catalog: c.eligible(u, NOW), users)
        floor = floor_seconds(catalog, users)
        catalog = Catalog(promotions, cache_bytes=0)  # type: ignore[arg-type]
        uncached = per_user_seconds(lambda u, c=catalog: len(c.eligible_set(u, NOW)), users)
        slow = per_user_seconds(naive, naive_users)
        matched = sum(len(catalog.eligible(u, NOW)) for u in users) / len(users)
        print(
            f"  {'typed' if typed else 'text ':<5} values  eligible_set+len"
            f" {lazy_cold * 1e6:9.1f} µs/player cold, {lazy * 1e6:8.1f} warm"
            f" ({lazy / size * 1e9:.2f} ns a promotion, {lazy / floor:.1f}x the floor"
            f" {floor * 1e6:.1f}), {uncached * 1e6:8.1f} uncached;"
            f"  eligible warm {warm * 1e6:9.1f};  naive {slow * 1e6:11.1f}"
            f"  ratio {slow / warm:6.1f}x eligible warm, {slow / lazy:7.1f}x eligible_set warm"
            f"  ({matched:.1f} eligible/player)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--periods", type=int, default=1, help="periods per promotion")
    parser.add_argument(
        "--workloads",
        nargs="+",
        choices=("basic", "heavy", "selective"),
        default=["basic", "heavy", "selective"],
    )
    parser.add_argument("--heavy-sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--million", action="store_true", help="heavy sizes also 1,000,000")
    parser.add_argument(
        "--cache-mib", type=int, default=None, help="heavy catalogs' cache_bytes (default: theirs)"
    )
    parser.add_argument("--builds", type=int, default=3, help="heavy catalog builds timed")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}; {args.users} users; at {NOW.isoformat()}")
    if "basic" in args.workloads:
        for size in args.sizes:
            measure(size, args.users, args.periods)
        measure_evaluate()
    heavy_sizes = args.heavy_sizes + ([1_000_000] if args.million else [])
    for workload in ("heavy", "selective"):
        if workload in args.workloads:
            for size in heavy_sizes:
                selective = workload == "selective"
                budget = None if args.cache_mib is None else args.cache_mib * 1024 * 1024
                measure_heavy(size, args.users, selective, budget, args.builds)


if __name__ == "__main__":
    main()
