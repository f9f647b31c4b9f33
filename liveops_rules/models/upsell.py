"""Upsell: the project's one upsell configuration, and the items of the caller's catalog it
can offer a player (LiveOps keeps the item catalog; the library is given it)."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

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
    to_tuple,
)
from liveops_rules.models.cart import MAX_PRICE, VirtualPrice
from liveops_rules.models.chain_fields import no_text, required_text, text, to_name
from liveops_rules.models.values import SKU_PATTERN, LocalizedName
from liveops_rules.money import CURRENCY_PATTERN, minor_units, round_money

__all__ = ["MAX_UPSELL_ITEMS", "CatalogItem", "ItemType", "UpsellConfig", "UpsellType"]

MAX_UPSELL_ITEMS = 1000
"""The most SKUs a fixed list names (the library's bound; LiveOps states none)."""

_sku = pattern(SKU_PATTERN, "an item SKU")


class UpsellType(enum.StrEnum):
    """Which items an upsell offers."""

    FIXED_LIST = "fixed_list"
    """The listed items, in the list's order."""
    MOST_SELLABLE = "most_sellable"
    """The items sold most recently (30 days by default)."""
    ONLY_PROMOTIONS = "only_promotions"
    """The items a running discount or bonus the player is eligible for targets."""


def _to_type(value: object) -> object:
    if isinstance(value, str):
        try:
            return UpsellType(value)
        except ValueError:
            raise ValidationError.single(
                "type", "fixed_list, most_sellable or only_promotions", value
            ) from None
    return value


def _tuple(value: Iterable[Any] | None) -> tuple[Any, ...]:
    return to_tuple(value)


@attrs.frozen(kw_only=True)
class UpsellConfig:
    """A project's upsell: its type, whether it is enabled and, for a fixed list, the SKUs it
    offers (each once, kept in order). Other types carry no items: any given are dropped, as
    LiveOps ignores them."""

    type: UpsellType = attrs.field(
        converter=_to_type,
        validator=instance_of(UpsellType, "fixed_list, most_sellable or only_promotions"),
    )
    enabled: bool = attrs.field(validator=is_bool)
    items: tuple[str, ...] = attrs.field(
        default=(), converter=_tuple, validator=each(_sku, max_items=MAX_UPSELL_ITEMS)
    )

    def __attrs_post_init__(self) -> None:
        if self.type is not UpsellType.FIXED_LIST:
            object.__setattr__(self, "items", ())
            return
        if not self.items:
            raise ValidationError.single("items", "at least one SKU for a fixed list", [])
        seen: set[str] = set()
        for index, sku in enumerate(self.items):
            if sku in seen:
                raise ValidationError.single(f"items[{index}]", "each SKU once", sku)
            seen.add(sku)


class ItemType(enum.StrEnum):
    """What a catalog item is (LiveOps' item types)."""

    VIRTUAL_GOOD = "virtual_good"
    VIRTUAL_CURRENCY = "virtual_currency"
    BUNDLE = "bundle"
    PHYSICAL_GOOD = "physical_good"
    GAME_KEY = "game_key"


def _to_item_type(value: object) -> object:
    if isinstance(value, str):
        try:
            return ItemType(value)
        except ValueError:
            kinds = ", ".join(t.value for t in ItemType)
            raise ValidationError.single("type", f"one of {kinds}", value) from None
    return value


@attrs.frozen(kw_only=True)
class CatalogItem:
    """An item of the caller's catalog: what an upsell can offer. `price` is the real-money
    unit price in `currency` (None: sold in virtual currencies only); `item_id` is LiveOps'
    numeric id when personalized catalog rules name items by it."""

    sku: str = attrs.field(validator=_sku)
    name: LocalizedName = attrs.field(converter=to_name, validator=required_text)
    type: ItemType = attrs.field(
        default=ItemType.VIRTUAL_GOOD,
        converter=_to_item_type,
        validator=instance_of(ItemType, "an item type"),
    )
    description: LocalizedName = attrs.field(factory=no_text, converter=to_name, validator=text)
    image_url: str | None = attrs.field(
        default=None, validator=optional(pattern(r".{1,2048}", "a URL"))
    )
    price: Decimal | None = attrs.field(
        default=None,
        converter=to_decimal,
        validator=optional(decimal_in(Decimal(0), None, "a non-negative decimal amount")),
    )
    currency: str | None = attrs.field(
        default=None, validator=optional(pattern(CURRENCY_PATTERN, "a three-letter ISO 4217 code"))
    )
    virtual_prices: tuple[VirtualPrice, ...] = attrs.field(
        default=(), converter=_tuple, validator=each(instance_of(VirtualPrice, "a VirtualPrice"))
    )
    item_id: int | None = attrs.field(default=None, validator=optional(int_in(1)))
    is_free: bool = attrs.field(default=False, validator=is_bool)

    def __attrs_post_init__(self) -> None:
        if (self.price is None) != (self.currency is None):
            raise ValidationError.single(
                "currency", "a currency exactly when there is a price", self.currency
            )
        if self.price is not None and self.currency is not None:
            if self.price >= MAX_PRICE:
                raise ValidationError.single("price", "an amount below 10**15", self.price)
            places = minor_units(self.currency)
            if round_money(self.price, places) != self.price:
                raise ValidationError.single(
                    "price",
                    f"an amount with at most {places} decimals in {self.currency}",
                    self.price,
                )
