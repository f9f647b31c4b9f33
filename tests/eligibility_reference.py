"""An independent reading of the eligibility rules, written from the documentation, for the
property tests: no code of the library's evaluator is used (only the models' fields)."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal

from liveops_rules import PersonalizedCatalogRule, Promotion, User

_NUMBER_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,6})?")


def read_number(raw: object) -> Decimal | None:
    """A number, as the docs say: ints, finite Decimals and floats, numeric ASCII text."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, Decimal):
        return raw if raw.is_finite() else None
    if isinstance(raw, float):
        return Decimal(raw) if math.isfinite(raw) else None
    if isinstance(raw, str):
        text = str(raw)
        if len(text) <= 64 and text.isascii() and _NUMBER_TEXT.fullmatch(text):
            return Decimal(text)
    return None


def read_date(raw: object) -> date | None:
    """A calendar date or an aware moment (objects, or ISO 8601 text); naive moments are not."""
    if isinstance(raw, str):
        text = str(raw)
        if len(text) > 64 or not text.isascii():
            return None
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                return date.fromisoformat(text)
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        return moment if moment.utcoffset() is not None else None
    if isinstance(raw, datetime):
        return raw if raw.utcoffset() is not None else None
    if isinstance(raw, date):
        return raw
    return None


def _compare(operator: str, left: object, right: object) -> bool:
    return {
        "eq": left == right,
        "ne": left != right,
        "gt": left > right,  # type: ignore[operator]
        "ge": left >= right,  # type: ignore[operator]
        "lt": left < right,  # type: ignore[operator]
        "le": left <= right,  # type: ignore[operator]
    }[operator]


def condition_code(condition: object, attributes: dict[str, object]) -> str | None:
    """None when the condition holds, else the reason code the docs give."""
    attribute = condition.attribute  # type: ignore[attr-defined]
    operator = condition.operator.value  # type: ignore[attr-defined]
    expected = condition.value  # type: ignore[attr-defined]
    raw = attributes.get(attribute)
    if raw is None:
        return None if condition.can_be_missing else "attribute_missing"  # type: ignore[attr-defined]
    kind = condition.type_name  # type: ignore[attr-defined]
    if kind == "string":
        if not isinstance(raw, str):
            return "type_mismatch"
        return None if _compare(operator, raw, expected) else "condition_failed"
    if kind == "number":
        number = read_number(raw)
        if number is None:
            return "type_mismatch"
        return None if _compare(operator, number, Decimal(expected)) else "condition_failed"
    moment = read_date(raw)
    if moment is None:
        return "type_mismatch"
    if isinstance(expected, datetime) and not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    elif not isinstance(expected, datetime) and isinstance(moment, datetime):
        moment = moment.date()
    return None if _compare(operator, moment, expected) else "condition_failed"


def reason_codes(promotion: Promotion, user: User, at: datetime) -> list[str]:
    """Every reason code, in the documented order: disabled, the window, then conditions."""
    codes = [] if promotion.enabled else ["disabled"]
    periods = promotion.window.all_periods
    inside = any(
        (start is None or start <= at) and (end is None or at < end) for start, end in periods
    )
    if not inside:
        first, last = periods[0][0], periods[-1][1]
        if first is not None and at < first:
            codes.append("not_started")
        elif last is not None and at >= last:
            codes.append("ended")
        else:
            codes.append("between_periods")
    if user.id is None and isinstance(promotion, PersonalizedCatalogRule):
        if not promotion.satisfied_for_unauth:
            codes.append("anonymous_user")
        return codes
    attributes = dict(user.attributes)
    for condition in promotion.conditions:
        code = condition_code(condition, attributes)
        if code is not None:
            codes.append(code)
    return codes
