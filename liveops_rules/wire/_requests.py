"""Request and answer payloads around promotions: redeem, codes, code generation, limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from liveops_rules.codes import CODE_MAX_LENGTH, validate_code
from liveops_rules.errors import Problem, ValidationError, describe
from liveops_rules.models import RewardItem
from liveops_rules.models.requests import (
    CodeGenerationRequest,
    CouponRedeemRequest,
    PromoCodeRedeemRequest,
    RedeemResult,
    UserLimitState,
    UserLimitUpdate,
)
from liveops_rules.wire._converter import structure
from liveops_rules.wire._payloads import AnyJson, JsonInt, JsonStr
from liveops_rules.wire._translate import Problems

__all__ = ["REQUEST_LOADERS", "dump_request"]

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class _CouponRedeem:
    coupon_code: JsonStr
    selected_unit_items: dict[JsonStr, JsonStr] | None = None


@attrs.frozen(kw_only=True)
class _Cart:
    id: JsonStr


@attrs.frozen(kw_only=True)
class _PromoCodeRedeem:
    coupon_code: JsonStr
    cart: _Cart | None = None
    selected_unit_items: dict[JsonStr, JsonStr] | None = None


@attrs.frozen(kw_only=True)
class _RedeemedItem:
    """An item of a redeem answer; LiveOps sends the whole catalog item, of which the
    library keeps `sku` and `quantity`."""

    sku: JsonStr
    quantity: JsonInt
    groups: AnyJson | None = None
    name: AnyJson | None = None
    price: AnyJson | None = None
    type: AnyJson | None = None
    virtual_item_type: AnyJson | None = None
    virtual_prices: AnyJson | None = None
    description: AnyJson | None = None
    image_url: AnyJson | None = None
    is_free: AnyJson | None = None
    attributes: AnyJson | None = None
    inventory_options: AnyJson | None = None


@attrs.frozen(kw_only=True)
class _RedeemResult:
    items: list[_RedeemedItem]


@attrs.frozen(kw_only=True)
class _CodeGeneration:
    count: JsonInt


@attrs.frozen(kw_only=True)
class _LimitUser:
    user_external_id: JsonStr


@attrs.frozen(kw_only=True)
class _UserLimitBody:
    user: _LimitUser
    available: JsonInt


@attrs.frozen(kw_only=True)
class _PerUser:
    total: JsonInt
    available: JsonInt


@attrs.frozen(kw_only=True)
class _UserLimitAnswer:
    per_user: _PerUser


def _finish(problems: Problems, built: T | None) -> T:
    problems.raise_if_any()
    assert built is not None
    return built


def _code_length(code: str, path: str, problems: Problems) -> None:
    if not 1 <= len(code) <= CODE_MAX_LENGTH:
        problems.add(path, f"a code of 1..{CODE_MAX_LENGTH} characters", code)


def _coupon_redeem(data: object, path: str) -> CouponRedeemRequest:
    payload = structure(data, _CouponRedeem, path)
    problems = Problems()
    _code_length(payload.coupon_code, f"{path}.coupon_code", problems)
    problems.raise_if_any()
    return _finish(
        problems,
        problems.build(
            CouponRedeemRequest,
            {"code": payload.coupon_code, "selected_unit_items": payload.selected_unit_items or {}},
            path,
            {"code": "coupon_code"},
        ),
    )


def _promo_code_redeem(data: object, path: str) -> PromoCodeRedeemRequest:
    payload = structure(data, _PromoCodeRedeem, path)
    problems = Problems()
    _code_length(payload.coupon_code, f"{path}.coupon_code", problems)
    problems.raise_if_any()
    return _finish(
        problems,
        problems.build(
            PromoCodeRedeemRequest,
            {
                "code": payload.coupon_code,
                "cart_id": None if payload.cart is None else payload.cart.id,
                "selected_unit_items": payload.selected_unit_items or {},
            },
            path,
            {"code": "coupon_code", "cart_id": "cart.id"},
        ),
    )


def _redeem_result(data: object, path: str) -> RedeemResult:
    payload = structure(data, _RedeemResult, path)
    problems = Problems()
    items = [
        problems.build(RewardItem, {"sku": i.sku, "quantity": i.quantity}, f"{path}.items[{n}]", {})
        for n, i in enumerate(payload.items)
    ]
    problems.raise_if_any()
    return RedeemResult(items)  # type: ignore[arg-type]


def _codes_problems(codes: list[str], path: str) -> list[Problem]:
    problems: list[Problem] = []
    first: dict[str, int] = {}
    for index, code in enumerate(codes):
        try:
            validate_code(code, f"{path}[{index}]")
        except ValidationError as error:
            problems.extend(error.problems)
            continue
        seen = first.setdefault(code, index)
        if seen != index:  # codes are case-sensitive: "ABC" and "abc" are two codes
            problems.append(
                Problem(
                    f"{path}[{index}]",
                    "a code not already in this request",
                    f"{describe(code)}, also at {path}[{seen}]",
                )
            )
    return problems


def _codes(data: object, path: str) -> tuple[str, ...]:
    if not isinstance(data, list):
        raise ValidationError.single(path, "a list of codes", data)
    problems = _codes_problems(data, path)
    if problems:
        raise ValidationError(problems)
    return tuple(data)


def _code_generation(data: object, path: str) -> CodeGenerationRequest:
    payload = structure(data, _CodeGeneration, path)
    problems = Problems()
    return _finish(
        problems, problems.build(CodeGenerationRequest, {"count": payload.count}, path, {})
    )


def _user_limit(minimum: int) -> Callable[[object, str], UserLimitUpdate]:
    def load(data: object, path: str) -> UserLimitUpdate:
        payload = structure(data, _UserLimitBody, path)
        problems = Problems()
        if payload.available < minimum:
            problems.add(
                f"{path}.available", f"an integer of at least {minimum}", payload.available
            )
        built = problems.build(
            UserLimitUpdate,
            {"user_id": payload.user.user_external_id, "available": payload.available},
            path,
            {"user_id": "user.user_external_id"},
        )
        return _finish(problems, built)

    return load


def _user_limit_state(data: object, path: str) -> UserLimitState:
    payload = structure(data, _UserLimitAnswer, path)
    problems = Problems()
    built = problems.build(
        UserLimitState,
        {"total": payload.per_user.total, "available": payload.per_user.available},
        f"{path}.per_user",
        {},
    )
    return _finish(problems, built)


REQUEST_LOADERS: dict[str, Callable[[object, str], Any]] = {
    "coupon_redeem_request": _coupon_redeem,
    "promocode_redeem_request": _promo_code_redeem,
    "redeem_response": _redeem_result,
    "codes": _codes,
    "code_generation_request": _code_generation,
    "user_limit_increase": _user_limit(1),
    "user_limit_decrease": _user_limit(1),
    "user_limit_set": _user_limit(0),
    "user_limit_response": _user_limit_state,
}
"""Loaders of the non-promotion payloads, by name: each takes (data, path)."""


def dump_request(value: object) -> Any:
    """The LiveOps payload of a request or answer model (a list for a tuple of codes)."""
    if isinstance(value, tuple) and all(isinstance(code, str) for code in value):
        return list(value)
    if isinstance(value, CouponRedeemRequest):
        return {"coupon_code": value.code, "selected_unit_items": dict(value.selected_unit_items)}
    if isinstance(value, PromoCodeRedeemRequest):
        document: dict[str, Any] = {"coupon_code": value.code}
        if value.cart_id is not None:
            document["cart"] = {"id": value.cart_id}
        document["selected_unit_items"] = dict(value.selected_unit_items)
        return document
    if isinstance(value, RedeemResult):
        return {"items": [{"sku": i.sku, "quantity": i.quantity} for i in value.items]}
    if isinstance(value, CodeGenerationRequest):
        return {"count": value.count}
    if isinstance(value, UserLimitUpdate):
        return {"user": {"user_external_id": value.user_id}, "available": value.available}
    if isinstance(value, UserLimitState):
        return {"per_user": {"total": value.total, "available": value.available}}
    raise ValidationError.single("value", "a request or answer model", value)
