"""LiveOps answers and small bodies ↔ `models.answers`: created ids, codes, per-code limits,
pages of promotions, code rewards and verification, the repriced cart of a promo code.

Catalog descriptions of items (`name`, `description`, `image_url`, `unit_items`, `groups`,
...) are accepted where LiveOps sends them and read past: the library knows items by SKU.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from liveops_rules.errors import ValidationError
from liveops_rules.models import DiscountedItem, RewardItem, ShownItem
from liveops_rules.models.answers import (
    CodeLimitPage,
    CodeLimitState,
    CodeList,
    CodeRequest,
    CodeRewards,
    CodeVerification,
    CreatedCode,
    CreatedPromotion,
    ErrorAnswer,
    GeneratedCodes,
    LinePromotion,
    PromoCodeRemoveRequest,
    PromotionSummary,
    PromotionSummaryPage,
    RedeemedCart,
    RedeemedLine,
    RulePatch,
    UserLimitReset,
)
from liveops_rules.wire._converter import structure
from liveops_rules.wire._dump import dump_conditions, moment_text
from liveops_rules.wire._payloads import (
    AnyJson,
    AttributeConditionPayload,
    JsonBool,
    JsonInt,
    JsonNumber,
    JsonStr,
    LimitsPayload,
    ShownItemPayload,
)
from liveops_rules.wire._translate import Problems, conditions, limits, percent, window

__all__ = ["ANSWER_LOADERS", "dump_answer"]

T = TypeVar("T")


def _described(name: str, fields: dict[str, Any], described: Sequence[str]) -> type:
    """A payload class with `fields` and, optional and read past, the `described` ones."""
    attributes = {key: attrs.field(default=default) for key, (_, default) in fields.items()}
    for key in described:
        attributes.setdefault(key, attrs.field(default=None))
    cls = attrs.make_class(name, attributes, frozen=True, kw_only=True)
    cls.__annotations__ = {
        **{key: kind for key, (kind, _) in fields.items()},
        **{key: AnyJson | None for key in described if key not in fields},
    }
    attrs.resolve_types(cls)
    return cls


_NOTHING = attrs.NOTHING
_ITEM_DESCRIPTION = (
    "item_id",
    "name",
    "type",
    "description",
    "long_description",
    "image_url",
    "media_list",
    "unit_items",
    "inventory_options",
    "bundle_type",
    "content",
    "virtual_item_type",
    "groups",
    "attributes",
    "is_free",
    "price",
    "virtual_prices",
    "can_be_bought",
    "vp_rewards",
    "limits",
    "periods",
    "order",
)
_CatalogItem = _described("_CatalogItem", {"sku": (JsonStr, _NOTHING)}, _ITEM_DESCRIPTION)
_RewardEntry = _described(
    "_RewardEntry",
    {"item": (_CatalogItem, _NOTHING), "quantity": (JsonNumber | None, None)},
    (),
)
_DescribedDiscountedItem = _described(
    "_DescribedDiscountedItem",
    {"sku": (JsonStr, _NOTHING), "discount": (AnyJson, _NOTHING)},
    _ITEM_DESCRIPTION,
)


@attrs.frozen(kw_only=True)
class _Percent:
    percent: JsonStr | None = None
    value: AnyJson | None = None


@attrs.frozen(kw_only=True)
class _Rewards:
    bonus: list[_RewardEntry] | None = None  # type: ignore[valid-type]
    discount: _Percent | None = None
    discounted_items: list[_DescribedDiscountedItem] | None = None  # type: ignore[valid-type]
    is_selectable: JsonBool | None = None


def _quantity(value: Decimal | int | None) -> int | Decimal:
    if value is None:
        return 1
    return int(value) if value == int(value) else value


def _reward_items(entries: Sequence[Any] | None, path: str, problems: Problems) -> Any:
    return tuple(
        problems.build(
            RewardItem,
            {"sku": entry.item.sku, "quantity": _quantity(entry.quantity)},
            f"{path}[{index}]",
            {},
        )
        for index, entry in enumerate(entries or ())
    )


def _rewards(payload: _Rewards, path: str, problems: Problems) -> CodeRewards | None:
    discounted = None
    if payload.discounted_items is not None:
        discounted = []
        entry: Any
        for index, entry in enumerate(payload.discounted_items):
            at = f"{path}.discounted_items[{index}]"
            shape = structure(entry.discount, _Percent, f"{at}.discount")
            discounted.append(
                problems.build(
                    DiscountedItem,
                    {
                        "sku": entry.sku,
                        "percent": percent(shape.percent, f"{at}.discount.percent", problems),
                    },
                    at,
                    {"percent": "discount.percent"},
                )
            )
    return problems.build(
        CodeRewards,
        {
            "bonus": [r for r in _reward_items(payload.bonus, f"{path}.bonus", problems) if r],
            "discount_percent": percent(
                None if payload.discount is None else payload.discount.percent,
                f"{path}.discount.percent",
                problems,
            ),
            "discounted_items": None if discounted is None else [d for d in discounted if d],
            "is_selectable": bool(payload.is_selectable),
        },
        path,
        {"discount_percent": "discount.percent"},
    )


def _finish(problems: Problems, built: T | None) -> T:
    problems.raise_if_any()
    if built is None:  # every failure was recorded in problems
        raise ValidationError.single("$", "a valid payload", None)
    return built


def _load_rewards(data: object, path: str) -> CodeRewards:
    problems = Problems()
    return _finish(problems, _rewards(structure(data, _Rewards, path), path, problems))


@attrs.frozen(kw_only=True)
class _Verification:
    type: JsonStr
    code: JsonStr
    rewards: _Rewards


def _load_verification(data: object, path: str) -> CodeVerification:
    payload = structure(data, _Verification, path)
    problems = Problems()
    rewards = _rewards(payload.rewards, f"{path}.rewards", problems)
    if payload.type not in ("coupon", "promocode"):
        problems.add(f"{path}.type", "coupon or promocode", payload.type)
        return _finish(problems, None)
    return _finish(
        problems,
        problems.build(
            CodeVerification,
            {"kind": payload.type, "code": payload.code, "rewards": rewards},
            path,
            {},
        ),
    )


@attrs.frozen(kw_only=True)
class _Created:
    external_id: JsonStr | None = None
    promotion_id: JsonInt | None = None
    rule_id: JsonInt | None = None


def _load_created(data: object, path: str) -> CreatedPromotion:
    payload = structure(data, _Created, path)
    problems = Problems()
    return _finish(problems, problems.build(CreatedPromotion, attrs.asdict(payload), path, {}))


def _simple(
    payload_class: type, model: type[T], names: Mapping[str, str]
) -> Callable[[object, str], T]:
    """A loader of a flat payload whose fields map to the model's by `names` (JSON → model)."""

    def load(data: object, path: str) -> T:
        payload: Any = structure(data, payload_class, path)
        problems = Problems()
        values = {names.get(k, k): v for k, v in attrs.asdict(payload, recurse=False).items()}
        back = {model_name: json_name for json_name, model_name in names.items()}
        return _finish(problems, problems.build(model, values, path, back))

    return load


@attrs.frozen(kw_only=True)
class _CodeBody:
    coupon_code: JsonStr


@attrs.frozen(kw_only=True)
class _CodeAnswer:
    code: JsonStr


@attrs.frozen(kw_only=True)
class _Count:
    count: JsonInt


@attrs.frozen(kw_only=True)
class _CodeEntry:
    code: JsonStr


@attrs.frozen(kw_only=True)
class _CodeListPayload:
    codes: list[_CodeEntry]
    total_count: JsonInt | None = None


def _load_code_list(data: object, path: str) -> CodeList:
    payload = structure(data, _CodeListPayload, path)
    problems = Problems()
    built = problems.build(
        CodeList,
        {"codes": [c.code for c in payload.codes], "total_count": payload.total_count},
        path,
        {},
    )
    return _finish(problems, built)


@attrs.frozen(kw_only=True)
class _PerCode:
    total: JsonInt
    available: JsonInt
    used: JsonInt
    reserved: JsonInt


@attrs.frozen(kw_only=True)
class _CodeLimitEntry:
    code: JsonStr
    per_code: _PerCode


@attrs.frozen(kw_only=True)
class _CodeLimits:
    promotion_id: JsonInt | None = None
    items: list[_CodeLimitEntry]
    total_items_count: JsonInt | None = None
    has_more: JsonBool | None = None


def _load_code_limits(data: object, path: str) -> CodeLimitPage:
    payload = structure(data, _CodeLimits, path)
    problems = Problems()
    items = [
        problems.build(
            CodeLimitState,
            {"code": e.code, **attrs.asdict(e.per_code)},
            f"{path}.items[{i}]",
            {key: f"per_code.{key}" for key in ("total", "available", "used", "reserved")},
        )
        for i, e in enumerate(payload.items)
    ]
    problems.raise_if_any()
    built = problems.build(
        CodeLimitPage,
        {
            "promotion_id": payload.promotion_id,
            "items": items,
            "total_items_count": payload.total_items_count,
            "has_more": payload.has_more,
        },
        path,
        {},
    )
    return _finish(problems, built)


@attrs.frozen(kw_only=True)
class _LimitUser:
    user_external_id: JsonStr


@attrs.frozen(kw_only=True)
class _Reset:
    user: _LimitUser


def _load_reset(data: object, path: str) -> UserLimitReset:
    payload = structure(data, _Reset, path)
    problems = Problems()
    built = problems.build(
        UserLimitReset,
        {"user_id": payload.user.user_external_id},
        path,
        {"user_id": "user.user_external_id"},
    )
    return _finish(problems, built)


@attrs.frozen(kw_only=True)
class _CartRef:
    id: JsonStr


@attrs.frozen(kw_only=True)
class _Remove:
    cart: _CartRef | None = None


def _load_remove(data: object, path: str) -> PromoCodeRemoveRequest:
    payload = structure(data, _Remove, path)
    problems = Problems()
    built = problems.build(
        PromoCodeRemoveRequest,
        {"cart_id": None if payload.cart is None else payload.cart.id},
        path,
        {"cart_id": "cart.id"},
    )
    return _finish(problems, built)


@attrs.frozen(kw_only=True)
class _Patch:
    name: JsonStr | None = None
    is_enabled: JsonBool | None = None
    is_satisfied_for_unauth: JsonBool | None = None
    attribute_conditions: list[AttributeConditionPayload] | None = None
    items: list[ShownItemPayload] | None = None


def _load_patch(data: object, path: str) -> RulePatch:
    payload = structure(data, _Patch, path)
    problems = Problems()
    found = None
    if payload.attribute_conditions is not None:
        found = [
            c
            for c in conditions(
                payload.attribute_conditions, f"{path}.attribute_conditions", problems
            )
            if c is not None
        ]
    items = None
    if payload.items is not None:
        items = [
            problems.build(
                ShownItem, {"sku": i.sku, "item_id": i.item_id}, f"{path}.items[{n}]", {}
            )
            for n, i in enumerate(payload.items)
        ]
    problems.raise_if_any()
    built = problems.build(
        RulePatch,
        {
            "name": payload.name,
            "enabled": payload.is_enabled,
            "satisfied_for_unauth": payload.is_satisfied_for_unauth,
            "conditions": found,
            "items": items,
        },
        path,
        {
            "enabled": "is_enabled",
            "satisfied_for_unauth": "is_satisfied_for_unauth",
            "conditions": "attribute_conditions",
        },
    )
    return _finish(problems, built)


_LineBonus = _described(
    "_LineBonus",
    {"sku": (JsonStr, _NOTHING), "quantity": (JsonInt | None, None)},
    _ITEM_DESCRIPTION,
)


@attrs.frozen(kw_only=True)
class _LinePromotionPayload:
    name: JsonStr | None = None
    date_start: JsonStr | None = None
    date_end: JsonStr | None = None
    discount: _Percent | None = None
    bonus: list[_LineBonus] | None = None  # type: ignore[valid-type]
    limits: AnyJson | None = None


@attrs.frozen(kw_only=True)
class _Price:
    amount: JsonStr
    amount_without_discount: JsonStr | None = None
    currency: JsonStr | None = None


_RedeemedItem = _described(
    "_RedeemedItem",
    {
        "sku": (JsonStr, _NOTHING),
        "quantity": (JsonInt, _NOTHING),
        "price": (AnyJson | None, None),
        "is_free": (JsonBool | None, None),
        "is_bonus": (JsonBool | None, None),
        "promotions": (list[_LinePromotionPayload] | None, None),
    },
    _ITEM_DESCRIPTION,
)


@attrs.frozen(kw_only=True)
class _RepricedCart:
    cart_id: JsonStr | None = None
    price: _Price | None = None
    is_free: JsonBool | None = None
    items: list[_RedeemedItem] | None = None  # type: ignore[valid-type]
    rewards: _Rewards | None = None


def _money(text: str | None, path: str, problems: Problems) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except ArithmeticError:
        value = None
    if value is None or not value.is_finite() or value < 0 or "e" in text.lower():
        problems.add(path, "an amount as decimal text, like 10.00", text)
        return None
    return value


def _line(item: Any, path: str, problems: Problems) -> RedeemedLine | None:
    price = item.price
    values: dict[str, Any] = {
        "sku": item.sku,
        "quantity": item.quantity,
        "is_free": bool(item.is_free),
        "is_bonus": bool(item.is_bonus),
    }
    if isinstance(price, dict):
        shape = structure(price, _Price, f"{path}.price")
        values["amount"] = _money(shape.amount, f"{path}.price.amount", problems)
        values["amount_without_discount"] = _money(
            shape.amount_without_discount, f"{path}.price.amount_without_discount", problems
        )
        values["currency"] = shape.currency
    elif price not in (None, []):  # LiveOps writes a line without a price as []
        problems.add(f"{path}.price", "a price object, null or []", price)
    promotions = []
    for index, entry in enumerate(item.promotions or ()):
        at = f"{path}.promotions[{index}]"
        promotions.append(
            problems.build(
                LinePromotion,
                {
                    "name": entry.name,
                    "window": window(entry.date_start, entry.date_end, at, problems),
                    "discount_percent": percent(
                        None if entry.discount is None else entry.discount.percent,
                        f"{at}.discount.percent",
                        problems,
                    ),
                    "bonus": [
                        problems.build(
                            RewardItem,
                            {"sku": b.sku, "quantity": _quantity(b.quantity)},
                            f"{at}.bonus[{n}]",
                            {},
                        )
                        for n, b in enumerate(entry.bonus or ())
                    ],
                },
                at,
                {"discount_percent": "discount.percent"},
            )
        )
    values["promotions"] = [p for p in promotions if p is not None]
    return problems.build(
        RedeemedLine,
        values,
        path,
        {"amount": "price.amount", "amount_without_discount": "price.amount_without_discount"},
    )


def _load_repriced_cart(data: object, path: str) -> RedeemedCart:
    payload = structure(data, _RepricedCart, path)
    problems = Problems()
    lines = [
        _line(item, f"{path}.items[{i}]", problems) for i, item in enumerate(payload.items or ())
    ]
    rewards = (
        None if payload.rewards is None else _rewards(payload.rewards, f"{path}.rewards", problems)
    )
    price = payload.price
    problems.raise_if_any()
    built = problems.build(
        RedeemedCart,
        {
            "cart_id": payload.cart_id,
            "currency": None if price is None else price.currency,
            "amount": None
            if price is None
            else _money(price.amount, f"{path}.price.amount", problems),
            "amount_without_discount": None
            if price is None
            else _money(
                price.amount_without_discount, f"{path}.price.amount_without_discount", problems
            ),
            "is_free": bool(payload.is_free),
            "items": lines,
            "rewards": rewards,
        },
        path,
        {},
    )
    return _finish(problems, built)


_CodeSummary = _described(
    "_CodeSummary",
    {"external_id": (JsonStr, _NOTHING)},
    ("name", "is_enabled", "redeem_total_limit", "redeem_user_limit", "redeem_code_limit"),
)


@attrs.frozen(kw_only=True)
class _ConditionEntry:
    item: AnyJson


@attrs.frozen(kw_only=True)
class _Summary:
    id: JsonInt
    type: JsonStr
    name: dict[JsonStr, JsonStr] | None = None
    date_start: JsonStr | None = None
    date_end: JsonStr | None = None
    is_enabled: JsonBool | None = None
    bonus: list[_RewardEntry] | None = None  # type: ignore[valid-type]
    condition: list[_ConditionEntry] | None = None
    discount: _Percent | None = None
    limits: LimitsPayload | None = None


@attrs.frozen(kw_only=True)
class _SummaryPage:
    promotions: list[_Summary]
    total_promotions_count: JsonInt | None = None
    active_promotions_count: JsonInt | None = None
    inactive_promotions_count: JsonInt | None = None


def _is_code_type(type_name: str) -> bool:
    return type_name.startswith(("coupon", "promocode", "unique_catalog_offer"))


def _summary(payload: _Summary, path: str, problems: Problems) -> PromotionSummary | None:
    condition = None
    if payload.condition is not None:
        item_class = _CodeSummary if _is_code_type(payload.type) else _CatalogItem
        field = "external_id" if _is_code_type(payload.type) else "sku"
        condition = [
            getattr(structure(c.item, item_class, f"{path}.condition[{n}].item"), field)
            for n, c in enumerate(payload.condition)
        ]
    return problems.build(
        PromotionSummary,
        {
            "promotion_id": payload.id,
            "type": payload.type,
            "name": payload.name or {},
            "window": window(payload.date_start, payload.date_end, path, problems),
            "enabled": bool(payload.is_enabled),
            "bonus": [r for r in _reward_items(payload.bonus, f"{path}.bonus", problems) if r],
            "condition": condition,
            "discount_percent": percent(
                None if payload.discount is None else payload.discount.percent,
                f"{path}.discount.percent",
                problems,
            ),
            "limits": limits(payload.limits, f"{path}.limits", problems),
        },
        path,
        {"promotion_id": "id", "enabled": "is_enabled", "discount_percent": "discount.percent"},
    )


def _load_summary_page(data: object, path: str) -> PromotionSummaryPage:
    payload = structure(data, _SummaryPage, path)
    problems = Problems()
    found = [
        _summary(p, f"{path}.promotions[{i}]", problems) for i, p in enumerate(payload.promotions)
    ]
    problems.raise_if_any()
    built = problems.build(
        PromotionSummaryPage,
        {
            "promotions": found,
            "total_count": payload.total_promotions_count,
            "active_count": payload.active_promotions_count,
            "inactive_count": payload.inactive_promotions_count,
        },
        path,
        {},
    )
    return _finish(problems, built)


@attrs.frozen(kw_only=True)
class _Error:
    statusCode: JsonInt  # noqa: N815 - LiveOps' field names
    errorCode: JsonInt  # noqa: N815
    errorMessage: JsonStr  # noqa: N815
    transactionId: JsonStr | None = None  # noqa: N815
    errorMessageExtended: list[dict[JsonStr, JsonStr]] | None = None  # noqa: N815


def _load_error(data: object, path: str) -> ErrorAnswer:
    payload = structure(data, _Error, path)
    problems = Problems()
    built = problems.build(
        ErrorAnswer,
        {
            "status_code": payload.statusCode,
            "error_code": payload.errorCode,
            "message": payload.errorMessage,
            "transaction_id": payload.transactionId,
            "extended": payload.errorMessageExtended,
        },
        path,
        {
            "status_code": "statusCode",
            "error_code": "errorCode",
            "message": "errorMessage",
            "transaction_id": "transactionId",
            "extended": "errorMessageExtended",
        },
    )
    return _finish(problems, built)


def _dump_error(answer: ErrorAnswer) -> dict[str, Any]:
    document: dict[str, Any] = {
        "statusCode": answer.status_code,
        "errorCode": answer.error_code,
        "errorMessage": answer.message,
    }
    if answer.transaction_id is not None:
        document["transactionId"] = answer.transaction_id
    if answer.extended is not None:
        document["errorMessageExtended"] = [dict(entry) for entry in answer.extended]
    return document


ANSWER_LOADERS: dict[str, Callable[[object, str], Any]] = {
    "error_response": _load_error,
    "created": _load_created,
    "code_request": _simple(_CodeBody, CodeRequest, {"coupon_code": "code"}),
    "code_response": _simple(_CodeAnswer, CreatedCode, {}),
    "code_generation_response": _simple(_Count, GeneratedCodes, {}),
    "code_list": _load_code_list,
    "code_limits": _load_code_limits,
    "code_rewards": _load_rewards,
    "code_verification": _load_verification,
    "promocode_redeem_response": _load_repriced_cart,
    "promocode_remove_request": _load_remove,
    "user_limit_reset": _load_reset,
    "personalized_rule_patch": _load_patch,
    "promotion_list": _load_summary_page,
}
"""Loaders of the answers and bodies of `models.answers`, by payload name."""


# -- dumping ------------------------------------------------------------------------------


def _text(value: Decimal | int) -> str:
    return str(value) if isinstance(value, int) else format(value, "f")


def _dump_rewards(rewards: CodeRewards) -> dict[str, Any]:
    document: dict[str, Any] = {
        "bonus": [{"item": {"sku": r.sku}, "quantity": r.quantity} for r in rewards.bonus]
    }
    if rewards.discount_percent is not None or rewards.discounted_items is not None:
        document["discount"] = {
            "percent": None if rewards.discount_percent is None else _text(rewards.discount_percent)
        }
    if rewards.discounted_items is not None:
        document["discounted_items"] = [
            {"sku": d.sku, "discount": {"percent": _text(d.percent)}}
            for d in rewards.discounted_items
        ]
    document["is_selectable"] = rewards.is_selectable
    return document


def _window_fields(value: Any) -> dict[str, Any]:
    return {
        "date_start": moment_text(value.window.start),
        "date_end": moment_text(value.window.end),
    }


def _dump_line(line: RedeemedLine) -> dict[str, Any]:
    document: dict[str, Any] = {"sku": line.sku, "quantity": line.quantity}
    if line.amount is not None:
        price: dict[str, Any] = {"amount": _text(line.amount)}
        if line.amount_without_discount is not None:
            price["amount_without_discount"] = _text(line.amount_without_discount)
        if line.currency is not None:
            price["currency"] = line.currency
        document["price"] = price
    document["is_free"] = line.is_free
    if line.is_bonus:
        document["is_bonus"] = True
    if line.promotions:
        document["promotions"] = []
        for promotion in line.promotions:
            entry: dict[str, Any] = {}
            if promotion.name is not None:
                entry["name"] = promotion.name
            entry.update(_window_fields(promotion))
            if promotion.discount_percent is not None:
                entry["discount"] = {"percent": _text(promotion.discount_percent)}
            entry["bonus"] = [{"sku": b.sku, "quantity": b.quantity} for b in promotion.bonus]
            document["promotions"].append(entry)
    return document


def _dump_cart(cart: RedeemedCart) -> dict[str, Any]:
    document: dict[str, Any] = {}
    if cart.cart_id is not None:
        document["cart_id"] = cart.cart_id
    if cart.amount is not None:
        price: dict[str, Any] = {"amount": _text(cart.amount)}
        if cart.amount_without_discount is not None:
            price["amount_without_discount"] = _text(cart.amount_without_discount)
        if cart.currency is not None:
            price["currency"] = cart.currency
        document["price"] = price
    document["is_free"] = cart.is_free
    document["items"] = [_dump_line(line) for line in cart.items]
    if cart.rewards is not None:
        document["rewards"] = _dump_rewards(cart.rewards)
    return document


def _dump_summary(summary: PromotionSummary) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": summary.promotion_id,
        **_window_fields(summary),
        "name": dict(summary.name),
        "type": summary.type,
        "is_enabled": summary.enabled,
        "bonus": [{"item": {"sku": r.sku}, "quantity": r.quantity} for r in summary.bonus],
    }
    if summary.condition is not None:
        field = "external_id" if _is_code_type(summary.type) else "sku"
        document["condition"] = [{"item": {field: c}} for c in summary.condition]
    document["discount"] = (
        None if summary.discount_percent is None else {"percent": _text(summary.discount_percent)}
    )
    return document


def _dump_patch(patch: RulePatch) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for field, value in (
        ("name", patch.name),
        ("is_enabled", patch.enabled),
        ("is_satisfied_for_unauth", patch.satisfied_for_unauth),
    ):
        if value is not None:
            document[field] = value
    if patch.conditions is not None:
        document["attribute_conditions"] = dump_conditions(patch.conditions)
    if patch.items is not None:
        document["items"] = [
            {"item_id": i.item_id} if i.item_id is not None else {"sku": i.sku} for i in patch.items
        ]
    return document


def _counts(value: Any) -> dict[str, Any]:
    counts = {
        "total_promotions_count": value.total_count,
        "active_promotions_count": value.active_count,
        "inactive_promotions_count": value.inactive_count,
    }
    return {key: count for key, count in counts.items() if count is not None}


def dump_answer(value: object) -> Any:
    """The LiveOps payload of a `models.answers` value; None if `value` is not one."""
    if isinstance(value, CreatedPromotion):
        return {k: v for k, v in attrs.asdict(value).items() if v is not None}
    if isinstance(value, CodeRequest):
        return {"coupon_code": value.code}
    if isinstance(value, CreatedCode):
        return {"code": value.code}
    if isinstance(value, GeneratedCodes):
        return {"count": value.count}
    if isinstance(value, CodeList):
        document: dict[str, Any] = {"codes": [{"code": c} for c in value.codes]}
        if value.total_count is not None:
            document["total_count"] = value.total_count
        return document
    if isinstance(value, CodeLimitPage):
        document = {} if value.promotion_id is None else {"promotion_id": value.promotion_id}
        document["items"] = [
            {
                "code": s.code,
                "per_code": {
                    "total": s.total,
                    "available": s.available,
                    "used": s.used,
                    "reserved": s.reserved,
                },
            }
            for s in value.items
        ]
        for key in ("total_items_count", "has_more"):
            if getattr(value, key) is not None:
                document[key] = getattr(value, key)
        return document
    if isinstance(value, CodeRewards):
        return _dump_rewards(value)
    if isinstance(value, CodeVerification):
        return {
            "type": value.kind.value,
            "code": value.code,
            "rewards": _dump_rewards(value.rewards),
        }
    if isinstance(value, RedeemedCart):
        return _dump_cart(value)
    if isinstance(value, PromoCodeRemoveRequest):
        return {} if value.cart_id is None else {"cart": {"id": value.cart_id}}
    if isinstance(value, UserLimitReset):
        return {"user": {"user_external_id": value.user_id}}
    if isinstance(value, RulePatch):
        return _dump_patch(value)
    if isinstance(value, ErrorAnswer):
        return _dump_error(value)
    if isinstance(value, PromotionSummaryPage):
        return {"promotions": [_dump_summary(s) for s in value.promotions], **_counts(value)}
    return None
