"""LiveOps error codes: what each refusal is called by LiveOps, and its error envelope.

A backend that answers its own clients as LiveOps would can turn any refusal of this library
into LiveOps' `{statusCode, errorCode, errorMessage: "[0401-NNNN]: ...", transactionId}`.
"""

from __future__ import annotations

import enum
from typing import Protocol

from liveops_rules.errors import ChainConfigError, ValidationError
from liveops_rules.models import PromotionKind
from liveops_rules.reasons import PricingReason

__all__ = [
    "ErrorCode",
    "HasCode",
    "chain_config_envelope",
    "error_code_for",
    "error_envelope",
    "validation_envelope",
]


class ErrorCode(enum.IntEnum):
    """The LiveOps error codes this library can answer with."""

    VALIDATION_ERROR = 1102
    CHAIN_NOT_FOUND = 4001
    NO_USER_LIMITS = 4509
    LIMIT_OUT_OF_RANGE = 4511
    PROMOTION_NOT_FOUND = 9802
    CODE_ALREADY_EXISTS = 9803
    LIMIT_REACHED = 9804
    INVALID_CODE = 9807
    NOT_AVAILABLE_IN_REGION = 9808
    EXPIRED = 9810
    CODE_NOT_FOUND = 9811
    STEP_NOT_FOUND = 9911
    ALREADY_CLAIMED = 9912
    NOT_ENOUGH_VALUE_POINTS = 9913
    OFFER_CHAIN_NOT_FOUND = 6201
    TOO_MANY_STEPS = 6203
    INVALID_PERIOD = 6204
    CHAIN_ID_MISMATCH = 6205
    STEP_IDS_NOT_FOUND = 6206
    STEP_IDS_DUPLICATED = 6207
    ACTIVE_DAILY_CHAIN = 6209
    TOO_MANY_ITEMS = 6301
    INCORRECT_STEP_NUMBERS = 6302
    INVALID_ITEMS = 6303
    CHAIN_STEP_NOT_FOUND = 6304
    STEP_NOT_CLAIMABLE = 6306
    ACTIVE_CHAIN = 6307

    @property
    def status(self) -> int:
        """The HTTP status LiveOps answers this code with."""
        return 404 if self in _NOT_FOUND else 422

    def message(self, kind: PromotionKind | str = PromotionKind.COUPON) -> str:
        """LiveOps' own wording, for a coupon or a promo code."""
        noun = "promo" if PromotionKind(kind) is PromotionKind.PROMO_CODE else "coupon"
        return _MESSAGES[self].format(noun=noun, Noun=_CAPITAL[noun])


_NOT_FOUND = frozenset(
    {
        ErrorCode.PROMOTION_NOT_FOUND,
        ErrorCode.INVALID_CODE,
        ErrorCode.CODE_NOT_FOUND,
        ErrorCode.CHAIN_NOT_FOUND,
        ErrorCode.STEP_NOT_FOUND,
        ErrorCode.OFFER_CHAIN_NOT_FOUND,
        ErrorCode.STEP_IDS_NOT_FOUND,
        ErrorCode.CHAIN_STEP_NOT_FOUND,
    }
)
_CAPITAL = {"coupon": "Coupon", "promo": "Promocode"}
_MESSAGES = {
    ErrorCode.VALIDATION_ERROR: "Unprocessable Entity.",
    ErrorCode.NO_USER_LIMITS: "Promotion does not have configured user limits.",
    ErrorCode.LIMIT_OUT_OF_RANGE: "Available promotion limit is out of range.",
    ErrorCode.PROMOTION_NOT_FOUND: "{Noun} not found",
    ErrorCode.CODE_ALREADY_EXISTS: "The code already exists.",
    ErrorCode.LIMIT_REACHED: "You have reached the coupon redemption limit.",
    ErrorCode.INVALID_CODE: "Enter a valid {noun} code.",  # as LiveOps' live servers word it
    ErrorCode.NOT_AVAILABLE_IN_REGION: "Coupon is not available in your region.",
    ErrorCode.EXPIRED: "Sorry, this code is expired.",
    ErrorCode.CODE_NOT_FOUND: "Code not found.",
    ErrorCode.CHAIN_NOT_FOUND: "Reward chain not found.",
    ErrorCode.STEP_NOT_FOUND: "Step not found.",
    ErrorCode.ALREADY_CLAIMED: "Reward already claimed.",
    ErrorCode.NOT_ENOUGH_VALUE_POINTS: "Not enough value points.",
    ErrorCode.OFFER_CHAIN_NOT_FOUND: "Chain not found.",
    ErrorCode.TOO_MANY_STEPS: "Too many steps in the chain.",
    ErrorCode.INVALID_PERIOD: "Invalid chain period.",
    ErrorCode.CHAIN_ID_MISMATCH: "Chain ID in the URL does not match the chain ID in the body.",
    ErrorCode.STEP_IDS_NOT_FOUND: "Chain steps not found.",
    ErrorCode.STEP_IDS_DUPLICATED: "Chain step IDs are duplicated.",
    ErrorCode.ACTIVE_DAILY_CHAIN: "Active chain cannot be updated. Please deactivate it first",
    ErrorCode.TOO_MANY_ITEMS: "Too many items in a chain step.",
    ErrorCode.INCORRECT_STEP_NUMBERS: "Incorrect step numbers.",
    ErrorCode.INVALID_ITEMS: "Invalid items in the chain.",
    ErrorCode.CHAIN_STEP_NOT_FOUND: "Step not found.",
    ErrorCode.STEP_NOT_CLAIMABLE: "Step can't be claimed.",
    ErrorCode.ACTIVE_CHAIN: "Active chain cannot be updated. Please deactivate it first",
}

# Refusals by their stable `code`: the evaluator's reasons and the accounting's refusals.
# LiveOps has no code of its own for a disabled or not yet started promotion, or for unmet
# attribute conditions: it answers "Enter a valid coupon code." (9807), and so does this table.
_BY_REASON: dict[str, ErrorCode] = {
    "disabled": ErrorCode.INVALID_CODE,
    "not_started": ErrorCode.INVALID_CODE,
    "between_periods": ErrorCode.INVALID_CODE,  # not running now, though it will again
    "ended": ErrorCode.EXPIRED,
    "condition_failed": ErrorCode.INVALID_CODE,
    "attribute_missing": ErrorCode.INVALID_CODE,
    "type_mismatch": ErrorCode.INVALID_CODE,
    "anonymous_user": ErrorCode.INVALID_CODE,
    "malformed_code": ErrorCode.INVALID_CODE,
    "not_redeemable": ErrorCode.INVALID_CODE,  # a promo code outside a cart, say
    "unknown_code": ErrorCode.CODE_NOT_FOUND,
    "unknown_promotion": ErrorCode.PROMOTION_NOT_FOUND,
    "code_exists": ErrorCode.CODE_ALREADY_EXISTS,
    "limit_reached": ErrorCode.LIMIT_REACHED,
    "region": ErrorCode.NOT_AVAILABLE_IN_REGION,
    "no_user_limits": ErrorCode.NO_USER_LIMITS,
    "limit_out_of_range": ErrorCode.LIMIT_OUT_OF_RANGE,
    "validation": ErrorCode.VALIDATION_ERROR,
    # Pricing's reasons for a promo code it could not apply to a cart. LiveOps documents no
    # codes of its own for these; like an unmet condition they are "Enter a valid promo code."
    "excluded": ErrorCode.INVALID_CODE,
    "price_condition_failed": ErrorCode.INVALID_CODE,
    "no_matching_item": ErrorCode.INVALID_CODE,
    "sign_in_required": ErrorCode.INVALID_CODE,
    # Reward chains.
    "chain_not_found": ErrorCode.CHAIN_NOT_FOUND,
    "step_not_found": ErrorCode.STEP_NOT_FOUND,
    "already_claimed": ErrorCode.ALREADY_CLAIMED,
    "no_clan": ErrorCode.ALREADY_CLAIMED,  # LiveOps answers 9912 when a clan chain has no clan
    "not_enough_value_points": ErrorCode.NOT_ENOUGH_VALUE_POINTS,
    # Daily chains and offer chains.
    "daily_chain_not_found": ErrorCode.OFFER_CHAIN_NOT_FOUND,
    "offer_chain_not_found": ErrorCode.OFFER_CHAIN_NOT_FOUND,
    "chain_step_not_found": ErrorCode.CHAIN_STEP_NOT_FOUND,
    "step_not_claimable": ErrorCode.STEP_NOT_CLAIMABLE,
    "claimed_today": ErrorCode.STEP_NOT_CLAIMABLE,
    "not_next_step": ErrorCode.STEP_NOT_CLAIMABLE,
    "step_claimed": ErrorCode.STEP_NOT_CLAIMABLE,
    "step_missed": ErrorCode.STEP_NOT_CLAIMABLE,
    "step_in_future": ErrorCode.STEP_NOT_CLAIMABLE,
    "chain_ended": ErrorCode.STEP_NOT_CLAIMABLE,
    "chain_not_started": ErrorCode.STEP_NOT_CLAIMABLE,
    "reset_not_rolling": ErrorCode.VALIDATION_ERROR,
    "chain_completed": ErrorCode.STEP_NOT_CLAIMABLE,
    "wrong_endpoint": ErrorCode.STEP_NOT_CLAIMABLE,
    "step_in_payment": ErrorCode.STEP_NOT_CLAIMABLE,
    "order_closed": ErrorCode.STEP_NOT_CLAIMABLE,
    "chain_active": ErrorCode.ACTIVE_CHAIN,
    "daily_chain_active": ErrorCode.ACTIVE_DAILY_CHAIN,
    "chain_id_mismatch": ErrorCode.CHAIN_ID_MISMATCH,
    "step_ids_not_found": ErrorCode.STEP_IDS_NOT_FOUND,
    # Upsell: LiveOps answers 404 [0401-4001] "Items weren't found: sku1, sku2".
    "items_not_found": ErrorCode.CHAIN_NOT_FOUND,
    "upsell_not_found": ErrorCode.CHAIN_NOT_FOUND,
}
REASON_CODES = frozenset(_BY_REASON)
"""Every refusal code the table knows."""


class HasCode(Protocol):
    """Anything with a refusal `code`: a reason, pricing's reasons, accounting's `Refusal`."""

    @property
    def code(self) -> str:
        """The stable refusal code."""
        ...


def error_code_for(reason: HasCode | PricingReason | str) -> ErrorCode:
    """The LiveOps error code for a refusal: a reason object, an accounting `Refusal`, or
    its `code`."""
    code = reason if isinstance(reason, str) else getattr(reason, "code", None)
    found = _BY_REASON.get(code) if isinstance(code, str) else None
    if found is None:
        raise ValidationError.single("reason", "a known refusal code", code)
    return found


def error_envelope(
    error: ErrorCode,
    *,
    kind: PromotionKind | str = PromotionKind.COUPON,
    detail: str | None = None,
    transaction_id: str | None = None,
) -> dict[str, object]:
    """LiveOps' error answer for `error`: `{statusCode, errorCode, errorMessage, ...}`.

    `detail` replaces LiveOps' standard wording after the `[0401-NNNN]: ` prefix;
    `transactionId` is included when given (the library makes no ids of its own).
    """
    text = detail if detail is not None else error.message(kind)
    envelope: dict[str, object] = {
        "statusCode": error.status,
        "errorCode": int(error),
        "errorMessage": f"[0401-{int(error)}]: {text}",
    }
    if transaction_id is not None:
        envelope["transactionId"] = transaction_id
    return envelope


def validation_envelope(
    error: ValidationError, *, transaction_id: str | None = None
) -> dict[str, object]:
    """A 1102 answer for a ValidationError: the first problem in the message, all of them in
    `errorMessageExtended` (as LiveOps does for some validation answers)."""
    first = error.problems[0]
    envelope = error_envelope(
        ErrorCode.VALIDATION_ERROR,
        detail=f"Unprocessable Entity. {first}",
        transaction_id=transaction_id,
    )
    envelope["errorMessageExtended"] = [
        {"path": p.path, "expected": p.expected, "found": p.found} for p in error.problems
    ]
    return envelope


def chain_config_envelope(
    error: ChainConfigError, *, transaction_id: str | None = None
) -> dict[str, object]:
    """LiveOps' answer for a chain configuration it refuses with its own code (6203, 6204,
    6205, 6206, 6207, 6301, 6302, 6303): the code's wording, and the details LiveOps gives in
    `errorMessageExtended`."""
    envelope = error_envelope(ErrorCode(error.error_code), transaction_id=transaction_id)
    envelope["errorMessageExtended"] = dict(error.extended)
    return envelope
