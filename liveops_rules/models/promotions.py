"""The promotion kinds of LiveOps, as immutable values validated at construction."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeAlias, TypeVar

import attrs

from liveops_rules.errors import ValidationError
from liveops_rules.models._validate import (
    decimal_in,
    each,
    instance_of,
    int_in,
    is_bool,
    optional,
    pattern,
    to_decimal,
    to_optional_tuple,
    to_tuple,
)
from liveops_rules.models.conditions import (
    _COMPARE,
    STRING_EQ,
    STRING_NE,
    Check,
    Condition,
    DateCondition,
    NumberCondition,
    StringCondition,
)
from liveops_rules.models.limits import PromotionLimits
from liveops_rules.models.values import SKU_PATTERN, LocalizedName, Operator, RewardItem, ShownItem
from liveops_rules.models.window import ValidityWindow

__all__ = [
    "MAX_CONDITIONS",
    "Bonus",
    "Coupon",
    "DiscountedItem",
    "ItemDiscount",
    "PersonalizedCatalogRule",
    "PriceCondition",
    "PromoCode",
    "Promotion",
    "PromotionKind",
    "UniqueCatalogOffer",
]

MAX_CONDITIONS = 100
"""LiveOps allows at most this many attribute conditions on one promotion."""

EXTERNAL_ID_PATTERN = r"[A-Za-z0-9._-]{1,255}"

_HUNDRED = Decimal(100)
T = TypeVar("T")

StringCheck: TypeAlias = tuple[str, Any, bool]
"""A string condition in a `gate`: (attribute, expected, can_be_missing)."""
Rare: TypeAlias = tuple[ValidityWindow | None, bool | None]
"""A `gate`'s rarely needed part: (the window when it has periods, `satisfied_for_unauth`
for a personalized rule), each None when it does not apply."""
Gate: TypeAlias = tuple[
    datetime | None,
    datetime | None,
    Rare | None,
    tuple[StringCheck, ...],
    tuple[StringCheck, ...],
    tuple[Check, ...],
]
"""An enabled promotion's `gate`: everything `is_eligible` reads, in one tuple."""


class PromotionKind(enum.StrEnum):
    """The kinds of promotion, named as in a catalog file's lists."""

    COUPON = "coupon"
    PROMO_CODE = "promocode"
    ITEM_DISCOUNT = "discount"
    BONUS = "bonus"
    UNIQUE_CATALOG_OFFER = "unique_catalog_offer"
    PERSONALIZED_RULE = "personalized_rule"


_sku = pattern(SKU_PATTERN, "an item SKU")
_limit = optional(int_in(1))
_percent = decimal_in(Decimal(0), _HUNDRED, "a percent in (0, 100]", low_open=True)
_condition = instance_of(
    (StringCondition, NumberCondition, DateCondition), "an attribute condition"
)


def _to_name(value: object) -> object:
    if not isinstance(value, dict):
        return value
    try:
        return LocalizedName(value)
    except ValidationError as error:
        raise error.prefixed("name") from None


def _to_listed_skus(value: Iterable[str] | None) -> tuple[str, ...] | None:
    return _to_optional_skus(value) or None


def _parse_operator(value: object) -> Operator:
    return Operator.parse(value)


@attrs.frozen
class PriceCondition:
    """A price (a cart's total or one item's price) compares with `value` by `operator`."""

    operator: Operator = attrs.field(converter=_parse_operator)
    value: Decimal = attrs.field(
        converter=to_decimal,
        validator=decimal_in(Decimal(0), None, "a non-negative decimal amount"),
    )

    def holds(self, price: Decimal) -> bool:
        """Whether `price` meets the condition."""
        return bool(_COMPARE[self.operator](price, self.value))


@attrs.frozen
class DiscountedItem:
    """A promo code's discount on one SKU."""

    sku: str = attrs.field(validator=_sku)
    percent: Decimal = attrs.field(converter=to_decimal, validator=_percent)


# Converters typed by element, so that a constructor accepts any iterable of the right values
# (a list mixing condition types included) and mypy checks the elements.
def _to_conditions(value: Iterable[Condition] | None) -> tuple[Condition, ...]:
    return to_tuple(value)


def _to_rewards(value: Iterable[RewardItem] | None) -> tuple[RewardItem, ...]:
    return to_tuple(value)


def _to_skus(value: Iterable[str] | None) -> tuple[str, ...]:
    return to_tuple(value)


def _to_optional_skus(value: Iterable[str] | None) -> tuple[str, ...] | None:
    return to_optional_tuple(value)


def _to_ids(value: Iterable[int] | None) -> tuple[int, ...]:
    return to_tuple(value)


def _to_prices(value: Iterable[PriceCondition] | None) -> tuple[PriceCondition, ...] | None:
    return to_optional_tuple(value)


def _to_discounted(value: Iterable[DiscountedItem] | None) -> tuple[DiscountedItem, ...] | None:
    return to_optional_tuple(value)


def _to_shown(value: Iterable[ShownItem] | None) -> tuple[ShownItem, ...]:
    return to_tuple(value)


_price_conditions = optional(each(instance_of(PriceCondition, "a PriceCondition")))
_excluded = each(int_in(1))


def _rebuild(cls: type[T], fields: dict[str, Any]) -> T:
    return cls(**fields)


@attrs.frozen(kw_only=True)
class _PromotionBase:
    """What every promotion has: identity, window, conditions and an enabled flag."""

    kind: ClassVar[PromotionKind]

    external_id: str | None = attrs.field(
        default=None,
        validator=optional(pattern(EXTERNAL_ID_PATTERN, "an external id ([A-Za-z0-9._-], 1..255)")),
    )
    promotion_id: int | None = attrs.field(default=None, validator=optional(int_in(1)))
    window: ValidityWindow = attrs.field(
        factory=ValidityWindow, validator=instance_of(ValidityWindow, "a ValidityWindow")
    )
    conditions: tuple[Condition, ...] = attrs.field(
        default=(), converter=_to_conditions, validator=each(_condition, max_items=MAX_CONDITIONS)
    )
    enabled: bool = attrs.field(default=False, validator=is_bool)
    gate: Gate | None = attrs.field(init=False, eq=False, hash=False, repr=False, order=False)
    """What `is_eligible` reads, gathered once: None for a disabled promotion, else (start,
    end, None or the rare part (the window when it has periods, `satisfied_for_unauth` for a
    personalized rule), string `eq` checks, string `ne` checks, other checks); each string
    check is (attribute, expected, can_be_missing), each other a condition's whole `check`."""

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "gate", self._gate() if self.enabled else None)

    def _unauth(self) -> bool | None:
        """What an anonymous user is answered without reading conditions (None: read them)."""
        return None

    def _gate(self) -> Gate:
        window = self.window
        equal: list[StringCheck] = []
        unequal: list[StringCheck] = []
        typed: list[Check] = []
        for condition in self.conditions:
            check = condition.check
            attribute, kind, _, expected, can_be_missing = check
            if kind == STRING_EQ:
                equal.append((attribute, expected, can_be_missing))
            elif kind == STRING_NE:
                unequal.append((attribute, expected, can_be_missing))
            else:
                typed.append(check)
        periods = window if window.periods else None
        unauth = self._unauth()
        # Most promotions have neither: one test skips both.
        rare = None if periods is None and unauth is None else (periods, unauth)
        return (
            window.start,
            window.end,
            rare,
            tuple(equal),
            tuple(unequal),
            tuple(typed),
        )

    def __reduce__(self) -> tuple[Any, ...]:
        fields = {f.name: getattr(self, f.name) for f in attrs.fields(type(self)) if f.init}
        return (_rebuild, (type(self), fields))

    @property
    def key(self) -> str | None:
        """The promotion's name in results: its external id, else its numeric id as text.

        None for a promotion not yet given an id (as in a create request for an item
        discount, whose id LiveOps assigns).
        """
        if self.external_id is not None:
            return self.external_id
        return None if self.promotion_id is None else str(self.promotion_id)


@attrs.frozen(kw_only=True)
class _Named(_PromotionBase):
    name: LocalizedName = attrs.field(
        factory=lambda: LocalizedName({}),
        converter=_to_name,
        validator=instance_of(LocalizedName, "a mapping of locale to text"),
    )


@attrs.frozen(kw_only=True)
class _CodeLimits(_Named):
    redeem_total_limit: int | None = attrs.field(default=None, validator=_limit)
    redeem_user_limit: int | None = attrs.field(default=None, validator=_limit)
    redeem_code_limit: int | None = attrs.field(default=None, validator=_limit)


@attrs.frozen(kw_only=True)
class Coupon(_CodeLimits):
    """A coupon: codes a user redeems for `bonus` items, within redemption limits."""

    kind: ClassVar[PromotionKind] = PromotionKind.COUPON

    bonus: tuple[RewardItem, ...] = attrs.field(
        default=(), converter=_to_rewards, validator=each(instance_of(RewardItem, "a RewardItem"))
    )


@attrs.frozen(kw_only=True)
class PromoCode(_CodeLimits):
    """A promo code: a code applied to a cart for discounts and bonus items."""

    kind: ClassVar[PromotionKind] = PromotionKind.PROMO_CODE

    bonus: tuple[RewardItem, ...] = attrs.field(
        default=(), converter=_to_rewards, validator=each(instance_of(RewardItem, "a RewardItem"))
    )
    discount_percent: Decimal | None = attrs.field(
        default=None, converter=to_decimal, validator=optional(_percent)
    )
    discounted_items: tuple[DiscountedItem, ...] | None = attrs.field(
        default=None,
        converter=_to_discounted,
        validator=optional(each(instance_of(DiscountedItem, "a DiscountedItem"))),
    )
    price_conditions: tuple[PriceCondition, ...] | None = attrs.field(
        default=None, converter=_to_prices, validator=_price_conditions
    )
    item_price_conditions: tuple[PriceCondition, ...] | None = attrs.field(
        default=None, converter=_to_prices, validator=_price_conditions
    )
    excluded_promotions: tuple[int, ...] = attrs.field(
        default=(), converter=_to_ids, validator=_excluded
    )


@attrs.frozen(kw_only=True)
class ItemDiscount(_Named):
    """A discount of `discount_percent` on the listed SKUs or on items matching price rules.

    `items` None or empty lists no SKU (LiveOps writes `"items": []` for a discount that its
    price conditions target); both are kept as None.
    """

    kind: ClassVar[PromotionKind] = PromotionKind.ITEM_DISCOUNT

    discount_percent: Decimal = attrs.field(converter=to_decimal, validator=_percent)
    items: tuple[str, ...] | None = attrs.field(
        default=None, converter=_to_listed_skus, validator=optional(each(_sku))
    )
    price_conditions: tuple[PriceCondition, ...] | None = attrs.field(
        default=None, converter=_to_prices, validator=_price_conditions
    )
    limits: PromotionLimits | None = attrs.field(
        default=None, validator=optional(instance_of(PromotionLimits, "a PromotionLimits"))
    )
    excluded_promotions: tuple[int, ...] = attrs.field(
        default=(), converter=_to_ids, validator=_excluded
    )


@attrs.frozen(kw_only=True)
class Bonus(_Named):
    """A bonus: buying any of the `condition` SKUs (any purchase when None) grants `bonus`."""

    kind: ClassVar[PromotionKind] = PromotionKind.BONUS

    bonus: tuple[RewardItem, ...] = attrs.field(
        converter=_to_rewards,
        validator=each(instance_of(RewardItem, "a RewardItem"), min_items=1),
    )
    condition: tuple[str, ...] | None = attrs.field(
        default=None, converter=_to_optional_skus, validator=optional(each(_sku))
    )
    price_conditions: tuple[PriceCondition, ...] | None = attrs.field(
        default=None, converter=_to_prices, validator=_price_conditions
    )
    limits: PromotionLimits | None = attrs.field(
        default=None, validator=optional(instance_of(PromotionLimits, "a PromotionLimits"))
    )
    excluded_promotions: tuple[int, ...] = attrs.field(
        default=(), converter=_to_ids, validator=_excluded
    )


@attrs.frozen(kw_only=True)
class UniqueCatalogOffer(_CodeLimits):
    """A unique catalog offer: a code that unlocks the listed SKUs in the catalog."""

    kind: ClassVar[PromotionKind] = PromotionKind.UNIQUE_CATALOG_OFFER

    items: tuple[str, ...] = attrs.field(default=(), converter=_to_skus, validator=each(_sku))


@attrs.frozen(kw_only=True)
class PersonalizedCatalogRule(_PromotionBase):
    """A personalized catalog rule: users who meet its conditions see its `items`.

    An anonymous user sees them only when `satisfied_for_unauth` is true, and then whatever
    the conditions say.
    """

    kind: ClassVar[PromotionKind] = PromotionKind.PERSONALIZED_RULE

    name: str = attrs.field(
        validator=pattern(r"\S.{0,254}", "a name of 1..255 characters, not starting with a space")
    )
    items: tuple[ShownItem, ...] = attrs.field(
        default=(),
        converter=_to_shown,
        validator=each(instance_of(ShownItem, "a ShownItem"), max_items=100),
    )
    satisfied_for_unauth: bool = attrs.field(default=False, validator=is_bool)

    def _unauth(self) -> bool | None:
        return self.satisfied_for_unauth


Promotion: TypeAlias = (
    Coupon | PromoCode | ItemDiscount | Bonus | UniqueCatalogOffer | PersonalizedCatalogRule
)
"""Any promotion."""
