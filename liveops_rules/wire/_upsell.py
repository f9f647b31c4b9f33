"""LiveOps JSON ↔ upsell: the configuration's write body (`{type, is_enabled, items}`) and the
admin read, and the caller's item catalog (`{sku, name, price: {amount, currency}, ...}`, the
fields of LiveOps' catalog items an upsell offer needs). Strict: exact JSON types, unknown
fields refused, every problem at its JSON path."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from liveops_rules.errors import Problem, ValidationError, describe
from liveops_rules.models.cart import VirtualPrice
from liveops_rules.models.upsell import CatalogItem, UpsellConfig, UpsellType

__all__ = ["dump_catalog_items", "dump_upsell", "load_catalog_items", "load_upsell"]

_CONFIG_FIELDS = {"type", "is_enabled", "items"}
_ITEM_FIELDS = {
    "sku", "name", "type", "description", "image_url", "price", "virtual_prices", "item_id",
    "is_free",
}  # fmt: skip


def _object(data: object, path: str, allowed: set[str], problems: list[Problem]) -> dict[str, Any]:
    if not isinstance(data, dict):
        problems.append(Problem(path, "an object", describe(data)))
        return {}
    for key in data:
        if key not in allowed:
            problems.append(Problem(f"{path}.{key}", "no such field", describe(data[key])))
    return data


def _required(fields: dict[str, Any], name: str, path: str, problems: list[Problem]) -> Any:
    if name not in fields:
        problems.append(Problem(f"{path}.{name}", "a value (the field is required)", "nothing"))
    return fields.get(name)


def _built(build: Any, path: str, problems: list[Problem]) -> Any:
    try:
        return build()
    except ValidationError as error:
        problems.extend(error.prefixed(path).problems)
        return None


def load_upsell(data: object, path: str = "$") -> UpsellConfig:
    """The upsell configuration a create, update or admin read body holds (the read's item
    objects `{item_id, sku, name, type}` are read as their SKUs)."""
    problems: list[Problem] = []
    fields = _object(data, path, _CONFIG_FIELDS, problems)
    kind = _required(fields, "type", path, problems)
    enabled = _required(fields, "is_enabled", path, problems)
    if "is_enabled" in fields and not isinstance(enabled, bool):
        problems.append(Problem(f"{path}.is_enabled", "true or false", describe(enabled)))
    if kind is not None and (
        not isinstance(kind, str) or kind not in {t.value for t in UpsellType}
    ):
        problems.append(
            Problem(f"{path}.type", "fixed_list, most_sellable or only_promotions", describe(kind))
        )
    items = fields.get("items")
    if kind == UpsellType.FIXED_LIST.value:
        items = _required(fields, "items", path, problems)
    skus: list[str] = []
    if items is not None:
        if not isinstance(items, list):
            problems.append(Problem(f"{path}.items", "a list of SKUs", describe(items)))
        else:
            for index, entry in enumerate(items):
                sku = entry.get("sku") if isinstance(entry, dict) else entry
                if not isinstance(sku, str):
                    problems.append(Problem(f"{path}.items[{index}]", "a SKU", describe(entry)))
                else:
                    skus.append(sku)
    if problems:
        raise ValidationError(problems)
    config = _built(
        lambda: UpsellConfig(type=kind, enabled=enabled, items=tuple(skus)), path, problems
    )
    if problems:
        raise ValidationError(problems)
    assert isinstance(config, UpsellConfig)
    return config


def dump_upsell(config: UpsellConfig) -> dict[str, Any]:
    """LiveOps' write body (and the admin read without item descriptions)."""
    if not isinstance(config, UpsellConfig):
        raise ValidationError.single("upsell", "an UpsellConfig", config)
    return {"type": config.type.value, "is_enabled": config.enabled, "items": list(config.items)}


def _money(value: object, path: str, problems: list[Problem]) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        problems.append(Problem(path, 'an amount (a string such as "9.99")', describe(value)))
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        problems.append(Problem(path, "an amount", describe(value)))
        return None
    if not amount.is_finite():
        problems.append(Problem(path, "a finite amount", describe(value)))
        return None
    return amount


def _item(data: object, path: str, problems: list[Problem]) -> CatalogItem | None:
    found: list[Problem] = []
    fields = _object(data, path, _ITEM_FIELDS, found)
    _required(fields, "sku", path, found)
    _required(fields, "name", path, found)
    price = currency = None
    if fields.get("price") is not None:
        shown = _object(fields["price"], f"{path}.price", {"amount", "currency"}, found)
        price = _money(
            _required(shown, "amount", f"{path}.price", found), f"{path}.price.amount", found
        )
        currency = _required(shown, "currency", f"{path}.price", found)
    virtual = []
    listed = fields.get("virtual_prices") or []
    if not isinstance(listed, list):
        found.append(Problem(f"{path}.virtual_prices", "a list", describe(listed)))
        listed = []
    for index, entry in enumerate(listed):
        at = f"{path}.virtual_prices[{index}]"
        shown = _object(entry, at, {"sku", "amount"}, found)
        sku, amount = _required(shown, "sku", at, found), _required(shown, "amount", at, found)
        if isinstance(amount, bool) or not isinstance(amount, int):
            found.append(Problem(f"{at}.amount", "a whole amount", describe(amount)))
        elif sku is not None:
            price_in = _built(lambda s=sku, a=amount: VirtualPrice(s, a), at, found)
            if price_in is not None:
                virtual.append(price_in)
    name = fields.get("name")
    if isinstance(name, str):
        name = {"en": name}
    for flag in ("is_free",):
        if flag in fields and not isinstance(fields[flag], bool):
            found.append(Problem(f"{path}.{flag}", "true or false", describe(fields[flag])))
    if found:
        problems.extend(found)
        return None
    description = fields.get("description")
    built = _built(
        lambda: CatalogItem(
            sku=fields["sku"],
            name=name,
            type=fields.get("type", "virtual_good"),
            description={"en": description}
            if isinstance(description, str)
            else (description if description is not None else {}),
            image_url=fields.get("image_url"),
            price=price,
            currency=currency,
            virtual_prices=tuple(virtual),
            item_id=fields.get("item_id"),
            is_free=fields.get("is_free", False),
        ),
        path,
        problems,
    )
    return built if isinstance(built, CatalogItem) else None


def load_catalog_items(data: object, path: str = "$") -> list[CatalogItem]:
    """The caller's item catalog: a list of items, or an object whose `items` is one."""
    problems: list[Problem] = []
    listed = data
    at = path
    if isinstance(data, dict):
        listed = _object(data, path, {"items"}, problems).get("items")
        at = f"{path}.items"
    if not isinstance(listed, list):
        raise ValidationError([*problems, Problem(at, "a list of items", describe(listed))])
    items = [_item(entry, f"{at}[{index}]", problems) for index, entry in enumerate(listed)]
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if item is not None:
            if item.sku in seen:
                problems.append(Problem(f"{at}[{index}].sku", "each SKU once", describe(item.sku)))
            seen.setdefault(item.sku, index)
    if problems:
        raise ValidationError(problems)
    return [item for item in items if item is not None]


def dump_catalog_items(items: list[CatalogItem]) -> list[dict[str, Any]]:
    """The items as `load_catalog_items` reads them."""
    if not isinstance(items, list | tuple) or not all(isinstance(i, CatalogItem) for i in items):
        raise ValidationError.single("items", "a list of CatalogItems", items)
    dumped = []
    for item in items:
        shown: dict[str, Any] = {
            "sku": item.sku,
            "name": dict(item.name.pairs),
            "type": item.type.value,
        }
        if item.description.pairs:
            shown["description"] = dict(item.description.pairs)
        if item.image_url is not None:
            shown["image_url"] = item.image_url
        if item.price is not None:
            shown["price"] = {"amount": str(item.price), "currency": item.currency}
        if item.virtual_prices:
            shown["virtual_prices"] = [
                {"sku": p.currency, "amount": p.amount} for p in item.virtual_prices
            ]
        if item.item_id is not None:
            shown["item_id"] = item.item_id
        if item.is_free:
            shown["is_free"] = True
        dumped.append(shown)
    return dumped
