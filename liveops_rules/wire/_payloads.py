"""The LiveOps JSON payloads as plain attrs classes, named and shaped as on the wire.

These classes only describe structure and JSON types; cattrs (see `_converter`) fills them
from parsed JSON. Meaning and validation live in the core models, built from these by
`_translate`. A field that appears only in the GET (response) form is optional here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NewType

import attrs

JsonStr = NewType("JsonStr", str)
JsonInt = NewType("JsonInt", int)
JsonBool = NewType("JsonBool", bool)
JsonNumber = NewType("JsonNumber", Decimal)
"""An int or a Decimal from JSON (never a bool)."""
AnyJson = NewType("AnyJson", object)
"""Any JSON value, kept as it is (for fields the library reads past)."""
Conditions = NewType("Conditions", object)
"""`attribute_conditions`: a list of conditions, or (item discounts) a list of such lists."""
LocaleTexts = NewType("LocaleTexts", object)
"""A LocaleMap: an object of locale to text, a text may be null (read as absent)."""
PerUserLimit = NewType("PerUserLimit", object)
"""`limits.per_user`: an int when written, `PerUserTotalPayload` (`{total}`) when read."""


@attrs.frozen(kw_only=True)
class AttributeConditionPayload:
    """One entry of `attribute_conditions`."""

    attribute: JsonStr
    type: JsonStr
    operator: JsonStr
    value: JsonStr
    can_be_missing: JsonBool | None = None


@attrs.frozen
class ConditionGroups:
    """`attribute_conditions` written as a list of lists, as LiveOps' item discount schema has
    it (each inner list of one condition type); all of them must hold."""

    groups: list[list[AttributeConditionPayload]]


@attrs.frozen(kw_only=True)
class RewardPayload:
    """`{sku, quantity}`: an item granted; LiveOps' default quantity is 1."""

    sku: JsonStr
    quantity: JsonNumber | None = None


@attrs.frozen(kw_only=True)
class SkuPayload:
    """`{sku}`: an item named by SKU."""

    sku: JsonStr


@attrs.frozen(kw_only=True)
class DiscountPayload:
    """`{percent}` of a cart or item discount; LiveOps sends the percent as a string."""

    percent: JsonStr | None = None


@attrs.frozen(kw_only=True)
class DiscountedItemPayload:
    """`{sku, discount: {percent}}` in a promo code's `discounted_items`."""

    sku: JsonStr
    discount: DiscountPayload


@attrs.frozen(kw_only=True)
class PriceConditionPayload:
    """`{operator, value}`: a price comparison; the value is a decimal string."""

    operator: JsonStr
    value: JsonStr


@attrs.frozen(kw_only=True)
class SchedulePayload:
    """`recurrent_schedule.per_user`; the `reset_*` fields appear in responses only."""

    interval_type: JsonStr
    time: JsonStr
    day_of_week: JsonInt | None = None
    day_of_month: JsonInt | None = None
    reset_next_date: JsonInt | None = None
    displayable_reset_start_date: JsonStr | None = None
    displayable_reset_next_date: JsonStr | None = None


@attrs.frozen(kw_only=True)
class RecurrentSchedulePayload:
    """`recurrent_schedule`: `{per_user: ...}`."""

    per_user: SchedulePayload | None = None


@attrs.frozen(kw_only=True)
class PerUserTotalPayload:
    """The response form of `limits.per_user`: `{total}`."""

    total: JsonInt | None = None


@attrs.frozen(kw_only=True)
class LimitsPayload:
    """`limits`: `per_user` is an int when written and `{total}` when read."""

    per_user: PerUserLimit | None = None
    per_item: JsonInt | None = None
    recurrent_schedule: RecurrentSchedulePayload | None = None


@attrs.frozen(kw_only=True)
class LimitStatePayload:
    """`total_limit_state` of a response: accounting data, not configuration."""

    available: JsonInt | None = None
    reserved: JsonInt | None = None
    used: JsonInt | None = None


@attrs.frozen(kw_only=True)
class PeriodPayload:
    """One of LiveOps v3 `promotion_periods`: `{date_from, date_until}`."""

    date_from: JsonStr
    date_until: JsonStr | None = None


@attrs.frozen(kw_only=True)
class _Common:
    name: dict[JsonStr, JsonStr]
    date_start: JsonStr | None = None
    date_end: JsonStr | None = None
    promotion_periods: list[PeriodPayload] | None = None
    is_enabled: JsonBool | None = None


@attrs.frozen(kw_only=True)
class _CodePromotion(_Common):
    external_id: JsonStr | None = None  # required except in an update body (it is in the path)
    redeem_total_limit: JsonInt | None = None
    redeem_user_limit: JsonInt | None = None
    redeem_code_limit: JsonInt | None = None
    total_limit_state: LimitStatePayload | None = None


@attrs.frozen(kw_only=True)
class CouponPayload(_CodePromotion):
    """A coupon, as created, updated or read."""

    bonus: list[RewardPayload] | None = None
    attribute_conditions: list[AttributeConditionPayload] | None = None


@attrs.frozen(kw_only=True)
class PromoCodePayload(_CodePromotion):
    """A promo code, as created, updated or read."""

    bonus: list[RewardPayload] | None = None
    attribute_conditions: list[AttributeConditionPayload] | None = None
    discount: DiscountPayload | None = None
    discounted_items: list[DiscountedItemPayload] | None = None
    price_conditions: list[PriceConditionPayload] | None = None
    item_price_conditions: list[PriceConditionPayload] | None = None
    excluded_promotions: list[JsonInt] | None = None


@attrs.frozen(kw_only=True)
class ItemDiscountPayload(_Common):
    """An item discount promotion; `id` is assigned by LiveOps and present when read."""

    discount: DiscountPayload
    id: JsonInt | None = None
    items: list[SkuPayload] | None = None
    attribute_conditions: Conditions | None = None
    price_conditions: list[PriceConditionPayload] | None = None
    limits: LimitsPayload | None = None
    excluded_promotions: list[JsonInt] | None = None


@attrs.frozen(kw_only=True)
class BonusPayload(_Common):
    """A bonus promotion; `condition: null` means any purchase."""

    bonus: list[RewardPayload]
    id: JsonInt | None = None
    condition: list[SkuPayload] | None = None
    attribute_conditions: list[AttributeConditionPayload] | None = None
    price_conditions: list[PriceConditionPayload] | None = None
    limits: LimitsPayload | None = None
    excluded_promotions: list[JsonInt] | None = None


@attrs.frozen(kw_only=True)
class UniqueCatalogOfferPayload(_CodePromotion):
    """A unique catalog offer: `items` is a list of SKU strings."""

    items: list[JsonStr] | None = None


@attrs.frozen(kw_only=True)
class ShownItemPayload:
    """An item of a personalized rule: `{sku}`, `{item_id}` or, as read, both with the item's
    catalog description (`name`, `type`, `bundle_type`), which the library reads past."""

    sku: JsonStr | None = None
    item_id: JsonInt | None = None
    name: AnyJson | None = None
    type: AnyJson | None = None
    bundle_type: AnyJson | None = None


@attrs.frozen(kw_only=True)
class PersonalizedRulePayload:
    """A personalized catalog rule; its `name` is plain text, not localized."""

    name: JsonStr
    rule_id: JsonInt | None = None
    is_enabled: JsonBool | None = None
    is_satisfied_for_unauth: JsonBool | None = None
    attribute_conditions: list[AttributeConditionPayload] | None = None
    items: list[ShownItemPayload] | None = None


@attrs.frozen(kw_only=True)
class UserPayload:
    """A user file: `{id, attributes}`; attribute values are any JSON scalars."""

    id: JsonStr | None = None
    attributes: dict[JsonStr, object] | None = None
