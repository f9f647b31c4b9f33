"""What accounting operations answer: outcomes, refusals and the errors of admin and
settle operations, with LiveOps' error codes."""

from __future__ import annotations

from typing import Any, NamedTuple

import attrs

from liveops_rules.error_catalog import ErrorCode, error_code_for
from liveops_rules.errors import LiveOpsError
from liveops_rules.models import RewardItem

__all__ = [
    "EXTRA_CODES",
    "LIMIT_NAMES",
    "AccountingError",
    "Outcome",
    "Refusal",
    "code_exists_error",
    "refused_outcome",
]


class AccountingError(LiveOpsError):
    """An admin or settle operation that cannot be done; `code` names the refusal and
    `error_code` is LiveOps' code for it."""

    def __init__(self, code: str, message: str, details: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        """What the refusal concerns, when it is many things (every code already taken)."""

    @property
    def error_code(self) -> ErrorCode:
        """LiveOps' error code for this refusal."""
        if self.code in EXTRA_CODES:
            return EXTRA_CODES[self.code]
        return error_code_for(self.code)


EXTRA_CODES = {
    "idempotency_conflict": ErrorCode.VALIDATION_ERROR,
    "stale_promotion": ErrorCode.VALIDATION_ERROR,
    "promotion_exists": ErrorCode.VALIDATION_ERROR,
    "no_codes": ErrorCode.VALIDATION_ERROR,
    "code_space_full": ErrorCode.VALIDATION_ERROR,
    "unknown_operation": ErrorCode.VALIDATION_ERROR,
    "wrong_state": ErrorCode.VALIDATION_ERROR,
    "reservation_expired": ErrorCode.EXPIRED,
}


@attrs.frozen
class Refusal:
    """Why an operation did not count: a stable `code`, a message, and the details."""

    code: str
    message: str
    reasons: tuple[dict[str, Any], ...] = ()
    """The evaluator's reasons (as dicts) when the promotion does not apply."""
    limit: str | None = None
    """Which limit was exhausted: `total`, `per_user` or `per_code`."""

    @property
    def error_code(self) -> ErrorCode:
        """LiveOps' error code for this refusal."""
        return EXTRA_CODES.get(self.code) or error_code_for(self.code)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "reason": self.code,
            "error_code": int(self.error_code),
            "message": self.message,
            "limit": self.limit,
            "reasons": list(self.reasons),
        }


# A NamedTuple rather than an attrs class: one is made per redemption, on the hot path.
class Outcome(NamedTuple):
    """The result of redeem/reserve/commit: `ok` with what was granted, or a refusal."""

    ok: bool
    promotion: str | None = None
    operation_id: str | None = None
    items: tuple[RewardItem, ...] = ()
    refusal: Refusal | None = None
    replayed: bool = False
    """True when this is the first result of an earlier call with the same idempotency key."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (without `replayed`)."""
        document: dict[str, Any] = {"ok": self.ok, "promotion": self.promotion}
        if self.ok:
            document["operation_id"] = self.operation_id
            document["items"] = [{"sku": i.sku, "quantity": i.quantity} for i in self.items]
        else:
            assert self.refusal is not None
            document.update(self.refusal.to_dict())
        return document

    @classmethod
    def from_dict(cls, document: dict[str, Any], *, replayed: bool = False) -> Outcome:
        """The Outcome a `to_dict` wrote."""
        if document["ok"]:
            return cls(
                ok=True,
                promotion=document["promotion"],
                operation_id=document["operation_id"],
                items=tuple(RewardItem(i["sku"], i["quantity"]) for i in document["items"]),
                replayed=replayed,
            )
        return cls(
            ok=False,
            promotion=document["promotion"],
            refusal=Refusal(
                document["reason"],
                document["message"],
                tuple(document["reasons"]),
                document["limit"],
            ),
            replayed=replayed,
        )


def refused_outcome(code: str, message: str, promotion: str | None = None, **extra: Any) -> Outcome:
    return Outcome(ok=False, promotion=promotion, refusal=Refusal(code, message, **extra))


LIMIT_NAMES = {
    "t": ("total", "promotion"),
    "u": ("per_user", "per-user"),
    "c": ("per_code", "per-code"),
}


def code_exists_error(codes: list[str]) -> AccountingError:
    """9803 for the codes already taken, every one of them in `details`."""
    shown = ", ".join(codes[:5]) + (f" and {len(codes) - 5} more" if len(codes) > 5 else "")
    return AccountingError("code_exists", f"The code already exists: {shown}", tuple(codes))
