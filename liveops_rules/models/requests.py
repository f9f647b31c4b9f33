"""Requests and answers around promotions: redeem, codes, per-user limits, errors."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from liveops_rules.errors import ValidationError
from liveops_rules.models._validate import each, instance_of, int_in, optional, pattern, to_tuple
from liveops_rules.models.values import RewardItem

__all__ = [
    "CodeGenerationRequest",
    "CouponRedeemRequest",
    "PromoCodeRedeemRequest",
    "RedeemResult",
    "UserLimitState",
    "UserLimitUpdate",
]

MAX_GENERATED_CODES = 100_000


def _to_pairs(value: object) -> object:
    if isinstance(value, Mapping):
        return tuple(sorted(value.items(), key=lambda kv: str(kv[0])))
    return value


def _check_pairs(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value
    ):
        raise ValidationError.single(attribute.name, "a mapping of item SKU to unit SKU", value)


_redeemed_code = pattern(r"[\s\S]{1,128}", "a code of 1..128 characters")


@attrs.frozen(kw_only=True)
class CouponRedeemRequest:
    """A user's request to redeem a coupon code; `selected_unit_items` picks game-key units."""

    code: str = attrs.field(validator=_redeemed_code)
    selected_unit_items: tuple[tuple[str, str], ...] = attrs.field(
        default=(), converter=_to_pairs, validator=_check_pairs
    )


@attrs.frozen(kw_only=True)
class PromoCodeRedeemRequest:
    """A user's request to apply a promo code to a cart (`cart_id` None: no cart given)."""

    code: str = attrs.field(validator=_redeemed_code)
    cart_id: str | None = attrs.field(
        default=None, validator=optional(pattern(r"[\s\S]{1,255}", "a cart id"))
    )
    selected_unit_items: tuple[tuple[str, str], ...] = attrs.field(
        default=(), converter=_to_pairs, validator=_check_pairs
    )


def _to_rewards(value: Iterable[RewardItem]) -> tuple[RewardItem, ...]:
    return to_tuple(value)


@attrs.frozen
class RedeemResult:
    """What a successful redemption grants."""

    items: tuple[RewardItem, ...] = attrs.field(
        converter=_to_rewards, validator=each(instance_of(RewardItem, "a RewardItem"))
    )


@attrs.frozen
class CodeGenerationRequest:
    """A request to generate `count` new codes for a promotion."""

    count: int = attrs.field(validator=int_in(1, MAX_GENERATED_CODES))


@attrs.frozen
class UserLimitUpdate:
    """A change to one user's remaining uses of a promotion (increase, decrease or set)."""

    user_id: str = attrs.field(validator=pattern(r"\S{1,255}", "a user external id"))
    available: int = attrs.field(validator=int_in(0))


@attrs.frozen
class UserLimitState:
    """One user's limit: `total` allowed and `available` left."""

    total: int = attrs.field(validator=int_in(0))
    available: int = attrs.field(validator=int_in(0))
