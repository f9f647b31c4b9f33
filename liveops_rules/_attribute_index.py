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
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import UTC, date, datetime, timezone
from decimal import Decimal
from itertools import accumulate, chain
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
    "AttributeConditions",
    "AttributeIndex",
    "ConditionFamily",
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


_ABSENT = object()
# An enum member read from its class costs ~100 ns in CPython 3.11: read once, here.
_EQ, _NE, _GT, _GE, _LT, _LE = (Operator(name) for name in ("eq", "ne", "gt", "ge", "lt", "le"))


class ConditionFamily:
    """The conditions of one comparison family (strings, numbers, days or moments) on one
    attribute, grouped by operator and value as they are added: what `_Equality` and
    `OrderedConditions` are built from.

    Each condition is read once, while its model is at hand, and what is kept is grouped
    by value (thresholds too), so that building the index reads no model again and sorts
    only the distinct thresholds: at a million promotions the models take gigabytes, and
    reading them out of order cost more than the index's own work.
    """

    __slots__ = ("above", "below", "equal", "holders", "only", "twice", "unequal")

    def __init__(self) -> None:
        self.holders = array("i")  # each condition's promotion
        self.equal: dict[int, Any] = {}  # a promotion's first `eq` value
        self.only: dict[Hashable, list[int]] = {}  # an `eq` value's promotions
        self.twice: set[int] = set()  # promotions with `eq` conditions of two values
        self.unequal: dict[Hashable, list[int]] = {}  # a `ne` value's promotions
        # A threshold's promotions: (`gt`, `ge`) in below, (`lt`, `le`) in above.
        self.below: dict[Any, tuple[list[int], list[int]]] = {}
        self.above: dict[Any, tuple[list[int], list[int]]] = {}

    @classmethod
    def of(
        cls, indices: Sequence[int], operators: Sequence[Operator], values: Sequence[Any]
    ) -> ConditionFamily:
        """The family of conditions given as parallel sequences (`indices[k]` is the
        promotion the k-th condition belongs to)."""
        family = cls()
        for index, operator, value in zip(indices, operators, values, strict=True):
            family.add(index, operator, value)
        return family

    def add(self, index: int, operator: Operator, value: Any) -> None:
        """Add promotion `index`'s condition `operator value`."""
        self.holders.append(index)
        if operator is _NE:
            _append(self.unequal, value, index)
        elif operator is _EQ:
            held = self.equal.get(index, _ABSENT)
            if held is _ABSENT:
                self.equal[index] = value
                _append(self.only, value, index)
            elif held is not value and held != value:  # two `eq` values never both hold
                self.twice.add(index)
        else:
            # Thresholds are grouped by equality: conditions compare them with `<`, and for
            # the values kept here (finite numbers, days, moments in fixed offsets) `==`
            # and hashing agree with that order.
            below = operator is _GT or operator is _GE
            buckets = self.below if below else self.above
            pair = buckets.get(value)
            if pair is None:
                pair = buckets[value] = ([], [])
            pair[0 if operator is _GT or operator is _LT else 1].append(index)


def _append(groups: dict[Hashable, list[int]], value: Hashable, index: int) -> None:
    found = groups.get(value)
    if found is None:
        groups[value] = [index]  # a list: creating an array costs several times more
    else:
        found.append(index)


class _Equality:
    """`eq` and `ne` conditions: who fails for a value, from sets kept per value."""

    def __init__(self, family: ConditionFamily, size: int) -> None:
        only = family.only
        twice = family.twice
        if twice:
            only = {v: kept for v, found in only.items() if (kept := _without(found, twice))}
        self._equal_holders = bitset(family.equal, size)
        self._equal_only = SetsByValue(only, size)
        self._unequal = SetsByValue(family.unequal, size)

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

    `gt` and `ge` conditions fail for values below their thresholds: read from the top
    threshold down, each threshold's `gt` promotions before its `ge` ones, those a value v
    fails (thresholds above v, and `gt` ones at v) are a prefix. `lt` and `le` conditions
    fail for values above: read from the bottom up, `lt` before `le`, v fails those below
    it and the `lt` ones at it, a prefix too. Two sequences an attribute, each read from
    `PrefixBits`; a prefix's length is two bisections of the distinct thresholds and a
    count kept for each.
    """

    def __init__(self, family: ConditionFamily, size: int) -> None:
        """Index `family`'s ordered and equality conditions over `size` promotions."""
        self._size = size
        self._equality = _Equality(family, size)
        step = checkpoint_step(size)
        self._below = _SortedThresholds(family.below, size, step, fail_above=True)
        self._above = _SortedThresholds(family.above, size, step, fail_above=False)

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
    """Conditions of one direction, by threshold: those a value fails are a prefix of
    their promotions read in threshold order.

    `fail_above` (`gt`, `ge`): a value fails the thresholds above it, and the strict ones
    at it; read from the top threshold down, each threshold's strict (`gt`) promotions
    first. Otherwise (`lt`, `le`): a value fails the thresholds below it and the strict
    (`lt`) ones at it; read from the bottom up, strict first. Thresholds are distinct and
    compared with `<` only, as the conditions compare: a moment in a fold is neither ==,
    < nor > the same instant in another zone, but it falls between the same thresholds.
    """

    def __init__(
        self,
        buckets: dict[Any, tuple[list[int], list[int]]],
        size: int,
        step: int,
        *,
        fail_above: bool,
    ) -> None:
        self._thresholds = sorted(buckets)
        pairs = [buckets[threshold] for threshold in self._thresholds]
        sequence = array("i")
        for strict, inclusive in reversed(pairs) if fail_above else pairs:
            sequence.extend(strict)
            sequence.extend(inclusive)
        sizes = [len(strict) + len(inclusive) for strict, inclusive in pairs]
        # passed[j]: how many promotions the thresholds past j's side hold: for fail_above
        # those at index j and above, otherwise those below j.
        if fail_above:
            self._passed = array("i", reversed(list(accumulate(reversed(sizes), initial=0))))
        else:
            self._passed = array("i", accumulate(sizes, initial=0))
        self._strict = array("i", (len(strict) for strict, _ in pairs))
        self._prefix = PrefixBits(sequence, size, step)
        self._fail_above = fail_above

    def __bool__(self) -> bool:
        return bool(self._thresholds)

    def collect(self, value: Any, failing: Failing) -> None:
        """Add the promotions whose condition here `value` does not meet to `failing`."""
        thresholds = self._thresholds
        low = bisect.bisect_left(thresholds, value)
        high = bisect.bisect_right(thresholds, value)
        count = self._passed[high if self._fail_above else low]
        if high > low:  # at one threshold (distinct ones are ordered): its strict ones
            count += self._strict[low]
        if count:
            self._prefix.collect(count, failing)


def _without(found: list[int], dropped: set[int]) -> list[int]:
    return [index for index in found if index not in dropped]


class AttributeConditions:
    """The conditions on one attribute, gathered by family and operator as they are added
    (in one pass over a catalog): what an `AttributeIndex` is built from."""

    __slots__ = ("days", "direct", "moments", "numbers", "required", "strings")

    def __init__(self) -> None:
        self.required = array("i")  # the promotions with a condition here not to be missing
        self.strings = ConditionFamily()
        self.numbers = ConditionFamily()
        self.days = ConditionFamily()  # date conditions on a calendar day
        self.moments = ConditionFamily()  # ... on a moment in a fixed offset
        # Moments in a zone whose offset varies (a ZoneInfo, say) are not totally ordered
        # with others: in a fold, 01:30 is equal to the other 01:30 of its zone, compared
        # by wall time, but not to the same instants elsewhere, compared in UTC. So those
        # conditions are answered one by one, as evaluate does, and never cached; fixed
        # offsets (`datetime.timezone`, UTC among them) compare alike either way.
        self.direct: list[tuple[int, DateCondition]] = []

    def add(self, index: int, condition: Condition) -> None:
        """Add `condition`, of the promotion at position `index`."""
        if not condition.can_be_missing:
            self.required.append(index)
        kind = type(condition)
        # The compiled check's value: integral number thresholds as ints, compared faster.
        value = condition.check[3]
        if kind is StringCondition:
            family = self.strings
        elif kind is NumberCondition:
            family = self.numbers
        elif isinstance(value, datetime):
            if type(value.tzinfo) is not timezone:  # a zone whose offset varies
                self.direct.append((index, condition))  # type: ignore[arg-type]
                return
            family = self.moments
        else:
            family = self.days
        family.add(index, condition.operator, value)


class AttributeIndex:
    """Which promotions fail their conditions on one attribute, for any raw value.

    `shared` is the catalog's map of promotions held by two or more equality groups
    (`equality_groups` of every attribute, through `shared_members`); it may be filled
    after construction.
    """

    def __init__(
        self,
        conditions: AttributeConditions,
        size: int,
        budget: ByteBudget,
        shared: Mapping[int, tuple[Hashable, ...]],
    ) -> None:
        """Index `conditions` over `size` promotions (the index keeps some of their lists:
        gather a new `AttributeConditions` for each index)."""
        self._direct = conditions.direct
        days, moments = conditions.days, conditions.moments
        self._size = size
        self.missing_fails = bitset(conditions.required, size)
        self._string_holders = bitset(conditions.strings.holders, size)
        self._number_holders = bitset(conditions.numbers.holders, size)
        direct = [index for index, _ in self._direct]
        self._date_holders = bitset(chain(days.holders, moments.holders, direct), size)
        self._strings = _Equality(conditions.strings, size)
        self._numbers = OrderedConditions(conditions.numbers, size)
        # Date conditions on a calendar day compare the user's day; those on a moment compare
        # instants (see DateCondition): two orders, each total.
        self._days = OrderedConditions(days, size)
        self._moments = OrderedConditions(moments, size)
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
