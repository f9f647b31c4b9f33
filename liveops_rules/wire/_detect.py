"""Guess which LiveOps payload a parsed JSON document is, from its fields."""

from __future__ import annotations

from liveops_rules.models import PromotionKind

__all__ = ["detect_kinds"]

_SECTIONS = frozenset(
    (
        "coupons",
        "promocodes",
        "discounts",
        "bonuses",
        "unique_catalog_offers",
        "personalized_rules",
        "value_points",
        "reward_chains",
        "daily_chains",
        "offer_chains",
    )
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
_CODE_LIMITS = frozenset(("redeem_total_limit", "redeem_user_limit", "redeem_code_limit"))
_RULE_FIELDS = frozenset(
    ("name", "is_enabled", "is_satisfied_for_unauth", "attribute_conditions", "items")
)


def _promotion_kinds(keys: set[str], data: dict[str, object]) -> tuple[str, ...]:
    if "rule_id" in keys or "is_satisfied_for_unauth" in keys or isinstance(data.get("name"), str):
        return (PromotionKind.PERSONALIZED_RULE.value,)
    if "external_id" in keys or keys & _CODE_LIMITS:  # an update body has no external_id
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


_ERROR_FIELDS = frozenset(
    ("statusCode", "errorCode", "errorMessage", "transactionId", "errorMessageExtended")
)
_PAGE_COUNTS = frozenset(
    ("total_promotions_count", "active_promotions_count", "inactive_promotions_count")
)


def _answer_kinds(keys: set[str], data: dict[str, object]) -> tuple[str, ...]:
    """The answers and small bodies of `models.answers` whose fields `data` has."""
    if "errorCode" in keys and keys <= _ERROR_FIELDS:
        return ("error_response",)
    if keys and keys <= {"external_id", "promotion_id", "rule_id"} and len(keys) == 1:
        return ("created",)
    if "codes" in keys and keys <= {"codes", "total_count"}:
        return ("code_list",)
    if "promotion_id" in keys and "items" in keys:
        return ("code_limits",)
    if keys == {"user"}:
        return ("user_limit_reset",)
    if keys == {"cart"} or not keys:
        return ("promocode_remove_request",)
    if {"type", "code", "rewards"} <= keys:
        return ("code_verification",)
    if "is_selectable" in keys:
        return ("code_rewards",)
    if "cart_id" in keys or ({"price", "items"} <= keys and "currency" not in keys):
        return ("promocode_redeem_response",)
    if "promotions" in keys:
        return ("promotion_list", "discount_list", "bonus_list")
    if "items" in keys and keys & _PAGE_COUNTS:
        return ("coupon_list", "promocode_list", "unique_catalog_offer_list")
    if "items" in keys and keys <= {"items", "total_items_count", "has_more"}:
        items = data["items"]
        if isinstance(items, list) and all(isinstance(i, dict) and "rule_id" in i for i in items):
            return ("personalized_rule_list",)
    if keys and keys <= _RULE_FIELDS and not isinstance(data.get("name"), dict):
        if keys == _RULE_FIELDS - {"is_satisfied_for_unauth"} or keys == _RULE_FIELDS:
            return ("personalized_rule", "personalized_rule_patch")
        return ("personalized_rule_patch", "personalized_rule")
    return ()


def _dicts(value: object) -> list[dict[str, object]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _chain_list_kinds(data: list[object]) -> tuple[str, ...]:
    """The value point and reward chain payloads that are lists."""
    entries = _dicts(data)
    if not entries or len(entries) != len(data):
        return ()
    if all("contributed_amount" in e for e in entries):
        return ("clan_top_contributors",)
    if all("amount" in e and "sku" in e for e in entries):
        if any(e.get("amount") == 0 for e in entries):
            return ("value_point_rewards_patch", "value_point_rewards")
        return ("value_point_rewards", "value_point_rewards_patch")
    return ()


_DAILY_TYPES = ("calendar_hard", "rolling")
_DAILY_ONLY = frozenset(("is_recurrent", "number_of_steps"))
_OFFER_ONLY = frozenset(("is_reset_on_completion",))


def _is_daily(data: dict[str, object]) -> bool:
    return data.get("type") in _DAILY_TYPES or bool(set(data) & _DAILY_ONLY)


def _is_offer(data: dict[str, object]) -> bool:
    steps = _dicts(data.get("steps"))
    return bool(set(data) & _OFFER_ONLY) or any("is_free" in s for s in steps)


def _ladder_kinds(keys: set[str], data: dict[str, object]) -> tuple[str, ...]:
    """The daily and offer chain payloads whose fields `data` has."""
    if keys == {"daily_chain_id"}:
        return ("daily_chain_created",)
    if keys == {"offer_chain_id"}:
        return ("offer_chain_created",)
    if "date_start" in keys and _is_daily(data):
        return ("daily_chain",)
    if "date_start" in keys and _is_offer(data):
        return ("offer_chain",)
    items = _dicts(data.get("items"))
    if "items" in keys and items and keys <= {"items", "has_more", "total_items_count"}:
        if all(_is_daily(i) for i in items):
            return ("daily_chain_list",)
        if all({"id", "date_start"} <= set(i) and "steps" not in i for i in items):
            return ("offer_chain_list",)
    return ()


def _chain_kinds(keys: set[str], data: dict[str, object]) -> tuple[str, ...]:
    """The value point and reward chain payloads whose fields `data` has."""
    if keys == {"reward_chain_id"}:
        return ("reward_chain_created",)
    if keys == {"sku", "item_id"}:
        return ("value_point_created",)
    if keys == {"reward"}:
        return ("clan_update_response",)
    if "sku" in keys and "amount" in keys:
        return ("reward_chain_balance",)
    if "date_start" in keys and keys & {"steps", "value_point", "popup_header"}:
        return ("reward_chain",)
    if "sku" in keys and keys & {"is_clan", "media_list", "long_description", "can_delete"}:
        return ("value_point",)
    items = _dicts(data.get("items"))
    if "items" in keys and items and keys <= {"items", "has_more", "total_items_count"}:
        if any(any("is_claimed" in s for s in _dicts(i.get("steps"))) for i in items):
            return ("user_reward_chain_list",)
        if all("reward_chain_id" in i and "steps" not in i for i in items):
            return ("reward_chain_list",)
        if all("amount" in i and "sku" in i for i in items):
            return ("value_point_reward_list",)
        if all("sku" in i and isinstance(i.get("name"), dict) for i in items):
            return ("value_point_list",)
    return ()


def detect_kinds(data: object) -> tuple[str, ...]:
    """The payload kinds (names of PAYLOAD_KINDS) `data` may be, most likely first."""
    if isinstance(data, list):
        if not data:
            return ("codes", "clan_top_contributors")
        return _chain_list_kinds(data) or ("codes",)
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
        return ("code_generation_request", "code_generation_response")
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
    return (
        _ladder_kinds(keys, data)
        or _chain_kinds(keys, data)
        or _answer_kinds(keys, data)
        or _promotion_kinds(keys, data)
    )
