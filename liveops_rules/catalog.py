"""A compiled, indexed set of promotions: which of them apply to a user at a moment, fast.

The catalog is built once. A query combines, as bitsets over the promotions, the ones enabled
and inside their window at `at` with, for each attribute any condition names, the ones the
user's value fails. Its cost grows with the number of attributes the catalog's conditions use
and with the number of results, not with the number of promotions; its answers are exactly
those of `evaluate` for each promotion.
"""

from __future__ import annotations

import bisect
import sys
from array import array
from collections.abc import Collection, Hashable, Iterable, Iterator
from datetime import datetime

from liveops_rules._attribute_index import AttributeConditions, AttributeIndex, answer_bound
from liveops_rules._bitset import PrefixParity, bitset, members
from liveops_rules._caches import ByteBudget
from liveops_rules._failing import Failing, shared_members
from liveops_rules.errors import Problem, ValidationError, describe
from liveops_rules.evaluate import Decision, check_moment, evaluate
from liveops_rules.models.promotions import (
    PersonalizedCatalogRule,
    Promotion,
    PromotionKind,
)
from liveops_rules.models.user import User
from liveops_rules.models.values import ShownItem

__all__ = ["DEFAULT_CACHED_ANSWERS", "Catalog", "EligibleSet", "default_cache_bytes"]

_PROMOTION_TYPES = tuple(cls for cls in Promotion.__args__)
_CACHE_BYTES_MIN = 64 * 1024 * 1024
DEFAULT_CACHED_ANSWERS = 20_000
"""How many answers (attribute, value) a catalog's default cache budget has room for."""
_CACHE_BYTES_MAX = 1 << 40  # a terabyte: more is a typo, not a budget
_BASE_ENTRY_OVERHEAD = 120  # a moment cache entry beyond its bitset: dict slot, key, record


def default_cache_bytes(size: int) -> int:
    """The cache budget of a catalog of `size` promotions when none is given: room for
    `DEFAULT_CACHED_ANSWERS` answers (each ~size/7.5 + 300 bytes) in the attributes' seven
    eighths, at least 64 MiB."""
    answer = answer_bound(size) + 64  # and a raw value of 64 bytes
    return max(_CACHE_BYTES_MIN, DEFAULT_CACHED_ANSWERS * answer * 8 // 7)


class Catalog:
    """Many promotions, indexed once to answer eligibility queries without scanning them all.

    Caches. A catalog remembers, within `cache_bytes`, the answers it computed: for each
    attribute and raw value seen, the bitset of the promotions that fail their conditions
    on it; for each region of time seen, the bitset of the promotions running. A bitset over
    P promotions costs about P/7.5 bytes (`sys.getsizeof` of the int), and each entry is
    costed at that plus its raw value plus a fixed overhead (~200 bytes: dict slot, key, the
    budget's record). One eighth of `cache_bytes` is for the moments, the rest is shared by
    all attributes: the values most asked about take the room, whatever their attribute.

    The default budget grows with the catalog: room for about `DEFAULT_CACHED_ANSWERS`
    (20,000) answers whatever P, at least 64 MiB. That is ~3 KB a promotion: ~300 MB at
    P = 100,000, ~3 GB at P = 1,000,000, spent only when that many distinct values are
    asked about (100 attributes x 200 players with a value each fit). Pass a smaller
    `cache_bytes` to bound it lower; `cache_bytes=0` caches nothing.

    When the attributes' budget is full, a new answer is kept one time in eight, in place
    of random ones; the others are computed within the query and not kept (a new region of
    time is always kept, in place of random ones). Never wrong,
    only slower: an answer not cached costs a few bitset operations, and the members of
    every answer not cached are turned into a bitset once, for the whole query. The costs
    are upper bounds: a raw value is counted though the user may hold it too, and equal
    bitsets are often one shared int. The budget counts the cached entries only, not the
    index itself (built once: a few hundred bytes a promotion, plus about 270 bytes for
    each `gt`, `ge`, `lt` or `le` condition, the checkpoints of their sorted prefixes).

    Text and typed values (ints, floats, Decimals, bools, dates, datetimes) are cached
    alike, apart where values equal in Python are read differently by conditions (`1`,
    `1.0`, `True`; one moment in two offsets, which may fall on two calendar days). NaNs,
    subclasses and other types are answered without caching.
    """

    def __init__(self, promotions: Iterable[Promotion], *, cache_bytes: int | None = None) -> None:
        """Index `promotions`; a ValidationError if one is not a promotion or an id repeats.

        `cache_bytes` bounds the memory the catalog spends remembering answers for values
        and moments it has seen; None (the default) sizes it to the catalog (see the class
        docstring).
        """
        if cache_bytes is not None and (
            type(cache_bytes) is not int or not 0 <= cache_bytes <= _CACHE_BYTES_MAX
        ):
            raise ValidationError.single(
                "cache_bytes", f"a whole number of bytes from 0 to {_CACHE_BYTES_MAX}", cache_bytes
            )
        self._promotions: tuple[Promotion, ...] = tuple(promotions)
        size = len(self._promotions)
        if cache_bytes is None:
            cache_bytes = default_cache_bytes(size)
        # One pass over the promotions reads everything the index is built from: at a
        # million promotions their models take gigabytes, and each pass over them costs
        # mostly the memory it reads.
        problems: list[Problem] = []
        self._by_key: dict[PromotionKind, dict[str | None, int]] = {  # key to position
            kind: {} for kind in PromotionKind
        }
        of_kind: dict[PromotionKind, list[int]] = {kind: [] for kind in PromotionKind}
        enabled: list[int] = []
        unauth_rules: list[int] = []
        periods: list[tuple[int, datetime | None, datetime | None]] = []
        gathered: dict[str, AttributeConditions] = {}
        rule_kind = PromotionKind.PERSONALIZED_RULE
        for index, promotion in enumerate(self._promotions):
            if not isinstance(promotion, _PROMOTION_TYPES):
                problems.append(Problem(f"promotions[{index}]", "a promotion", describe(promotion)))
                continue
            kind, key = promotion.kind, promotion.key
            keys = self._by_key[kind]
            if key is None or key in keys:
                problems.append(_key_problem(index, promotion, keys.get(key)))
                continue
            keys[key] = index
            of_kind[kind].append(index)
            if promotion.enabled:
                enabled.append(index)
            if kind is rule_kind and promotion.satisfied_for_unauth:
                unauth_rules.append(index)
            for start, end in promotion.window.all_periods:
                periods.append((index, start, end))
            for condition in promotion.conditions:
                attribute = gathered.get(condition.attribute)
                if attribute is None:
                    attribute = gathered[condition.attribute] = AttributeConditions()
                attribute.add(index, condition)
        if problems:
            raise ValidationError(problems)
        self._kind_masks = {kind: bitset(found, size) for kind, found in of_kind.items()}
        self._enabled = bitset(enabled, size)
        self._rules = self._kind_masks[rule_kind]
        self._unauth_rules = bitset(unauth_rules, size)
        self._build_windows(periods)
        base_bytes = max(0, cache_bytes) // 8
        self._base_budget = ByteBudget(base_bytes)
        self._attribute_budget = ByteBudget(max(0, cache_bytes) - base_bytes)
        shared: dict[int, tuple[Hashable, ...]] = {}
        self._shared = shared
        self._attributes = {
            name: AttributeIndex(conditions, size, self._attribute_budget, shared)
            for name, conditions in gathered.items()
        }
        del gathered  # its groups are in the indexes now: free them before the rest
        groups = [g for index in self._attributes.values() for g in index.equality_groups()]
        shared.update(shared_members(groups))
        self._collectors = [(name, index.collector) for name, index in self._attributes.items()]
        self._base_cache: dict[int, int] = {}

    def _build_windows(self, periods: list[tuple[int, datetime | None, datetime | None]]) -> None:
        # Every period of every promotion is a start and an end. Periods of one promotion do
        # not overlap, so in region r (r bounds are <= at) it runs exactly when an odd number
        # of its starts and ends rank below r: its started periods number one more than its
        # ended ones. Sorted by rank, the starts (and the ends) below r are a prefix, read
        # from checkpointed prefix parities; for one period a promotion, this is "started and
        # not ended".
        bounds = {start for _, start, _ in periods if start is not None}
        bounds.update(end for _, _, end in periods if end is not None)
        self._bounds = sorted(bounds)
        rank = {moment: i for i, moment in enumerate(self._bounds)}
        never = len(self._bounds)
        start_ranks = [-1 if start is None else rank[start] for _, start, _ in periods]
        end_ranks = [never if end is None else rank[end] for _, _, end in periods]
        size = len(self._promotions)
        by_start = sorted(range(len(periods)), key=start_ranks.__getitem__)
        by_end = sorted(range(len(periods)), key=end_ranks.__getitem__)
        self._start_ranks = array("l", (start_ranks[i] for i in by_start))
        self._end_ranks = array("l", (end_ranks[i] for i in by_end))
        # Checkpoints scale with the periods a promotion has, so that a new moment reads
        # about as few members past its checkpoint as with one window each.
        checkpoints = 256 * max(1, -(-len(periods) // max(1, size)))
        self._started = PrefixParity([periods[i][0] for i in by_start], size, checkpoints)
        self._ended = PrefixParity([periods[i][0] for i in by_end], size, checkpoints)

    def _active(self, at: datetime) -> int:
        region = bisect.bisect_right(self._bounds, at)
        cached = self._base_cache.get(region)
        if cached is None:
            started = self._started.first(bisect.bisect_left(self._start_ranks, region))
            ended = self._ended.first(bisect.bisect_left(self._end_ranks, region))
            cached = (started ^ ended) & self._enabled
            cost = _BASE_ENTRY_OVERHEAD + sys.getsizeof(cached)
            self._base_budget.keep(self._base_cache, region, cached, cost)
        return cached

    def __len__(self) -> int:
        return len(self._promotions)

    def __iter__(self) -> Iterator[Promotion]:
        return iter(self._promotions)

    def get(self, kind: PromotionKind | str, key: str) -> Promotion | None:
        """The promotion of `kind` whose external id (or numeric id as text) is `key`."""
        position = self._by_key[PromotionKind(kind)].get(key)
        return None if position is None else self._promotions[position]

    def _mask(self, user: User, at: datetime, kinds: Collection[PromotionKind | str] | None) -> int:
        check_moment(at)
        if not isinstance(user, User):
            raise ValidationError.single("user", "a User", user)
        base = self._active(at)
        if kinds is not None:
            wanted = 0
            for kind in kinds:
                wanted |= self._kind_masks[PromotionKind(kind)]
            base &= wanted
        if not base:
            return 0
        gathered = Failing()
        get = user.attributes.get
        for name, collect in self._collectors:
            collect(get(name), gathered)
        failing = gathered.bits(len(self._promotions), self._shared)
        eligible = base ^ (base & failing)  # base & ~failing, without the negative int
        if user.id is None and base & self._rules:
            eligible = (eligible ^ (eligible & self._rules)) | (base & self._unauth_rules)
        return eligible

    def eligible_mask(
        self, user: User, at: datetime, kinds: Collection[PromotionKind | str] | None = None
    ) -> int:
        """`eligible` as a bitset: bit i is set when the catalog's promotion i (in iteration
        order) applies to `user` at `at`."""
        return self._mask(user, at, kinds)

    def eligible(
        self, user: User, at: datetime, kinds: Collection[PromotionKind | str] | None = None
    ) -> list[Promotion]:
        """The promotions (optionally only of `kinds`) that apply to `user` at `at`, in order."""
        promotions = self._promotions
        return [promotions[i] for i in members(self._mask(user, at, kinds))]

    def eligible_set(
        self, user: User, at: datetime, kinds: Collection[PromotionKind | str] | None = None
    ) -> EligibleSet:
        """`eligible` as a lazy set: promotions are listed only when asked for (`page`,
        iteration); its size and membership are read from the bitset."""
        return EligibleSet(self, self._mask(user, at, kinds))

    def evaluate_all(
        self, user: User, at: datetime, kinds: Collection[PromotionKind | str] | None = None
    ) -> list[Decision]:
        """A decision with reasons for every promotion (optionally only of `kinds`), in order."""
        check_moment(at)
        wanted = None if kinds is None else {PromotionKind(k) for k in kinds}
        return [
            evaluate(p, user, at) for p in self._promotions if wanted is None or p.kind in wanted
        ]

    def visible_items(self, user: User, at: datetime) -> list[ShownItem]:
        """The items of every personalized rule the user meets at `at`, each once, in order."""
        shown: dict[ShownItem, None] = {}
        for rule in self.eligible(user, at, (PromotionKind.PERSONALIZED_RULE,)):
            assert isinstance(rule, PersonalizedCatalogRule)
            for item in rule.items:
                shown.setdefault(item)
        return list(shown)


def _key_problem(index: int, promotion: Promotion, first: int | None) -> Problem:
    if promotion.key is None:
        return Problem(
            f"promotions[{index}]", "a promotion with an external_id or a numeric id", "neither"
        )
    return Problem(
        f"promotions[{index}]",
        f"a {promotion.kind.value} id not used before",
        f"{promotion.key!r}, already promotions[{first}]",
    )


class EligibleSet:
    """The promotions of a catalog that apply to a user at a moment, as a bitset read lazily.

    `mask` has bit i set when the catalog's promotion i applies. `len` counts the bits;
    `promotion in result` is one lookup of its position (only promotions of the catalog, or
    equal to one, are ever members); iteration, `page` and `ids` list members in catalog
    order, the same as `Catalog.eligible` gives, extracting positions once on first use.
    """

    __slots__ = ("_catalog", "_positions", "mask")

    def __init__(self, catalog: Catalog, mask: int) -> None:
        self._catalog = catalog
        self.mask = mask
        self._positions: list[int] | None = None

    def _members(self) -> list[int]:
        positions = self._positions
        if positions is None:
            positions = self._positions = members(self.mask)
        return positions

    def __len__(self) -> int:
        return self.mask.bit_count()

    def __bool__(self) -> bool:
        return self.mask != 0

    def __contains__(self, promotion: object) -> bool:
        if not isinstance(promotion, _PROMOTION_TYPES):
            return False
        catalog = self._catalog
        position = catalog._by_key[promotion.kind].get(promotion.key)
        if position is None or not self.mask >> position & 1:
            return False
        held = catalog._promotions[position]
        return held is promotion or held == promotion

    def __iter__(self) -> Iterator[Promotion]:
        promotions = self._catalog._promotions
        return (promotions[i] for i in self._members())

    def __repr__(self) -> str:
        return f"<EligibleSet of {len(self)} promotions>"

    def page(self, offset: int, limit: int) -> list[Promotion]:
        """The members from the `offset`-th (0 first) on, at most `limit` of them, in order."""
        if offset < 0 or limit < 0:
            raise ValidationError.single(
                "offset" if offset < 0 else "limit", "a non-negative integer", min(offset, limit)
            )
        promotions = self._catalog._promotions
        return [promotions[i] for i in self._members()[offset : offset + limit]]

    def ids(self) -> list[str]:
        """The members' refs, `kind:key` (as `coupon:spring` or `item_discount:7`), in order:
        unique in a catalog, where one key may name promotions of two kinds."""
        promotions = self._catalog._promotions
        return [f"{promotions[i].kind.value}:{promotions[i].key}" for i in self._members()]
