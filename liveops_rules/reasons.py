"""Why a promotion does not apply: typed values with a stable `code` and a readable message."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, TypeAlias

import attrs

__all__ = [
    "AnonymousUser",
    "AttributeMissing",
    "BetweenPeriods",
    "ConditionFailed",
    "Disabled",
    "Ended",
    "Excluded",
    "LimitReached",
    "MalformedCode",
    "NoMatchingItem",
    "NotStarted",
    "PriceConditionFailed",
    "PricingReason",
    "Reason",
    "Refused",
    "SignInRequired",
    "TypeMismatch",
    "UnknownCode",
]


def _show(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


@attrs.frozen
class Disabled:
    """The promotion is switched off."""

    code: ClassVar[str] = "disabled"

    @property
    def message(self) -> str:
        """A sentence for a person."""
        return "promotion is disabled"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields: code, message and the reason's data."""
        return {"code": self.code, "message": self.message}


@attrs.frozen
class NotStarted:
    """`at` is before the promotion's start."""

    code: ClassVar[str] = "not_started"
    starts_at: datetime

    @property
    def message(self) -> str:
        """A sentence for a person."""
        return f"starts at {self.starts_at.isoformat()}"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields: code, message and the reason's data."""
        return {"code": self.code, "message": self.message, "starts_at": _show(self.starts_at)}


@attrs.frozen
class Ended:
    """`at` is at or after the promotion's end."""

    code: ClassVar[str] = "ended"
    ended_at: datetime

    @property
    def message(self) -> str:
        """A sentence for a person."""
        return f"ended at {self.ended_at.isoformat()}"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields: code, message and the reason's data."""
        return {"code": self.code, "message": self.message, "ended_at": _show(self.ended_at)}


@attrs.frozen
class BetweenPeriods:
    """`at` falls after one of the promotion's periods and before the next (LiveOps v3)."""

    code: ClassVar[str] = "between_periods"
    ended_at: datetime
    next_start: datetime

    @property
    def message(self) -> str:
        """A sentence for a person."""
        return (
            f"between periods: one ended at {self.ended_at.isoformat()}, "
            f"the next starts at {self.next_start.isoformat()}"
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields: code, message and the reason's data."""
        return {
            "code": self.code,
            "message": self.message,
            "ended_at": _show(self.ended_at),
            "next_start": _show(self.next_start),
        }


@attrs.frozen
class ConditionFailed:
    """The user's attribute has a value of the right type that does not meet the condition."""

    code: ClassVar[str] = "condition_failed"
    attribute: str
    operator: str
    expected: str
    actual: str

    @property
    def message(self) -> str:
        """A sentence for a person."""
        return (
            f"attribute `{self.attribute}` is `{self.actual}`, "
            f"needs `{self.operator} {self.expected}`"
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields: code, message and the reason's data."""
        return {
            "code": self.code,
            "message": self.message,
            "attribute": self.attribute,
            "operator": self.operator,
            "expected": self.expected,
            "actual": self.actual,
        }


@attrs.frozen
class AttributeMissing:
    """The user lacks the attribute and the condition does not allow that."""

    code: ClassVar[str] = "attribute_missing"
    attribute: str
    operator: str
    expected: str

    @property
    def message(self) -> str:
        """A sentence for a person."""
        return f"attribute `{self.attribute}` is missing, needs `{self.operator} {self.expected}`"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields: code, message and the reason's data."""
        return {
            "code": self.code,
            "message": self.message,
            "attribute": self.attribute,
            "operator": self.operator,
            "expected": self.expected,
        }


@attrs.frozen
class TypeMismatch:
    """The user's attribute cannot be read as the condition's type."""

    code: ClassVar[str] = "type_mismatch"
    attribute: str
    expected_type: str
    actual: str

    @property
    def message(self) -> str:
        """A sentence for a person."""
        return f"attribute `{self.attribute}` is `{self.actual}`, not a {self.expected_type}"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields: code, message and the reason's data."""
        return {
            "code": self.code,
            "message": self.message,
            "attribute": self.attribute,
            "expected_type": self.expected_type,
            "actual": self.actual,
        }


@attrs.frozen
class AnonymousUser:
    """A personalized rule that is not shown to users who are not signed in."""

    code: ClassVar[str] = "anonymous_user"

    @property
    def message(self) -> str:
        """A sentence for a person."""
        return "not shown to anonymous users"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields: code, message and the reason's data."""
        return {"code": self.code, "message": self.message}


Reason: TypeAlias = (
    Disabled
    | NotStarted
    | Ended
    | BetweenPeriods
    | ConditionFailed
    | AttributeMissing
    | TypeMismatch
    | AnonymousUser
)
"""Any reason a promotion does not apply."""


# -- why a promotion does not apply to a cart (pricing adds these to the evaluator's) --------


@attrs.frozen
class Excluded:
    """Another promotion that applies to the cart excludes this one (`excluded_promotions`)."""

    code: ClassVar[str] = "excluded"
    by_kind: str
    by_id: str

    @property
    def message(self) -> str:
        """A sentence for a person."""
        return f"excluded by {self.by_kind} {self.by_id}"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields: code, message and the reason's data."""
        return {
            "code": self.code,
            "message": self.message,
            "by_kind": self.by_kind,
            "by_id": self.by_id,
        }


@attrs.frozen
class PriceConditionFailed:
    """A price condition does not hold: `subject` (the cart total) compared with `expected`."""

    code: ClassVar[str] = "price_condition_failed"
    subject: str
    operator: str
    expected: str
    actual: str

    @property
    def message(self) -> str:
        """A sentence for a person."""
        return f"{self.subject} is {self.actual}, needs `{self.operator} {self.expected}`"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields: code, message and the reason's data."""
        return {
            "code": self.code,
            "message": self.message,
            "subject": self.subject,
            "operator": self.operator,
            "expected": self.expected,
            "actual": self.actual,
        }


@attrs.frozen
class NoMatchingItem:
    """The promotion would change nothing in this cart: none of its items (or none priced
    as its item price conditions ask) is in it."""

    code: ClassVar[str] = "no_matching_item"

    @property
    def message(self) -> str:
        """A sentence for a person."""
        return "no item in the cart qualifies"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields: code, message and the reason's data."""
        return {"code": self.code, "message": self.message}


@attrs.frozen
class SignInRequired:
    """The promotion has a per-user limit and the user is anonymous."""

    code: ClassVar[str] = "sign_in_required"

    @property
    def message(self) -> str:
        """A sentence for a person."""
        return "has a per-user limit: needs a signed-in user"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields: code, message and the reason's data."""
        return {"code": self.code, "message": self.message}


@attrs.frozen
class LimitReached:
    """A checkout could not reserve the promotion: one of its limits is used up."""

    code: ClassVar[str] = "limit_reached"
    limit: str
    """`total`, `per_user` or `per_code`."""
    detail: str

    @property
    def message(self) -> str:
        """A sentence for a person."""
        return self.detail

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields: code, message and the reason's data."""
        return {"code": self.code, "message": self.message, "limit": self.limit}


@attrs.frozen
class UnknownCode:
    """No promo code has this code."""

    code: ClassVar[str] = "unknown_code"
    promo_code: str

    @property
    def message(self) -> str:
        """A sentence for a person."""
        return f"no promo code {self.promo_code!r}"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields: code, message and the reason's data."""
        return {"code": self.code, "message": self.message, "promo_code": self.promo_code}


@attrs.frozen
class MalformedCode:
    """The text cannot be a code (LiveOps codes are 1..128 Latin letters and digits)."""

    code: ClassVar[str] = "malformed_code"
    promo_code: str

    @property
    def message(self) -> str:
        """A sentence for a person."""
        return f"{self.promo_code!r} is not a valid code (Latin letters and digits only)"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields: code, message and the reason's data."""
        return {"code": self.code, "message": self.message, "promo_code": self.promo_code}


@attrs.frozen
class Refused:
    """A checkout's reservation was refused for another reason than a used-up limit; `code`
    is the accounting's refusal code (such as `ended`, when the store's copy has ended)."""

    code: str
    detail: str

    @property
    def message(self) -> str:
        """A sentence for a person."""
        return self.detail

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields: code and message."""
        return {"code": self.code, "message": self.message}


PricingReason: TypeAlias = (
    Reason
    | Excluded
    | PriceConditionFailed
    | NoMatchingItem
    | SignInRequired
    | LimitReached
    | UnknownCode
    | MalformedCode
    | Refused
)
"""Any reason a promotion does not apply to a cart: the evaluator's and pricing's own."""
