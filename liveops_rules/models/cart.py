"""A shopping cart to price: lines of SKUs with quantities and unit prices in one currency."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import attrs

from liveops_rules.errors import Problem, ValidationError, describe
from liveops_rules.models._validate import (
    decimal_in,
    each,
    instance_of,
    int_in,
    optional,
    pattern,
    to_decimal,
    to_tuple,
)
from liveops_rules.models.values import SKU_PATTERN
from liveops_rules.money import CURRENCY_PATTERN, minor_units, round_money

__all__ = ["MAX_PRICE", "Cart", "CartLine", "VirtualPrice"]

MAX_PRICE = Decimal(10) ** 15
"""Unit prices must be below this (a quadrillion in any currency)."""

_MAX_QUANTITY = 1_000_000
_sku = pattern(SKU_PATTERN, "an item SKU")


def _to_lines(value: Iterable[CartLine]) -> tuple[CartLine, ...]:
    return to_tuple(value)


@attrs.frozen
class VirtualPrice:
    """A price in a virtual currency: whole units of the currency item `currency`."""

    currency: str = attrs.field(validator=pattern(SKU_PATTERN, "a virtual currency SKU"))
    amount: int = attrs.field(validator=int_in(0))


@attrs.frozen(kw_only=True)
class CartLine:
    """One SKU in a cart: how many, and the price of one unit.

    `price` is the real-money unit price in the cart's currency; `virtual_price` the price in
    a virtual currency, which discounts never change. A line has at least one of them.
    """

    sku: str = attrs.field(validator=_sku)
    quantity: int = attrs.field(default=1, validator=int_in(1, _MAX_QUANTITY))
    price: Decimal | None = attrs.field(
        default=None,
        converter=to_decimal,
        validator=optional(
            decimal_in(Decimal(0), None, "a non-negative decimal amount below 10**15")
        ),
    )
    virtual_price: VirtualPrice | None = attrs.field(
        default=None, validator=optional(instance_of(VirtualPrice, "a VirtualPrice"))
    )

    def __attrs_post_init__(self) -> None:
        if self.price is None and self.virtual_price is None:
            raise ValidationError.single("price", "a price, a virtual_price or both", None)
        if self.price is not None and self.price >= MAX_PRICE:
            raise ValidationError.single(
                "price", "a non-negative decimal amount below 10**15", self.price
            )


@attrs.frozen(kw_only=True)
class Cart:
    """Lines to price, each SKU once, with real-money prices in `currency`.

    Prices may not have more decimals than the currency's minor unit (`minor_units`, by
    default the ISO 4217 exponent: 2 for USD, 0 for JPY, 3 for KWD).
    """

    currency: str = attrs.field(validator=pattern(CURRENCY_PATTERN, "a three-letter ISO 4217 code"))
    lines: tuple[CartLine, ...] = attrs.field(
        converter=_to_lines, validator=each(instance_of(CartLine, "a CartLine"), max_items=1000)
    )
    minor_units: int = attrs.field(validator=int_in(0, 8))

    @minor_units.default
    def _currency_minor_units(self) -> int:
        return minor_units(self.currency)

    def __attrs_post_init__(self) -> None:
        problems: list[Problem] = []
        seen: dict[str, int] = {}
        for index, line in enumerate(self.lines):
            if line.sku in seen:
                problems.append(
                    Problem(
                        f"lines[{index}].sku",
                        "each SKU once (add to the first line's quantity)",
                        f"{describe(line.sku)}, already lines[{seen[line.sku]}]",
                    )
                )
            else:
                seen[line.sku] = index
            price = line.price
            if price is not None and round_money(price, self.minor_units) != price:
                problems.append(
                    Problem(
                        f"lines[{index}].price",
                        f"a {self.currency} amount with at most {self.minor_units} decimals",
                        describe(price),
                    )
                )
        if problems:
            raise ValidationError(problems)
