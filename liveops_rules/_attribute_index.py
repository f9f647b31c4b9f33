"""For one attribute, the set of promotions whose conditions on it a given value fails.

String conditions are answered from sets precomputed per value. Number and date conditions
are ordered comparisons: for each operator the conditions are sorted by threshold, so the
ones a value fails form a prefix of that order, found by bisection and read from
`PrefixBits`. The answers equal the conditions' own `status` (a property test checks it).
"""

from __future__ import annotations

import bisect
import sys
from collections import defaultdict
from collections.abc import Hashable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from liveops_rules._bitset import PrefixBits, SetsByValue, bitset
from liveops_rules._caches import ByteBudget
from liveops_rules.models.conditions import (
    Condition,
    NumberCondition,
    StringCondition,
    read_date,
    read_number,
)
from liveops_rules.models.values import Operator

__all__ = ["ENTRY_OVERHEAD", "AttributeIndex", "OrderedConditions", "cache_key"]

ENTRY_OVERHEAD = 200
"""Bytes a cached answer costs beyond its bitset and its raw value: the dict slot, the key
tuple and the budget's record of the entry (~110 measured with tracemalloc; rounded up for
the dicts' growth)."""

_KEYED_BY_CLASS = frozenset({float, bool, Decimal, date})


def cache_key(raw: object) -> Hashable | None:
    """The key under which the answer for `raw` is cached, or None when it is not cached.

    Two raw values get equal keys only when every condition reads them alike. Text and ints
    are their own keys (no other raw value equals them and is of their class); other values
    carry their class, since `1`, `1.0`, `True` and `Decimal("1")` are equal keys but not
    equal answers (True is no number). An aware datetime also carries its UTC offset: equal
    moments in two offsets can fall on two calendar days. Subclasses, NaNs and other types
    (perhaps unhashable, perhaps with their own equality) are not cached.
    """
    kind = raw.__class__
    if kind is str or kind is int:
        return raw
    if kind is datetime:
        return (kind, raw, raw.utcoffset())  # type: ignore[attr-defined]
    if kind in _KEYED_BY_CLASS:
        if kind is Decimal:
            if not raw.is_finite():  # type: ignore[attr-defined]
                return None  # a signalling NaN cannot even be hashed
        elif raw != raw:  # a float NaN equals nothing: it would never be found again
            return None
        return (kind, raw)
    return None


class _Equality:
    """`eq` and `ne` conditions: who fails for a value, from sets kept per value."""

    def __init__(
        self,
        indices: Sequence[int],
        operators: Sequence[Operator],
        values: Sequence[Any],
        size: int,
    ) -> None:
        equal: dict[int, set[Hashable]] = defaultdict(set)
        unequal: dict[Hashable, list[int]] = defaultdict(list)
        for index, operator, value in zip(indices, operators, values, strict=True):
            if operator is Operator.EQ:
                equal[index].add(value)
            elif operator is Operator.NE:
                unequal[value].append(index)
        only: dict[Hashable, list[int]] = defaultdict(list)
        for index, found in equal.items():
            if len(found) == 1:  # two different `eq` values on one attribute never both hold
                only[next(iter(found))].append(index)
        self._size = size
        self._equal_holders = bitset(equal, size)
        self._equal_only = SetsByValue(only, size)
        self._unequal = SetsByValue(unequal, size)

    def fails(self, value: Any) -> int:
        failing = self._unequal.get(value)
        if self._equal_holders:
            failing |= self._equal_holders & ~self._equal_only.get(value)
        return failing


class OrderedConditions:
    """Conditions comparing one totally ordered kind of value (numbers, days or moments)."""

    def __init__(
        self,
        indices: Sequence[int],
        operators: Sequence[Operator],
        values: Sequence[Any],
        size: int,
    ) -> None:
        self._equality = _Equality(indices, operators, values, size)
        self._ordered: list[tuple[Operator, list[Any], PrefixBits]] = []
        for operator in (Operator.GT, Operator.GE, Operator.LT, Operator.LE):
            chosen = [k for k, o in enumerate(operators) if o is operator]
            if not chosen:
                continue
            chosen.sort(key=values.__getitem__)
            ascending = [values[k] for k in chosen]
            members = [indices[k] for k in chosen]
            if operator in (Operator.GT, Operator.GE):
                members.reverse()  # these fail for the largest thresholds: a prefix, descending
            self._ordered.append((operator, ascending, PrefixBits(members, size)))

    def fails(self, value: Any) -> int:
        """The promotions with a condition here that `value` does not meet."""
        failing = self._equality.fails(value)
        for operator, ascending, prefix in self._ordered:
            if operator is Operator.GT:  # fails when threshold >= value
                count = len(ascending) - bisect.bisect_left(ascending, value)
            elif operator is Operator.GE:  # fails when threshold > value
                count = len(ascending) - bisect.bisect_right(ascending, value)
            elif operator is Operator.LT:  # fails when threshold <= value
                count = bisect.bisect_right(ascending, value)
            else:  # LE fails when threshold < value
                count = bisect.bisect_left(ascending, value)
            if count:
                failing |= prefix.first(count)
        return failing


class _Group:
    """The conditions of one comparison family, as parallel lists."""

    def __init__(self) -> None:
        self.indices: list[int] = []
        self.operators: list[Operator] = []
        self.values: list[Any] = []

    def add(self, index: int, condition: Condition) -> None:
        self.indices.append(index)
        self.operators.append(condition.operator)
        self.values.append(condition.value)


class AttributeIndex:
    """Which promotions fail their conditions on one attribute, for any raw value.

    `indices[k]` is the promotion that `conditions[k]` belongs to.
    """

    def __init__(
        self,
        indices: Sequence[int],
        conditions: Sequence[Condition],
        size: int,
        budget: ByteBudget,
    ) -> None:
        strings, numbers, days, moments = _Group(), _Group(), _Group(), _Group()
        required: list[int] = []
        for index, condition in zip(indices, conditions, strict=True):
            if not condition.can_be_missing:
                required.append(index)
            kind = type(condition)
            if kind is StringCondition:
                strings.add(index, condition)
            elif kind is NumberCondition:
                numbers.add(index, condition)
            elif isinstance(condition.value, datetime):
                moments.add(index, condition)
            else:
                days.add(index, condition)
        self.missing_fails = bitset(required, size)
        self._string_holders = bitset(strings.indices, size)
        self._number_holders = bitset(numbers.indices, size)
        self._date_holders = bitset(days.indices + moments.indices, size)
        self._strings = _Equality(strings.indices, strings.operators, strings.values, size)
        self._numbers = OrderedConditions(numbers.indices, numbers.operators, numbers.values, size)
        # Date conditions on a calendar day compare the user's day; those on a moment compare
        # instants (see DateCondition): two orders, each total.
        self._days = OrderedConditions(days.indices, days.operators, days.values, size)
        self._moments = OrderedConditions(moments.indices, moments.operators, moments.values, size)
        self._by_raw: dict[Hashable, int] = {}
        self._budget = budget

    def fails(self, raw: object) -> int:
        """The promotions that fail a condition on this attribute when its value is `raw`.

        Answers are cached by `cache_key(raw)`, within the catalog's byte budget.
        """
        if raw is None:
            return self.missing_fails
        kind = raw.__class__
        key = raw if kind is str or kind is int else cache_key(raw)
        if key is None:
            return self._compute(raw)
        cached = self._by_raw.get(key)
        if cached is not None:
            return cached
        failing = self._compute(raw)
        cost = ENTRY_OVERHEAD + sys.getsizeof(failing) + sys.getsizeof(raw)
        return self._budget.keep(self._by_raw, key, failing, cost)

    def _compute(self, raw: object) -> int:
        failing = 0
        if self._string_holders:
            failing = self._strings.fails(raw) if isinstance(raw, str) else self._string_holders
        if self._number_holders:
            number = read_number(raw)
            failing |= self._number_holders if number is None else self._numbers.fails(number)
        if self._date_holders:
            moment = read_date(raw)
            if moment is None:
                failing |= self._date_holders
            elif isinstance(moment, datetime):
                failing |= self._days.fails(moment.date()) | self._moments.fails(moment)
            else:
                midnight = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
                failing |= self._days.fails(moment) | self._moments.fails(midnight)
        return failing
