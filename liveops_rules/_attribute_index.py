"""For one attribute, the set of promotions whose conditions on it a given value fails.

Strings use precomputed sets per value. Numbers and dates are answered by running the
conditions' own `status` once per distinct case and caching the resulting set: every number
between two adjacent thresholds behaves alike, so numbers are cached per such region.
Using the conditions' own code keeps the index's answers identical to `evaluate`'s.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Hashable, Sequence
from datetime import datetime

from liveops_rules._bitset import bitset
from liveops_rules.models.conditions import (
    PASS,
    DateCondition,
    NumberCondition,
    StringCondition,
    read_date,
    read_number,
)
from liveops_rules.models.values import Operator

Entry = tuple[int, StringCondition | NumberCondition | DateCondition]


class _BoundedCache(dict[Hashable, int]):
    """A dict that forgets its oldest entries once it holds `limit` of them."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key: Hashable, value: int) -> int:
        if len(self) >= self.limit:
            del self[next(iter(self))]
        self[key] = value
        return value


class AttributeIndex:
    """Which promotions fail their conditions on one attribute, for any raw value."""

    def __init__(self, entries: list[Entry], size: int, cache_limit: int) -> None:
        self._size = size
        strings = [(i, c) for i, c in entries if isinstance(c, StringCondition)]
        self._numbers = [(i, c) for i, c in entries if isinstance(c, NumberCondition)]
        self._dates = [(i, c) for i, c in entries if isinstance(c, DateCondition)]

        self.missing_fails = bitset((i for i, c in entries if not c.can_be_missing), size)
        self._string_holders = bitset((i for i, _ in strings), size)
        self._number_holders = bitset((i for i, _ in self._numbers), size)
        self._date_holders = bitset((i for i, _ in self._dates), size)

        eq_values: dict[int, set[str]] = defaultdict(set)
        ne_members: dict[str, list[int]] = defaultdict(list)
        for index, condition in strings:
            if condition.operator is Operator.EQ:
                eq_values[index].add(condition.value)
            else:
                ne_members[condition.value].append(index)
        eq_ok: dict[str, list[int]] = defaultdict(list)
        for index, values in eq_values.items():
            if len(values) == 1:  # two different `eq` values on one attribute never both hold
                eq_ok[next(iter(values))].append(index)
        self._eq_holders = bitset(eq_values, size)
        self._eq_ok = {value: bitset(found, size) for value, found in eq_ok.items()}
        self._ne = {value: bitset(found, size) for value, found in ne_members.items()}

        self._thresholds = sorted({c.value for _, c in self._numbers})
        self._by_raw = _BoundedCache(cache_limit)
        self._by_number_region = _BoundedCache(cache_limit)
        self._by_moment = _BoundedCache(cache_limit)

    def fails(self, raw: object) -> int:
        """The promotions that fail a condition on this attribute when its value is `raw`."""
        if raw is None:
            return self.missing_fails
        if raw.__class__ is str:
            cached = self._by_raw.get(raw)
            if cached is not None:
                return cached
            return self._by_raw.put(raw, self._compute(raw))
        return self._compute(raw)

    def _compute(self, raw: object) -> int:
        failing = 0
        if self._string_holders:
            if isinstance(raw, str):
                failing = (self._eq_holders & ~self._eq_ok.get(raw, 0)) | self._ne.get(raw, 0)
            else:
                failing = self._string_holders
        if self._number_holders:
            failing |= self._number_fails(raw)
        if self._date_holders:
            failing |= self._date_fails(raw)
        return failing

    def _number_fails(self, raw: object) -> int:
        number = read_number(raw)
        if number is None:
            return self._number_holders
        position = bisect.bisect_left(self._thresholds, number)
        exact = position < len(self._thresholds) and self._thresholds[position] == number
        region = (position, exact)
        cached = self._by_number_region.get(region)
        if cached is None:
            cached = self._by_number_region.put(region, self._scan(self._numbers, number))
        return cached

    def _date_fails(self, raw: object) -> int:
        moment = read_date(raw)
        if moment is None:
            return self._date_holders
        # Equal moments in different offsets can fall on different calendar dates.
        offset = moment.utcoffset() if isinstance(moment, datetime) else None
        key = (moment.__class__, moment, offset)
        cached = self._by_moment.get(key)
        if cached is None:
            cached = self._by_moment.put(key, self._scan(self._dates, moment))
        return cached

    def _scan(self, entries: Sequence[Entry], value: object) -> int:
        return bitset((i for i, c in entries if c.status(value) != PASS), self._size)
