"""For one attribute, the set of promotions whose conditions on it a given value fails.

String conditions are answered from sets precomputed per value. Number and date conditions
are ordered comparisons: sorted by threshold, the ones a value fails form a prefix of that
order (one order for `gt` and `ge`, one for `lt` and `le`), found by bisection and read from
`PrefixBits`. Parts of an answer are gathered into a `Failing`, so that a query converts
members into a bitset once. The answers equal the conditions' own `status` (a property test
checks it).
"""

from __future__ import annotations

import bisect
import sys
from array import array
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timezone
from decimal import Decimal
from itertools import accumulate
from typing import Any

from liveops_rules._bitset import PrefixBits, SetsByValue, bitset, members
from liveops_rules._caches import ByteBudget
from liveops_rules._failing import Failing
from liveops_rules.models.conditions import (
    Condition,
    DateCondition,
    NumberCondition,
    StringCondition,
    read_date,
    read_number,
)
from liveops_rules.models.values import Operator

__all__ = [
    "ENTRY_OVERHEAD",
    "AttributeIndex",
    "OrderedConditions",
    "answer_bound",
    "checkpoint_step",
]

ENTRY_OVERHEAD = 200
"""Bytes a cached answer costs beyond its bitset and its raw value: the dict slot and the
budget's record of the entry (~110 measured with tracemalloc; rounded up for the dicts'
growth)."""


def answer_bound(size: int) -> int:
    """The most a cached answer over `size` promotions costs but for its raw value: the
    overhead and the largest int of `size` bits (30 bits a 4-byte digit, 28 bytes more)."""
    return ENTRY_OVERHEAD + 28 + 4 * -(-size // 30)


_KEYED_BY_CLASS = frozenset({float, bool, Decimal, date})


def _cacheable(raw: object, kind: type) -> bool:
    if kind is Decimal:
        return raw.is_finite()  # type: ignore[attr-defined,no-any-return]  # sNaN: no hash
    return raw == raw  # a float NaN equals nothing: it would never be found again


_TWO_VALUES = object()  # a promotion with `eq` conditions of two values on one attribute


class _Equality:
    """`eq` and `ne` conditions: who fails for a value, from sets kept per value."""

    def __init__(
        self,
        indices: Sequence[int],
        operators: Sequence[Operator],
        values: Sequence[Any],
        size: int,
    ) -> None:
        equal: dict[int, Any] = {}  # the promotion's `eq` value, or _TWO_VALUES
        unequal: dict[Hashable, list[int]] = defaultdict(list)
        for index, operator, value in zip(indices, operators, values, strict=True):
            if operator is Operator.EQ:
                held = equal.setdefault(index, value)
                if held is not value and held is not _TWO_VALUES and held != value:
                    equal[index] = _TWO_VALUES
            elif operator is Operator.NE:
                unequal[value].append(index)
        only: dict[Hashable, list[int]] = defaultdict(list)
        for index, value in equal.items():
            if value is not _TWO_VALUES:  # two different `eq` values never both hold
                only[value].append(index)
        self._equal_holders = bitset(equal, size)
        self._equal_only = SetsByValue(only, size)
        self._unequal = SetsByValue(unequal, size)

    @property
    def equal_members(self) -> list[int]:
        """The promotions with an `eq` condition here, each once (read from the bitset:
        needed only while the catalog is built)."""
        return members(self._equal_holders)

    def collect(self, value: Any, failing: Failing) -> None:
        """Add the promotions failing these conditions on `value` to `failing`."""
        self._unequal.collect(value, failing)
        holders = self._equal_holders
        if not holders:
            return
        held = self._equal_only.kept(value)
        if isinstance(held, int):  # none, or dense enough to subtract at once
            # x ^ (x & y) is x & ~y without the slow negative int ~y
            failing.dense |= holders ^ (holders & held) if held else holders
        else:
            failing.add_difference(self, holders, held)


_MIN_STEP = 16
_BITS_PER_STEP = 2048


def checkpoint_step(size: int) -> int:
    """Members between two prefix checkpoints over `size` promotions: a checkpoint costs
    ~size/7.5 bytes, so a member of a sequence costs at most ~273 bytes of them (fewer
    where the step is the minimum, at under 32,768 promotions)."""
    return max(_MIN_STEP, -(-size // _BITS_PER_STEP))


class OrderedConditions:
    """Conditions comparing one totally ordered kind of value (numbers, days or moments).

    `gt` and `ge` conditions fail for values below their thresholds: sorted by threshold,
    then `ge` before `gt`, and read from the top, those a value v fails (thresholds above
    v, and `gt` ones at v) are a prefix. `lt` and `le` conditions fail for values above:
    sorted by threshold, then `lt` before `le`, v fails those below it and the `lt` ones at
    it, a prefix too. Two sequences an attribute, each read from `PrefixBits`; a prefix's
    length is two bisections of the thresholds and a running count of the strict ones.
    """

    def __init__(
        self,
        indices: Sequence[int],
        operators: Sequence[Operator],
        values: Sequence[Any],
        size: int,
    ) -> None:
        self._size = size
        self._equality = _Equality(indices, operators, values, size)
        below: list[tuple[Any, int, int]] = []
        above: list[tuple[Any, int, int]] = []
        for index, operator, value in zip(indices, operators, values, strict=True):
            if operator is Operator.GT:
                below.append((value, 1, index))
            elif operator is Operator.GE:
                below.append((value, 0, index))
            elif operator is Operator.LT:
                above.append((value, 0, index))
            elif operator is Operator.LE:
                above.append((value, 1, index))
        # Two stable sorts, not one on (threshold, flag) tuples, and no lookup of the value
        # among the thresholds: thresholds are compared with `<` only, as the conditions
        # compare (an aware datetime in a fold is neither ==, < nor > the same instant in
        # another zone, and hashes apart from it).
        for entries in (below, above):
            entries.sort(key=_flag)
            entries.sort(key=_threshold)
        step = checkpoint_step(size)
        self._below = _SortedThresholds(below, size, step, fail_above=True)
        self._above = _SortedThresholds(above, size, step, fail_above=False)

    @property
    def equality(self) -> _Equality:
        """The `eq` and `ne` conditions among these."""
        return self._equality

    def fails(self, value: Any) -> int:
        """The promotions with a condition here that `value` does not meet."""
        failing = Failing()
        self.collect(value, failing)
        return failing.bits(self._size, {})

    def collect(self, value: Any, failing: Failing) -> None:
        """Add the promotions with a condition here that `value` does not meet to `failing`."""
        self._equality.collect(value, failing)
        if self._below:
            self._below.collect(value, failing)
        if self._above:
            self._above.collect(value, failing)


class _SortedThresholds:
    """One sorted sequence of (threshold, strict flag, promotion) entries: the ones a value
    fails are a prefix, of the top (`fail_above`: thresholds above the value, and the
    strict ones at it) or of the bottom (thresholds below, and the strict ones at it)."""

    def __init__(
        self, entries: list[tuple[Any, int, int]], size: int, step: int, *, fail_above: bool
    ) -> None:
        self._thresholds = [value for value, _, _ in entries]
        self._strict = _running_count(  # strict (`gt` or `lt`) among the first i entries
            flag if fail_above else 1 - flag for _, flag, _ in entries
        )
        ordered = reversed(entries) if fail_above else entries
        self._prefix = PrefixBits([index for _, _, index in ordered], size, step)
        self._fail_above = fail_above

    def __bool__(self) -> bool:
        return bool(self._thresholds)

    def collect(self, value: Any, failing: Failing) -> None:
        """Add the promotions whose condition here `value` does not meet to `failing`."""
        thresholds = self._thresholds
        low = bisect.bisect_left(thresholds, value)
        high = bisect.bisect_right(thresholds, value)
        at = self._strict[high] - self._strict[low]
        count = (len(thresholds) - high if self._fail_above else low) + at
        if count:
            self._prefix.collect(count, failing)


def _running_count(flags: Iterable[int]) -> array[int]:
    """counts[i]: how many of the first i flags are set."""
    return array("i", accumulate(flags, initial=0))


def _flag(entry: tuple[Any, int, int]) -> int:
    return entry[1]


def _threshold(entry: tuple[Any, int, int]) -> Any:
    return entry[0]


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

    `indices[k]` is the promotion that `conditions[k]` belongs to. `shared` is the
    catalog's map of promotions held by two or more equality groups (`equality_groups`
    of every attribute, through `shared_members`); it may be filled after construction.
    """

    def __init__(
        self,
        indices: Sequence[int],
        conditions: Sequence[Condition],
        size: int,
        budget: ByteBudget,
        shared: Mapping[int, tuple[Hashable, ...]],
    ) -> None:
        strings, numbers, days, moments = _Group(), _Group(), _Group(), _Group()
        # Moments in a zone whose offset varies (a ZoneInfo, say) are not totally ordered
        # with others: in a fold, 01:30 is equal to the other 01:30 of its zone, compared
        # by wall time, but not to the same instants elsewhere, compared in UTC. So those
        # conditions are answered one by one, as evaluate does, and never cached; fixed
        # offsets (`datetime.timezone`, UTC among them) compare alike either way.
        self._direct: list[tuple[int, DateCondition]] = []
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
                if type(condition.value.tzinfo) is timezone:
                    moments.add(index, condition)
                else:  # a zone whose offset varies: see _direct
                    self._direct.append((index, condition))
            else:
                days.add(index, condition)
        self._size = size
        self.missing_fails = bitset(required, size)
        self._string_holders = bitset(strings.indices, size)
        self._number_holders = bitset(numbers.indices, size)
        direct = [index for index, _ in self._direct]
        self._date_holders = bitset(days.indices + moments.indices + direct, size)
        self._strings = _Equality(strings.indices, strings.operators, strings.values, size)
        self._numbers = OrderedConditions(numbers.indices, numbers.operators, numbers.values, size)
        # Date conditions on a calendar day compare the user's day; those on a moment compare
        # instants (see DateCondition): two orders, each total.
        self._days = OrderedConditions(days.indices, days.operators, days.values, size)
        self._moments = OrderedConditions(moments.indices, moments.operators, moments.values, size)
        self._by_raw: dict[Hashable, int] = {}  # text and ints
        self._by_class: dict[Hashable, dict[Hashable, int]] = {}  # other types, by class
        self._budget = budget
        self._shared = shared
        self._entry_bound = answer_bound(size)

    def equality_groups(self) -> list[tuple[Hashable, Sequence[int]]]:
        """Each equality group here with its `eq` holders, for `shared_members`."""
        groups = (self._strings, self._numbers.equality, self._days.equality)
        return [(group, group.equal_members) for group in (*groups, self._moments.equality)]

    @property
    def collector(self) -> Callable[[object, Failing], None]:
        """`collect`, or `collect_indexed` when every condition here is indexed: a query
        calls it for each attribute, so the common case pays no extra call."""
        return self.collect if self._direct else self.collect_indexed

    def collect(self, raw: object, failing: Failing) -> None:
        """Add the promotions that fail a condition on this attribute when its value is
        `raw` to `failing` (`collect_indexed`, then the `_direct` ones one by one)."""
        self.collect_indexed(raw, failing)
        if self._direct and raw is not None:
            moment = read_date(raw)
            if moment is not None:
                failing.members.extend(i for i, c in self._direct if not c.holds(moment))

    def collect_indexed(self, raw: object, failing: Failing) -> None:
        """Add the promotions that fail an indexed condition on this attribute when its
        value is `raw` to `failing`.

        Answers are cached as bitsets by raw value (see `_typed_cache`), within the byte
        budget, when it admits them; the others are gathered into `failing`, to be
        converted with the rest of the query.
        """
        if raw is None:
            if self.missing_fails:
                failing.dense |= self.missing_fails
            return
        kind = raw.__class__
        if kind is str or kind is int:
            cache: dict[Hashable, int] | None = self._by_raw
        else:
            cache = self._typed_cache(raw, kind)
        if cache is not None:
            cached = cache.get(raw)
            if cached is not None:
                if cached:
                    failing.dense |= cached
                return
            raw_bytes = sys.getsizeof(raw)
            if self._budget.admits(self._entry_bound + raw_bytes):
                own = Failing()
                self._gather(raw, own)
                found = own.bits(self._size, self._shared)
                cost = ENTRY_OVERHEAD + sys.getsizeof(found) + raw_bytes
                self._budget.keep(cache, raw, found, cost)
                if found:
                    failing.dense |= found
                return
        self._gather(raw, failing)

    def _typed_cache(self, raw: object, kind: type) -> dict[Hashable, int] | None:
        """The cache for raw values of `kind` (not text or int), or None: not cached.

        Within one dict, equal raw values must be read alike by every condition. So each
        class has its own, since `1`, `1.0`, `True` and `Decimal("1")` are equal but not
        read alike (True is no number); aware datetimes one per UTC offset, since equal
        moments in two offsets can fall on two calendar days. Subclasses, NaNs and other
        types (perhaps unhashable, perhaps with their own equality) are not cached.
        """
        if kind is datetime:
            slot: Hashable = raw.utcoffset()  # type: ignore[attr-defined]
        elif kind in _KEYED_BY_CLASS and _cacheable(raw, kind):
            slot = kind
        else:
            return None
        cache = self._by_class.get(slot)
        if cache is None:
            cache = self._by_class.setdefault(slot, {})
        return cache

    def cached_answers(self) -> int:
        """How many answers are cached here."""
        typed = list(self._by_class.values())  # a snapshot: queries may add a class meanwhile
        return len(self._by_raw) + sum(len(cache) for cache in typed)

    def _gather(self, raw: object, failing: Failing) -> None:
        if self._string_holders:
            if isinstance(raw, str):
                self._strings.collect(raw, failing)
            else:
                failing.dense |= self._string_holders
        if self._number_holders:
            number = read_number(raw)
            if number is None:
                failing.dense |= self._number_holders
            else:
                self._numbers.collect(number, failing)
        if self._date_holders:
            moment = read_date(raw)
            if moment is None:
                failing.dense |= self._date_holders
            elif isinstance(moment, datetime):
                self._days.collect(moment.date(), failing)
                self._moments.collect(moment, failing)
            else:
                midnight = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
                self._days.collect(moment, failing)
                self._moments.collect(midnight, failing)
