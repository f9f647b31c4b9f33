"""Guess which LiveOps payload a parsed JSON document is, from its fields."""

from __future__ import annotations

from liveops_rules.models import PromotionKind

__all__ = ["detect_kinds"]

_SECTIONS = frozenset(
    ("coupons", "promocodes", "discounts", "bonuses", "unique_catalog_offers", "personalized_rules")
)
_PROMO_CODE_ONLY = frozenset(
    (
        "discount",
        "discounted_items",
        "price_conditions",
        "item_price_conditions",
        "excluded_promotions",
    )
)
_ALL_PROMOTIONS = tuple(kind.value for kind in PromotionKind)


def _promotion_kinds(keys: set[str], data: dict[str, object]) -> tuple[str, ...]:
    if "rule_id" in keys or "is_satisfied_for_unauth" in keys or isinstance(data.get("name"), str):
        return (PromotionKind.PERSONALIZED_RULE.value,)
    if "external_id" in keys:
        if keys & _PROMO_CODE_ONLY:
            return (PromotionKind.PROMO_CODE.value,)
        if "items" in keys:
            return (PromotionKind.UNIQUE_CATALOG_OFFER.value,)
        if keys & {"bonus", "attribute_conditions"}:
            return (PromotionKind.COUPON.value, PromotionKind.PROMO_CODE.value)
        return (
            PromotionKind.COUPON.value,
            PromotionKind.PROMO_CODE.value,
            PromotionKind.UNIQUE_CATALOG_OFFER.value,
        )
    if "discount" in keys:
        return (PromotionKind.ITEM_DISCOUNT.value,)
    if keys & {"bonus", "condition"}:
        return (PromotionKind.BONUS.value,)
    return _ALL_PROMOTIONS


def detect_kinds(data: object) -> tuple[str, ...]:
    """The payload kinds (names of PAYLOAD_KINDS) `data` may be, most likely first."""
    if isinstance(data, list):
        return ("codes",)
    if not isinstance(data, dict):
        return _ALL_PROMOTIONS
    keys = set(data)
    if keys and keys <= _SECTIONS:
        return ("catalog",)
    if "currency" in keys and keys <= {"currency", "items"}:
        return ("cart",)
    if "coupon_code" in keys:
        if "cart" in keys:
            return ("promocode_redeem_request",)
        if keys == {"coupon_code"}:
            return ("code_request", "coupon_redeem_request", "promocode_redeem_request")
        return ("coupon_redeem_request", "promocode_redeem_request")
    if keys == {"code"}:
        return ("code_response",)
    if keys == {"count"}:
        return ("code_generation_request",)
    if "user" in keys and "available" in keys:
        return ("user_limit_set", "user_limit_increase", "user_limit_decrease")
    if keys == {"per_user"}:
        return ("user_limit_response",)
    if (
        keys == {"items"}
        and isinstance(data["items"], list)
        and all(isinstance(item, dict) and "quantity" in item for item in data["items"])
    ):
        return ("redeem_response",)
    if keys and keys <= {"id", "attributes"} and "attributes" in keys:
        return ("user",)
    return _promotion_kinds(keys, data)
