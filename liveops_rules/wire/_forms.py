"""Which fields each promotion payload has in LiveOps' request and response forms."""

from __future__ import annotations

import enum

from liveops_rules.models import PromotionKind

__all__ = ["FIELDS", "PATH_ID_FIELD", "Form"]


class Form(enum.StrEnum):
    """A payload's form: as sent to create (`request`), as sent to update (`update`, a PUT body:
    the id is in the path, not the body) or as read back (`response`)."""

    REQUEST = "request"
    UPDATE = "update"
    RESPONSE = "response"


_WINDOW = ("date_start", "date_end", "promotion_periods")  # v2 dates, or v3 periods
_CODE_LIMITS = ("redeem_total_limit", "redeem_user_limit", "redeem_code_limit")
_CART_RULES = ("price_conditions", "excluded_promotions")

FIELDS: dict[PromotionKind, dict[Form, frozenset[str]]] = {
    PromotionKind.COUPON: {
        Form.REQUEST: frozenset(
            ("external_id", "name", *_WINDOW, "bonus", *_CODE_LIMITS, "attribute_conditions")
        ),
        Form.RESPONSE: frozenset(
            (
                "external_id",
                "name",
                *_WINDOW,
                "bonus",
                *_CODE_LIMITS,
                "attribute_conditions",
                "is_enabled",
                "total_limit_state",
            )
        ),
    },
    PromotionKind.PROMO_CODE: {
        Form.REQUEST: frozenset(
            (
                "external_id",
                "name",
                *_WINDOW,
                "bonus",
                *_CODE_LIMITS,
                "attribute_conditions",
                "discount",
                "discounted_items",
                "item_price_conditions",
                *_CART_RULES,
            )
        ),
        Form.RESPONSE: frozenset(
            (
                "external_id",
                "name",
                *_WINDOW,
                "bonus",
                *_CODE_LIMITS,
                "attribute_conditions",
                "discount",
                "discounted_items",
                "item_price_conditions",
                *_CART_RULES,
                "is_enabled",
                "total_limit_state",
            )
        ),
    },
    PromotionKind.ITEM_DISCOUNT: {
        Form.REQUEST: frozenset(
            ("name", *_WINDOW, "discount", "items", "attribute_conditions", "limits", *_CART_RULES)
        ),
        Form.RESPONSE: frozenset(
            (
                "id",
                "name",
                *_WINDOW,
                "is_enabled",
                "discount",
                "items",
                "attribute_conditions",
                "limits",
                *_CART_RULES,
            )
        ),
    },
    # LiveOps' create schema for bonuses lists `id` and omits `limits`, which its GET
    # returns; both forms accept both here.
    PromotionKind.BONUS: {
        Form.REQUEST: frozenset(
            (
                "id",
                "name",
                *_WINDOW,
                "condition",
                "bonus",
                "attribute_conditions",
                "limits",
                *_CART_RULES,
            )
        ),
        Form.RESPONSE: frozenset(
            (
                "id",
                "name",
                *_WINDOW,
                "is_enabled",
                "condition",
                "bonus",
                "attribute_conditions",
                "limits",
                *_CART_RULES,
            )
        ),
    },
    PromotionKind.UNIQUE_CATALOG_OFFER: {
        Form.REQUEST: frozenset(("external_id", "name", *_WINDOW, "items", *_CODE_LIMITS)),
        Form.RESPONSE: frozenset(
            (
                "external_id",
                "name",
                *_WINDOW,
                "items",
                *_CODE_LIMITS,
                "is_enabled",
                "total_limit_state",
            )
        ),
    },
    PromotionKind.PERSONALIZED_RULE: {
        Form.REQUEST: frozenset(
            ("name", "is_enabled", "is_satisfied_for_unauth", "attribute_conditions", "items")
        ),
        Form.RESPONSE: frozenset(
            (
                "rule_id",
                "name",
                "is_enabled",
                "is_satisfied_for_unauth",
                "attribute_conditions",
                "items",
            )
        ),
    },
}
"""For each kind and form, the top-level fields LiveOps defines."""

for _forms in FIELDS.values():
    # A PUT body is the create body without the id its path carries.
    _forms[Form.UPDATE] = _forms[Form.REQUEST] - {"external_id"}

PATH_ID_FIELD: dict[PromotionKind, str] = {
    PromotionKind.COUPON: "external_id",
    PromotionKind.PROMO_CODE: "external_id",
    PromotionKind.UNIQUE_CATALOG_OFFER: "external_id",
    PromotionKind.ITEM_DISCOUNT: "id",
    PromotionKind.BONUS: "id",
    PromotionKind.PERSONALIZED_RULE: "rule_id",
}
"""The payload field holding the id an update's path names, for each kind."""
