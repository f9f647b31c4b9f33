"""One promotion, one player: `is_eligible` and `evaluate` against a naive interpreter.

Run: python benchmarks/single_check.py [--promotions 10000] [--users 50] [--rounds 5]

The naive interpreter is what a backend would write in an afternoon: each promotion's
conditions as (attribute, type, operator, value, can_be_missing) tuples with the condition
values converted once, and per check a loop that reads the attribute, converts it (numbers
with `int`/`Decimal`, dates with `fromisoformat`) and compares. It checks the enabled flag and
the window as the library does. Its answers are compared with the library's on every
(promotion, player) before anything is timed: a benchmark never times wrong answers.

Prints ns per check (median of `--rounds` interleaved rounds) for: the catalog workload of
`catalog_eligibility.py` (1..6 conditions, values sent as text, then as typed values), one
6-condition promotion that applies, and `evaluate` of it for a player failing 4 conditions
(with and without reading the reasons). Ratios are library / naive: below 1 is faster.
"""

from __future__ import annotations

import argparse
import operator as op
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from catalog_eligibility import NOW, make_catalog, make_users, six_condition_case

from liveops_rules import (
    Promotion,
    User,
    evaluate,
    is_eligible,
)

_OPERATORS: dict[str, Callable[[object, object], bool]] = {
    "eq": op.eq,
    "ne": op.ne,
    "gt": op.gt,
    "ge": op.ge,
    "lt": op.lt,
    "le": op.le,
}
NaiveCondition = tuple[str, str, Callable[[object, object], bool], object, bool]


def _number(raw: object) -> object:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | Decimal):
        return raw
    if isinstance(raw, str):
        try:
            return int(raw)
        except ValueError:
            try:
                value = Decimal(raw)
            except InvalidOperation:
                return None
            return value if value.is_finite() else None
    return None


def _date(raw: object) -> object:
    if isinstance(raw, datetime | date):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw) if len(raw) == 10 else datetime.fromisoformat(raw)
        except ValueError:
            return None
    return None


class Naive:
    """The naive interpreter of one promotion's enabled flag, window and conditions."""

    def __init__(self, promotion: Promotion) -> None:
        self.enabled = promotion.enabled
        self.start = promotion.window.start
        self.end = promotion.window.end
        self.conditions: list[NaiveCondition] = []
        for condition in promotion.conditions:
            kind = condition.type_name
            self.conditions.append(
                (
                    condition.attribute,
                    kind,
                    _OPERATORS[condition.operator.value],
                    condition.value,
                    condition.can_be_missing,
                )
            )

    def eligible(self, attributes: dict[str, object], at: datetime) -> bool:
        if not self.enabled:
            return False
        if (self.start is not None and at < self.start) or (
            self.end is not None and at >= self.end
        ):
            return False
        for attribute, kind, compare, expected, can_be_missing in self.conditions:
            raw = attributes.get(attribute)
            if raw is None:
                if can_be_missing:
                    continue
                return False
            if kind == "string":
                value: object = raw if isinstance(raw, str) else None
            elif kind == "number":
                value = _number(raw)
            else:
                value = _date(raw)
            if value is None or not compare(value, expected):
                return False
        return True


def _typed(user: User) -> User:
    """The same player with numbers and dates as Python values instead of text."""
    attributes: dict[str, object] = {}
    for name, raw in user.attributes.items():
        if name in ("level", "spent_usd"):
            attributes[name] = int(str(raw))
        elif name == "registered":
            attributes[name] = date.fromisoformat(str(raw))
        else:
            attributes[name] = raw
    return User(user.id, attributes)


def _rounds(timers: Sequence[Callable[[], float]], rounds: int) -> list[float]:
    """Median seconds of each timer, rounds interleaved so that load hits all alike."""
    samples: list[list[float]] = [[] for _ in timers]
    for _ in range(rounds):
        for index, timer in enumerate(timers):
            samples[index].append(timer())
    return [statistics.median(s) for s in samples]


def workload(promotions: list[Promotion], users: list[User], rounds: int, label: str) -> None:
    naive = [Naive(p) for p in promotions]
    plain = [dict(u.attributes) for u in users]
    for user, attributes in zip(users, plain, strict=True):  # answers first
        for promotion, interpreter in zip(promotions, naive, strict=True):
            expected = interpreter.eligible(attributes, NOW)
            if is_eligible(promotion, user, NOW) is not expected:
                raise SystemExit(f"mismatch: {promotion.key} for {user}: naive says {expected}")
    checks = len(promotions) * len(users)

    def library() -> float:
        started = time.perf_counter()
        for user in users:
            for promotion in promotions:
                is_eligible(promotion, user, NOW)
        return time.perf_counter() - started

    def interpreter() -> float:
        started = time.perf_counter()
        for attributes in plain:
            for each in naive:
                each.eligible(attributes, NOW)
        return time.perf_counter() - started

    ours, theirs = _rounds([library, interpreter], rounds)
    print(
        f"{label:<44} is_eligible {ours / checks * 1e9:7.0f} ns  naive "
        f"{theirs / checks * 1e9:7.0f} ns  ratio {ours / theirs:5.2f}"
    )


def six_conditions(rounds: int) -> None:
    promotion, passing, failing, at = six_condition_case()
    interpreter = Naive(promotion)
    plain = dict(passing.attributes)
    assert interpreter.eligible(plain, at)
    assert is_eligible(promotion, passing, at)
    assert not evaluate(promotion, failing, at).eligible
    assert len(evaluate(promotion, failing, at).reasons) == 4
    count = 100_000

    def timer(call: Callable[[], object]) -> Callable[[], float]:
        def run() -> float:
            started = time.perf_counter()
            for _ in range(count):
                call()
            return (time.perf_counter() - started) / count

        return run

    figures = _rounds(
        [
            timer(lambda: is_eligible(promotion, passing, at)),
            timer(lambda: interpreter.eligible(plain, at)),
            timer(lambda: evaluate(promotion, passing, at)),
            timer(lambda: evaluate(promotion, failing, at)),
            timer(lambda: evaluate(promotion, failing, at).reasons),
            timer(lambda: [r.message for r in evaluate(promotion, failing, at).reasons]),
        ],
        rounds,
    )
    ours, theirs, applies, fails, reasons, messages = (f * 1e9 for f in figures)
    print(
        f"6 conditions, all pass: is_eligible {ours:6.0f} ns  naive {theirs:6.0f} ns  "
        f"ratio {ours / theirs:5.2f}"
    )
    print(f"evaluate, 6 conditions, eligible        {applies:6.0f} ns")
    print(f"evaluate, 6 conditions, 4 failing       {fails:6.0f} ns")
    print(f"  ... and its 4 reasons read            {reasons:6.0f} ns")
    print(f"  ... and their 4 messages rendered     {messages:6.0f} ns")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--promotions", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}; median of {args.rounds} interleaved rounds")
    promotions: list[Promotion] = make_catalog(args.promotions, seed=1)  # type: ignore[assignment]
    users = make_users(args.users, seed=7)
    workload(promotions, users, args.rounds, f"{args.promotions:,} promotions, values as text")
    typed = [_typed(u) for u in users]
    workload(promotions, typed, args.rounds, f"{args.promotions:,} promotions, typed values")
    six_conditions(args.rounds)


if __name__ == "__main__":
    main()
