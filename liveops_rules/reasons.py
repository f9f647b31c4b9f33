"""Why a promotion does not apply: typed values with a stable `code` and a readable message."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, TypeAlias

import attrs

__all__ = [
    "AnonymousUser",
    "AttributeMissing",
    "ConditionFailed",
    "Disabled",
    "Ended",
    "NotStarted",
    "Reason",
    "TypeMismatch",
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
    | ConditionFailed
    | AttributeMissing
    | TypeMismatch
    | AnonymousUser
)
"""Any reason a promotion does not apply."""
