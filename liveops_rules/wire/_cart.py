"""Cart JSON → `Cart`: `{"currency": "USD", "items": [{"sku", "quantity", "price"}]}`.

Prices are decimal strings ("10.00"), never JSON numbers, so no amount passes through binary
floating point. Every problem is reported with its JSON path.
"""

from __future__ import annotations

import re
from typing import Any

from liveops_rules.errors import Problem, ValidationError, describe
from liveops_rules.models.cart import Cart, CartLine, VirtualPrice
from liveops_rules.models.values import SKU_PATTERN
from liveops_rules.money import minor_units, round_money

__all__ = ["dump_cart", "load_cart"]

_DECIMAL = re.compile(r"\d{1,15}(\.\d{1,8})?", re.ASCII)
_SKU = re.compile(SKU_PATTERN, re.ASCII)


def _fields(
    data: object, path: str, required: set[str], optional: set[str], problems: list[Problem]
) -> dict[str, Any] | None:
    if not isinstance(data, dict):
        problems.append(Problem(path, "an object", describe(data)))
        return None
    for name in required - data.keys():
        problems.append(Problem(f"{path}.{name}", "a value (required)", "nothing"))
    for name in data.keys() - required - optional:
        problems.append(Problem(f"{path}.{name}", "no such field", describe(data[name])))
    return data


def _int(value: object, path: str, low: int, problems: list[Problem]) -> int | None:
    if type(value) is not int or value < low:
        problems.append(Problem(path, f"an integer of at least {low}", describe(value)))
        return None
    return value


def _line(data: object, path: str, problems: list[Problem]) -> CartLine | None:
    fields = _fields(data, path, {"sku"}, {"quantity", "price", "virtual_price"}, problems)
    if fields is None:
        return None
    before = len(problems)
    values: dict[str, Any] = {"sku": fields.get("sku")}
    if "sku" in fields and (
        not isinstance(values["sku"], str) or _SKU.fullmatch(values["sku"]) is None
    ):
        problems.append(Problem(f"{path}.sku", "an item SKU", describe(values["sku"])))
    if "quantity" in fields:
        values["quantity"] = _int(fields["quantity"], f"{path}.quantity", 1, problems)
    price = fields.get("price")
    if price is not None:
        if not isinstance(price, str) or _DECIMAL.fullmatch(price) is None:
            problems.append(
                Problem(f"{path}.price", 'a decimal string such as "10.00"', describe(price))
            )
        values["price"] = price
    virtual = fields.get("virtual_price")
    if virtual is not None:
        vpath = f"{path}.virtual_price"
        found = _fields(virtual, vpath, {"currency", "amount"}, set(), problems)
        if found is not None:
            amount = _int(found.get("amount"), f"{vpath}.amount", 0, problems)
            if amount is not None:
                try:
                    values["virtual_price"] = VirtualPrice(found.get("currency"), amount)  # type: ignore[arg-type]
                except ValidationError as error:
                    problems.extend(error.prefixed(vpath).problems)
    if len(problems) > before:
        return None
    try:
        return CartLine(**values)
    except ValidationError as error:
        problems.extend(error.prefixed(path).problems)
        return None


def load_cart(data: object) -> Cart:
    """The Cart a cart JSON document describes; a ValidationError lists every problem."""
    problems: list[Problem] = []
    fields = _fields(data, "$", {"currency", "items"}, set(), problems)
    if fields is None:
        raise ValidationError(problems)
    if "currency" in fields:
        try:
            minor_units(fields["currency"])
        except ValidationError as error:
            problems.extend(error.prefixed("$").problems)
    items = fields.get("items")
    lines: list[CartLine] = []
    if "items" in fields and not isinstance(items, list):
        problems.append(Problem("$.items", "a list of cart lines", describe(items)))
    elif isinstance(items, list):
        for index, item in enumerate(items):
            line = _line(item, f"$.items[{index}]", problems)
            if line is not None:
                lines.append(line)
    if problems:
        raise ValidationError(problems)
    try:
        return Cart(currency=fields["currency"], lines=lines)
    except ValidationError as error:
        renamed = [
            Problem(
                "$." + p.path.replace("lines[", "items[", 1),
                p.expected,
                p.found.replace("lines[", "$.items["),
            )
            for p in error.problems
        ]
        raise ValidationError(renamed) from None


def dump_cart(cart: Cart) -> dict[str, Any]:
    """The cart JSON document `load_cart` reads back into an equal Cart (prices as decimal
    strings, in the currency's minor unit)."""
    items: list[dict[str, Any]] = []
    for line in cart.lines:
        item: dict[str, Any] = {"sku": line.sku, "quantity": line.quantity}
        if line.price is not None:
            item["price"] = str(round_money(line.price, cart.minor_units))
        if line.virtual_price is not None:
            item["virtual_price"] = {
                "currency": line.virtual_price.currency,
                "amount": line.virtual_price.amount,
            }
        items.append(item)
    return {"currency": cart.currency, "items": items}
