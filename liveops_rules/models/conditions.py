"""User-attribute conditions: string, number and date, as LiveOps defines them.

A condition reads a user's raw attribute value into its own type (`read`), then compares
(`holds`). Reading never raises: a value that is not of the condition's type reads as None,
which the evaluator reports as a type mismatch.
"""

from __future__ import annotations

import functools
import math
import operator as op
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeAlias

import attrs

from liveops_rules.errors import NaiveDatetimeError, ValidationError
from liveops_rules.models._validate import is_bool, pattern, to_decimal
from liveops_rules.models.values import Operator

__all__ = [
    "DATE",
    "NUMBER",
    "STRING_EQ",
    "STRING_NE",
    "Check",
    "Condition",
    "DateCondition",
    "NumberCondition",
    "StringCondition",
    "aligned",
    "check_status",
    "read_date",
    "read_number",
]

ATTRIBUTE_PATTERN = r"[-_.0-9A-Za-z]{1,255}"
"""LiveOps' `^[-_.\\d\\w]+$` for attribute codes, read as ASCII, 1..255 characters."""

_COMPARE: dict[Operator, Callable[[Any, Any], bool]] = {
    Operator.EQ: op.eq,
    Operator.NE: op.ne,
    Operator.GT: op.gt,
    Operator.GE: op.ge,
    Operator.LT: op.lt,
    Operator.LE: op.le,
}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,6})?", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d{1,18}", re.ASCII)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_MAX_TEXT = 64


PASS = 0
"""`status` result: the condition holds (or the attribute is missing and may be)."""
FAIL = 1
"""`status` result: the value is of the right type and does not meet the condition."""
MISSING = 2
"""`status` result: the attribute is missing and the condition does not allow that."""
MISMATCH = 3
"""`status` result: the value cannot be read as the condition's type."""


@functools.lru_cache(maxsize=4096)
def _number_from_text(raw: str) -> int | Decimal | None:
    if len(raw) > _MAX_TEXT or _NUMBER.fullmatch(raw) is None:
        return None
    if _INTEGER.fullmatch(raw):
        return int(raw)
    return Decimal(raw)


def read_number(raw: object) -> int | Decimal | None:
    """`raw` as a number (int, finite Decimal, finite float, numeric ASCII string), else None."""
    kind = type(raw)
    if kind is int:
        return raw  # type: ignore[return-value]
    if kind is str:
        return _number_from_text(raw)
    if kind is Decimal:
        return raw if raw.is_finite() else None  # type: ignore[attr-defined,return-value]
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return int(raw)
    if isinstance(raw, str):
        return _number_from_text(str(raw))
    if isinstance(raw, Decimal):
        return raw if raw.is_finite() else None
    if isinstance(raw, float):
        return Decimal(raw) if math.isfinite(raw) else None
    return None


@functools.lru_cache(maxsize=4096)
def _date_from_text(raw: str) -> date | datetime | None:
    if len(raw) > _MAX_TEXT or not raw.isascii():
        return None
    try:
        if _DAY.fullmatch(raw):
            return date.fromisoformat(raw)
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def read_date(raw: object) -> date | datetime | None:
    """`raw` as a calendar date or an aware datetime (objects or ISO 8601 text), else None.

    A naive datetime, or text without an offset that is more than a date, is not readable:
    the moment it names is unknown.
    """
    if isinstance(raw, str):
        return _date_from_text(str(raw))
    if isinstance(raw, datetime):
        return raw if raw.utcoffset() is not None else None
    if isinstance(raw, date):
        return raw
    return None


def _rebuild(cls: type[_ConditionBase], fields: dict[str, Any]) -> _ConditionBase:
    return cls(**fields)


_STRING_OPERATORS = frozenset({Operator.EQ, Operator.NE})


def _parse_operator(value: object) -> Operator:
    return Operator.parse(value)


def _check_string_value(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or len(value) > 255:
        raise ValidationError.single(attribute.name, "a string of at most 255 characters", value)


def _check_number_value(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValidationError.single(attribute.name, "a number (int or Decimal)", value)
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValidationError.single(attribute.name, "a finite number", value)


def _to_date_value(value: object) -> object:
    if isinstance(value, str):
        read = read_date(value)
        return value if read is None else read
    return value


def _check_date_value(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise NaiveDatetimeError(attribute.name)
    elif not isinstance(value, date):
        raise ValidationError.single(
            attribute.name, "a date or an aware datetime (ISO 8601 with offset)", value
        )


def _comparable(value: int | Decimal) -> int | Decimal:
    """An integral Decimal as an int: int-to-int comparisons are several times faster."""
    if isinstance(value, Decimal) and value == value.to_integral_value() and abs(value) < 2**62:
        return int(value)
    return value


STRING_EQ = 0
"""`Check` kind: the value is a string equal to `expected`."""
STRING_NE = 1
"""`Check` kind: the value is a string different from `expected`."""
NUMBER = 2
"""`Check` kind: the value read as a number compares with `expected` by `compare`."""
DATE = 3
"""`Check` kind: the value read as a date or moment compares with `expected` by `compare`."""

Check: TypeAlias = tuple[str, int, Callable[[Any, Any], bool], Any, bool]
"""A condition compiled to plain data: (attribute, kind, compare, expected, can_be_missing).

`expected` is already in the type compared (integral numbers as int); the evaluator's loop
reads these tuples without calling anything per condition but `compare`.
"""


def aligned(moment: date | datetime, expected: date | datetime) -> date | datetime:
    """`moment` in the kind of `expected`: a moment's calendar date in its own offset, or a
    date's midnight in UTC."""
    if isinstance(expected, datetime):
        if not isinstance(moment, datetime):
            return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    elif isinstance(moment, datetime):
        return moment.date()
    return moment


def check_status(check: Check, raw: object) -> int:
    """PASS, FAIL, MISSING or MISMATCH for a raw attribute value (None when missing)."""
    _, kind, compare, expected, can_be_missing = check
    if raw is None:
        return PASS if can_be_missing else MISSING
    if kind <= STRING_NE:
        if not isinstance(raw, str):
            return MISMATCH
        return PASS if (raw == expected) is (kind == STRING_EQ) else FAIL
    if kind == NUMBER:
        number = read_number(raw)
        if number is None:
            return MISMATCH
        return PASS if compare(number, expected) else FAIL
    moment = read_date(raw)
    if moment is None:
        return MISMATCH
    return PASS if compare(aligned(moment, expected), expected) else FAIL


@attrs.frozen
class _ConditionBase:
    """Fields every condition has; `operator` and `value` are checked by each type.

    `check` is the condition compiled once, at construction, for the evaluator's loop;
    `status(raw)` answers PASS, FAIL, MISSING or MISMATCH for one raw value.
    """

    attribute: str = attrs.field(
        validator=pattern(ATTRIBUTE_PATTERN, "an attribute code ([-_.0-9A-Za-z], 1..255)")
    )
    operator: Operator = attrs.field(converter=_parse_operator)
    check: Check = attrs.field(init=False, eq=False, repr=False, hash=False, order=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "check", self._compile())

    def __reduce__(self) -> tuple[Any, ...]:
        fields = {f.name: getattr(self, f.name) for f in attrs.fields(type(self)) if f.init}
        return (_rebuild, (type(self), fields))

    def _compile(self) -> Check:
        raise NotImplementedError

    def status(self, raw: object) -> int:
        """PASS, FAIL, MISSING or MISMATCH for a raw attribute value (None when missing)."""
        return check_status(self.check, raw)

    def render_value(self) -> str:
        """The condition's value as text."""
        raise NotImplementedError


@attrs.frozen
class StringCondition(_ConditionBase):
    """The user's attribute, a string, equals (`eq`) or differs from (`ne`) `value`."""

    type_name: ClassVar[str] = "string"

    value: str = attrs.field(validator=_check_string_value)
    can_be_missing: bool = attrs.field(default=False, kw_only=True, validator=is_bool)

    def _compile(self) -> Check:
        if self.operator not in _STRING_OPERATORS:
            raise ValidationError.single("operator", "one of eq, ne", self.operator.value)
        kind = STRING_EQ if self.operator is Operator.EQ else STRING_NE
        return (self.attribute, kind, _COMPARE[self.operator], self.value, self.can_be_missing)

    @staticmethod
    def read(raw: object) -> str | None:
        """`raw` if it is a string, else None (a type mismatch)."""
        return raw if isinstance(raw, str) else None

    def holds(self, value: str) -> bool:
        """Whether a read value meets the condition."""
        return (value == self.value) is (self.operator is Operator.EQ)

    def render_value(self) -> str:
        """The condition's value as text."""
        return self.value


@attrs.frozen
class NumberCondition(_ConditionBase):
    """The user's attribute, read as a number, compares with `value` by `operator`."""

    type_name: ClassVar[str] = "number"

    value: int | Decimal = attrs.field(converter=to_decimal, validator=_check_number_value)
    can_be_missing: bool = attrs.field(default=False, kw_only=True, validator=is_bool)

    read = staticmethod(read_number)

    def _compile(self) -> Check:
        threshold = _comparable(self.value)
        compare = _COMPARE[self.operator]
        return (self.attribute, NUMBER, compare, threshold, self.can_be_missing)

    def holds(self, value: int | Decimal) -> bool:
        """Whether a read value meets the condition."""
        return bool(_COMPARE[self.operator](value, self.value))

    def render_value(self) -> str:
        """The condition's value as text."""
        return str(self.value)


@attrs.frozen
class DateCondition(_ConditionBase):
    """The user's attribute, read as a date or moment, compares with `value` by `operator`.

    When the condition's value is a calendar date, a moment given by the user is compared by
    its calendar date in its own offset. When the value is a moment and the user gives a date,
    the date is taken as its midnight in UTC.
    """

    type_name: ClassVar[str] = "date"

    value: date | datetime = attrs.field(converter=_to_date_value, validator=_check_date_value)
    can_be_missing: bool = attrs.field(default=False, kw_only=True, validator=is_bool)

    read = staticmethod(read_date)

    def _compile(self) -> Check:
        compare = _COMPARE[self.operator]
        return (self.attribute, DATE, compare, self.value, self.can_be_missing)

    def holds(self, value: date | datetime) -> bool:
        """Whether a read value meets the condition."""
        return bool(_COMPARE[self.operator](aligned(value, self.value), self.value))

    def render_value(self) -> str:
        """The condition's value as text."""
        return self.value.isoformat()


Condition: TypeAlias = StringCondition | NumberCondition | DateCondition
"""Any user-attribute condition."""
