"""For a cart line (a SKU at a price), the discounts and bonuses that target it, as bitsets.

Built once from a catalog's promotions (bit i is the catalog's promotion i). Listed SKUs are
looked up in a dict; price conditions are answered like number conditions on an attribute
(`OrderedConditions`): the promotions a price fails, remembered per price seen.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from liveops_rules._attribute_index import OrderedConditions
from liveops_rules._bitset import bitset
from liveops_rules.models.promotions import Bonus, ItemDiscount, PriceCondition, Promotion

__all__ = ["PricingIndex"]

_CACHE_LIMIT = 4096


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
    """Which discounts and bonuses of a catalog target a given cart line."""

    def __init__(self, promotions: Sequence[Promotion]) -> None:
        size = len(promotions)
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
        self._size = size
        self._discount_skus = {sku: bitset(found, size) for sku, found in discount_skus.items()}
        self._bonus_skus = {sku: bitset(found, size) for sku, found in bonus_skus.items()}
        self.by_id = {number: bitset(found, size) for number, found in by_id.items()}
        """Promotions by numeric id (what `excluded_promotions` names)."""
        self._price_only = bitset(price_only, size)
        self._any_purchase = bitset(any_purchase, size)
        self._priced = bitset(priced, size)
        self.limited = bitset(limited, size)
        """Promotions with a per-user limit: a checkout reserves them; anonymous users lack one."""
        self.excluders = bitset(excluders, size)
        """Promotions that exclude others."""
        self.ranks = _canonical_order(promotions)
        self._prices = OrderedConditions(
            owners, [c.operator for c in conditions], [c.value for c in conditions], size
        )
        self._fails: dict[Decimal, int] = {}

    def _failing(self, price: Decimal) -> int:
        found = self._fails.get(price)
        if found is None:
            found = self._prices.fails(price) if self._priced else 0
            if len(self._fails) >= _CACHE_LIMIT:
                del self._fails[next(iter(self._fails))]
            self._fails[price] = found
        return found

    def targets(self, sku: str, price: Decimal | None) -> tuple[int, int]:
        """The discounts and the bonuses that target one unit of `sku` at `price` (None: a
        line priced only in virtual currency, which no discount and no price rule targets)."""
        bonuses = self._bonus_skus.get(sku, 0) | self._any_purchase
        if price is None:
            return 0, bonuses & ~self._priced
        discounts = self._discount_skus.get(sku, 0) | self._price_only
        failing = self._failing(price)
        return discounts & ~failing, bonuses & ~failing
