"""What every store can keep: the bounds the engine checks before it sends anything.

Each store has limits of its own (PostgreSQL refuses NUL characters and index rows over 2.7 KB,
SQLite and Redis keep text as UTF-8, Lua numbers are doubles). Rather than let one store fail
where another succeeds, the engine refuses with a `ValidationError`, before any I/O, whatever
would not fit in all of them:

- user ids, idempotency keys and operation ids: 1..256 characters of UTF-8-encodable text
  without NUL (a lone surrogate cannot be encoded);
- moments: from 0001-01-02 to 9999-12-30 UTC, a reservation's expiry included, so that every
  offset keeps them inside the years 1..9999 of Python's datetime;
- counts, limits and allowances: integers up to 2**31-1 (`COUNT_MAX`), so that every counter
  and every ledger delta stays exact on every store.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from liveops_rules.errors import ValidationError
from liveops_rules.evaluate import check_moment

__all__ = [
    "COUNT_MAX",
    "MOMENT_MAX",
    "MOMENT_MIN",
    "TEXT_MAX",
    "check_count",
    "check_seconds",
    "check_stored_moment",
    "check_text",
    "hold_expiry",
]

COUNT_MAX = 2**31 - 1
"""The largest quantity, limit or allowance a counter keeps."""

TEXT_MAX = 256
"""The most characters of a user id, an idempotency key or an operation id."""

MOMENT_MIN = datetime(1, 1, 2, tzinfo=UTC)
"""The earliest moment a store keeps."""

MOMENT_MAX = datetime(9999, 12, 30, tzinfo=UTC)
"""The latest moment a store keeps (a reservation's expiry included)."""


def check_text(value: object, name: str, maximum: int = TEXT_MAX) -> str:
    """`value` if it is text a store can keep as a key: 1..`maximum` characters, encodable as
    UTF-8, no NUL; else a ValidationError at `name`."""
    if not isinstance(value, str):
        raise ValidationError.single(name, "a string", value)
    if not 1 <= len(value) <= maximum:
        raise ValidationError.single(name, f"1 to {maximum} characters", value)
    if "\x00" in value:
        raise ValidationError.single(name, "text without NUL characters", value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValidationError.single(
            name, "text encodable as UTF-8 (no lone surrogates)", f"{error.object[error.start]!r}"
        ) from None
    return value


def check_stored_moment(at: object, name: str = "at") -> datetime:
    """`at` if it is an aware datetime a store can keep (see `MOMENT_MIN`, `MOMENT_MAX`)."""
    moment = check_moment(at, name)
    try:
        inside = MOMENT_MIN <= moment <= MOMENT_MAX
    except OverflowError:  # a tzinfo whose offset takes the moment out of datetime's range
        inside = False
    if not inside:
        raise ValidationError.single(
            name, f"a moment from {MOMENT_MIN.isoformat()} to {MOMENT_MAX.isoformat()}", moment
        )
    return moment


def hold_expiry(at: datetime, hold: object) -> datetime:
    """When a hold of `hold` from `at` expires, if it is a positive timedelta and the expiry is
    a moment a store can keep; else a ValidationError at `hold`."""
    if not isinstance(hold, timedelta) or hold <= timedelta(0):
        raise ValidationError.single("hold", "a positive timedelta", hold)
    latest = f"a hold ending by {MOMENT_MAX.isoformat()}"
    try:
        expiry = at + hold
    except OverflowError:
        raise ValidationError.single("hold", latest, hold) from None
    if expiry > MOMENT_MAX:
        raise ValidationError.single("hold", latest, hold)
    return expiry


def check_count(value: object, name: str, low: int = 1, high: int = COUNT_MAX) -> int:
    """`value` if it is an int (not a bool) from `low` to `high`; else a ValidationError."""
    if type(value) is not int or not low <= value <= high:
        raise ValidationError.single(name, f"an integer from {low} to {high}", value)
    return value


def check_seconds(name: str, value: object, *, low: float = 0.0, high: float = 3600.0) -> float:
    """`value` as float seconds if it is a finite number from `low` to `high` (an hour by
    default: every wait is bounded); else a ValidationError."""
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise ValidationError.single(name, f"seconds from {low:g} to {high:g}", value)
    return float(value)
