"""For a cart line (a SKU at a price), the discounts and bonuses that target it.

Built once from a catalog's promotions (position i is the catalog's promotion i). Listed SKUs are
looked up in a dict; price conditions are answered like number conditions on an attribute
(`OrderedConditions`): the promotions a price fails.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from liveops_rules._attribute_index import ConditionFamily, OrderedConditions
from liveops_rules._caches import remember
from liveops_rules.models.promotions import Bonus, ItemDiscount, PriceCondition, Promotion

__all__ = ["PricingIndex"]

_CACHE_LIMIT = 65536


def _canonical_order(promotions: Sequence[Promotion]) -> list[int]:
    """Each promotion's rank in an order that does not depend on the catalog's order:
    discounts, then bonuses, each by numeric id (those without one last), then by key."""

    def key(index: int) -> tuple[int, int, int, str]:
        promotion = promotions[index]
        number = promotion.promotion_id
        return (
            0 if isinstance(promotion, ItemDiscount) else 1,
            number is None,
            number or 0,
            promotion.key or "",
        )

    ranks = [0] * len(promotions)
    for rank, index in enumerate(sorted(range(len(promotions)), key=key)):
        ranks[index] = rank
    return ranks


class PricingIndex:
    """Which discounts and bonuses of a catalog target a given cart line.

    Answers are lists of catalog positions in the canonical order (`ranks`), remembered per
    (SKU, price) seen; a cart's few lines then cost a few dict lookups.
    """

    def __init__(self, promotions: Sequence[Promotion]) -> None:
        size = len(promotions)
        self.ranks = _canonical_order(promotions)
        rank = self.ranks.__getitem__
        discount_skus: dict[str, list[int]] = defaultdict(list)
        bonus_skus: dict[str, list[int]] = defaultdict(list)
        by_id: dict[int, list[int]] = defaultdict(list)
        price_only: list[int] = []
        any_purchase: list[int] = []
        priced: list[int] = []
        limited: list[int] = []
        excluders: list[int] = []
        owners: list[int] = []
        conditions: list[PriceCondition] = []
        for index, promotion in enumerate(promotions):
            if promotion.promotion_id is not None:
                by_id[promotion.promotion_id].append(index)
            if not isinstance(promotion, ItemDiscount | Bonus):
                continue
            if isinstance(promotion, ItemDiscount):
                if promotion.items is not None:
                    for sku in promotion.items:
                        discount_skus[sku].append(index)
                elif promotion.price_conditions is not None:
                    price_only.append(index)
            elif promotion.condition is not None:
                for sku in promotion.condition:
                    bonus_skus[sku].append(index)
            else:
                any_purchase.append(index)
            if promotion.price_conditions:
                priced.append(index)
                for condition in promotion.price_conditions:
                    owners.append(index)
                    conditions.append(condition)
            if promotion.limits is not None and promotion.limits.per_user is not None:
                limited.append(index)
            if promotion.excluded_promotions:
                excluders.append(index)

        def ordered(found: list[int]) -> tuple[int, ...]:
            return tuple(sorted(found, key=rank))

        self._discount_skus = {sku: ordered(found) for sku, found in discount_skus.items()}
        self._bonus_skus = {sku: ordered(found) for sku, found in bonus_skus.items()}
        self.by_id = {number: tuple(found) for number, found in by_id.items()}
        """Promotions by numeric id (what `excluded_promotions` names)."""
        self._price_only = ordered(price_only)
        self._any_purchase = ordered(any_purchase)
        self._priced = frozenset(priced)
        self.limited = frozenset(limited)
        """Promotions with a per-user limit: a checkout reserves them; anonymous users lack one."""
        self.excluders = frozenset(excluders)
        """Promotions that exclude others."""
        family = ConditionFamily.of(
            owners, [c.operator for c in conditions], [c.value for c in conditions]
        )
        self._prices = OrderedConditions(family, size)
        self._answers: dict[tuple[str, Decimal | None], tuple[tuple[int, ...], tuple[int, ...]]]
        self._answers = {}

    def targets(self, sku: str, price: Decimal | None) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The discounts and the bonuses that target one unit of `sku` at `price` (None: a
        line priced only in virtual currency, which no discount and no price rule targets),
        each in the canonical order."""
        key = (sku, price)
        found = self._answers.get(key)
        if found is None:
            found = remember(self._answers, key, self._targets(sku, price), _CACHE_LIMIT)
        return found

    def _targets(self, sku: str, price: Decimal | None) -> tuple[tuple[int, ...], tuple[int, ...]]:
        priced = self._priced
        listed_bonuses = self._bonus_skus.get(sku, ())
        if price is None:
            bonuses = [i for i in (*listed_bonuses, *self._any_purchase) if i not in priced]
            return (), tuple(sorted(bonuses, key=self.ranks.__getitem__))
        failing = self._prices.fails(price) if priced else 0

        def meet(found: tuple[int, ...]) -> list[int]:
            return [i for i in found if i not in priced or not failing >> i & 1]

        discounts = meet(self._discount_skus.get(sku, ())) + meet(self._price_only)
        bonuses = meet(listed_bonuses) + meet(self._any_purchase)
        rank = self.ranks.__getitem__
        return tuple(sorted(discounts, key=rank)), tuple(sorted(bonuses, key=rank))
