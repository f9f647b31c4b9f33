"""A compiled, indexed set of promotions: which of them apply to a user at a moment, fast.

The catalog is built once. A query combines, as bitsets over the promotions, the ones enabled
and inside their window at `at` with, for each attribute any condition names, the ones the
user's value fails. Its cost grows with the number of attributes the catalog's conditions use
and with the number of results, not with the number of promotions; its answers are exactly
those of `evaluate` for each promotion.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Collection, Iterable, Iterator
from datetime import datetime

from liveops_rules._attribute_index import AttributeIndex
from liveops_rules._bitset import PrefixParity, bitset, members
from liveops_rules._caches import remember
from liveops_rules.errors import Problem, ValidationError, describe
from liveops_rules.evaluate import Decision, check_moment, evaluate
from liveops_rules.models.conditions import Condition
from liveops_rules.models.promotions import (
    PersonalizedCatalogRule,
    Promotion,
    PromotionKind,
)
from liveops_rules.models.user import User
from liveops_rules.models.values import ShownItem

__all__ = ["Catalog"]

_PROMOTION_TYPES = tuple(cls for cls in Promotion.__args__)
_CACHE_BYTES = 64 * 1024 * 1024


class Catalog:
    """Many promotions, indexed once to answer eligibility queries without scanning them all."""

    def __init__(self, promotions: Iterable[Promotion], *, cache_bytes: int = _CACHE_BYTES):
        """Index `promotions`; a ValidationError if one is not a promotion or an id repeats.

        `cache_bytes` bounds the memory the catalog spends remembering answers for values
        and moments it has seen.
        """
        self._promotions: tuple[Promotion, ...] = tuple(promotions)
        self._check(self._promotions)
        size = len(self._promotions)
        self._by_key: dict[PromotionKind, dict[str | None, Promotion]] = {
            kind: {} for kind in PromotionKind
        }
        for promotion in self._promotions:
            self._by_key[promotion.kind][promotion.key] = promotion
        self._kind_masks = {
            kind: bitset((i for i, p in enumerate(self._promotions) if p.kind is kind), size)
            for kind in PromotionKind
        }
        self._enabled = bitset((i for i, p in enumerate(self._promotions) if p.enabled), size)
        rules = self._kind_masks[PromotionKind.PERSONALIZED_RULE]
        self._rules = rules
        self._unauth_rules = bitset(
            (
                i
                for i, p in enumerate(self._promotions)
                if isinstance(p, PersonalizedCatalogRule) and p.satisfied_for_unauth
            ),
            size,
        )
        self._build_windows()
        owners: dict[str, list[int]] = {}
        conditions: dict[str, list[Condition]] = {}
        for index, promotion in enumerate(self._promotions):
            for condition in promotion.conditions:
                name = condition.attribute
                if name not in owners:
                    owners[name], conditions[name] = [], []
                owners[name].append(index)
                conditions[name].append(condition)
        mask_bytes = max(1, (size + 7) // 8)
        per_attribute = max(64, cache_bytes // (mask_bytes * max(1, len(owners)) * 3))
        self._attributes = {
            name: AttributeIndex(owners[name], conditions[name], size, per_attribute)
            for name in owners
        }
        self._base_cache: dict[int, int] = {}
        self._base_cache_limit = max(16, cache_bytes // (mask_bytes * 8))

    @staticmethod
    def _check(promotions: tuple[Promotion, ...]) -> None:
        problems = []
        seen: dict[tuple[PromotionKind, str | None], int] = {}
        for index, promotion in enumerate(promotions):
            if not isinstance(promotion, _PROMOTION_TYPES):
                problems.append(Problem(f"promotions[{index}]", "a promotion", describe(promotion)))
                continue
            if promotion.key is None:
                problems.append(
                    Problem(
                        f"promotions[{index}]",
                        "a promotion with an external_id or a numeric id",
                        "neither",
                    )
                )
                continue
            key = (promotion.kind, promotion.key)
            if key in seen:
                problems.append(
                    Problem(
                        f"promotions[{index}]",
                        f"a {promotion.kind.value} id not used before",
                        f"{promotion.key!r}, already promotions[{seen[key]}]",
                    )
                )
            else:
                seen[key] = index
        if problems:
            raise ValidationError(problems)

    def _build_windows(self) -> None:
        # Every period of every promotion is a start and an end. Periods of one promotion do
        # not overlap, so in region r (r bounds are <= at) it runs exactly when an odd number
        # of its starts and ends rank below r: its started periods number one more than its
        # ended ones. Sorted by rank, the starts (and the ends) below r are a prefix, read
        # from checkpointed prefix parities; for one period a promotion, this is "started and
        # not ended".
        starts: list[tuple[int, datetime | None]] = []
        ends: list[tuple[int, datetime | None]] = []
        for index, promotion in enumerate(self._promotions):
            for start, end in promotion.window.all_periods:
                starts.append((index, start))
                ends.append((index, end))
        self._bounds = sorted({m for _, m in starts + ends if m is not None})
        rank = {moment: i for i, moment in enumerate(self._bounds)}
        never = len(self._bounds)
        start_ranks = [-1 if m is None else rank[m] for _, m in starts]
        end_ranks = [never if m is None else rank[m] for _, m in ends]
        size = len(self._promotions)
        by_start = sorted(range(len(starts)), key=start_ranks.__getitem__)
        by_end = sorted(range(len(ends)), key=end_ranks.__getitem__)
        self._start_ranks = array("l", (start_ranks[i] for i in by_start))
        self._end_ranks = array("l", (end_ranks[i] for i in by_end))
        # Checkpoints scale with the periods a promotion has, so that a new moment reads
        # about as few members past its checkpoint as with one window each.
        checkpoints = 256 * max(1, -(-len(starts) // max(1, size)))
        self._started = PrefixParity([starts[i][0] for i in by_start], size, checkpoints)
        self._ended = PrefixParity([ends[i][0] for i in by_end], size, checkpoints)

    def _active(self, at: datetime) -> int:
        region = bisect.bisect_right(self._bounds, at)
        cached = self._base_cache.get(region)
        if cached is None:
            started = self._started.first(bisect.bisect_left(self._start_ranks, region))
            ended = self._ended.first(bisect.bisect_left(self._end_ranks, region))
            cached = remember(
                self._base_cache, region, (started ^ ended) & self._enabled, self._base_cache_limit
            )
        return cached

    def __len__(self) -> int:
        return len(self._promotions)

    def __iter__(self) -> Iterator[Promotion]:
        return iter(self._promotions)

    def get(self, kind: PromotionKind | str, key: str) -> Promotion | None:
        """The promotion of `kind` whose external id (or numeric id as text) is `key`."""
        return self._by_key[PromotionKind(kind)].get(key)

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
        failing = 0
        get = user.attributes.get
        for name, index in self._attributes.items():
            failing |= index.fails(get(name))
        eligible = base & ~failing
        if user.id is None and base & self._rules:
            eligible = (eligible & ~self._rules) | (base & self._unauth_rules)
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
