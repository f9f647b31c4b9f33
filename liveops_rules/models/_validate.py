"""attrs validators and converters that raise the library's ValidationError, naming the field."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from liveops_rules.errors import NaiveDatetimeError, Problem, ValidationError

_DECIMAL_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)

INT_MAX = 2**31 - 1
"""Largest integer a limit, quantity or id may take (the stores' signed 32-bit range)."""

T = TypeVar("T")
Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def pattern(regex: str, what: str, *, max_length: int | None = None) -> Validator:
    """A validator: the value is a str that matches `regex` as a whole, ASCII classes only."""
    compiled = re.compile(regex, re.ASCII)

    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, str):
            raise ValidationError.single(attribute.name, what, value)
        if max_length is not None and len(value) > max_length:
            raise ValidationError.single(
                attribute.name, f"{what} of at most {max_length} characters", value
            )
        if compiled.fullmatch(value) is None:
            raise ValidationError.single(attribute.name, what, value)

    return check


def optional(validator: Validator) -> Validator:
    """A validator that lets None through and checks anything else with `validator`."""

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            validator(instance, attribute, value)

    return check


def int_in(low: int, high: int = INT_MAX) -> Validator:
    """A validator: a real int (never a bool) in [low, high]."""

    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if type(value) is not int or not low <= value <= high:
            raise ValidationError.single(attribute.name, f"an integer from {low} to {high}", value)

    return check


def is_bool(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A validator: exactly True or False."""
    if type(value) is not bool:
        raise ValidationError.single(attribute.name, "true or false", value)


def aware(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A validator: an aware datetime."""
    if not isinstance(value, datetime):
        raise ValidationError.single(attribute.name, "an aware datetime", value)
    if value.utcoffset() is None:
        raise NaiveDatetimeError(attribute.name)


def instance_of(cls: type | tuple[type, ...], what: str) -> Validator:
    """A validator: an instance of `cls`, described as `what` in the error."""

    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, cls):
            raise ValidationError.single(attribute.name, what, value)

    return check


def each(validator: Validator, *, min_items: int = 0, max_items: int | None = None) -> Validator:
    """A validator for a tuple: its length is in range and every element passes `validator`."""

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, tuple):
            raise ValidationError.single(attribute.name, "a sequence", value)
        if len(value) < min_items or (max_items is not None and len(value) > max_items):
            bound = f"at most {max_items}" if max_items is not None else "any number of"
            raise ValidationError.single(
                attribute.name, f"at least {min_items} and {bound} items", value
            )
        for index, item in enumerate(value):
            try:
                validator(instance, attribute, item)
            except ValidationError as error:
                raise ValidationError(
                    attrs.evolve(p, path=f"{attribute.name}[{index}]") for p in error.problems
                ) from None

    return check


def to_tuple(value: Iterable[T] | None) -> tuple[T, ...]:
    """Converter: any iterable (not a str or mapping) to a tuple; None to ()."""
    if value is None:
        return ()
    if isinstance(value, str | bytes | dict) or not isinstance(value, Iterable):
        return value  # type: ignore[return-value]  # left for the validator to reject
    return tuple(value)


def to_optional_tuple(value: Iterable[T] | None) -> tuple[T, ...] | None:
    """Converter: None stays None (absent), anything else becomes a tuple."""
    return None if value is None else to_tuple(value)


def to_decimal(value: object) -> object:
    """Converter: int or numeric str → Decimal; float and bool are left for the validator to
    reject, since money and thresholds must never pass through binary floating point."""
    if isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value):
        return Decimal(value)
    return value


def decimal_in(
    low: Decimal, high: Decimal | None, what: str, *, low_open: bool = False
) -> Validator:
    """A validator: a finite Decimal within [low, high] (or (low, high] when `low_open`)."""

    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ValidationError.single(attribute.name, what, value)
        too_low = value <= low if low_open else value < low
        if too_low or (high is not None and value > high):
            raise ValidationError.single(attribute.name, what, value)

    return check


def build(cls: type[T], values: dict[str, Any]) -> T:
    """`cls(**values)`, but reporting every invalid field at once rather than the first.

    Each field is converted and validated on its own (cross-field validators see the other
    converted values); only when all pass is the instance built, which then runs the
    whole-object checks.
    """
    try:  # the common case, valid values: the constructor checks each field once
        return cls(**values)
    except ValidationError:
        pass
    converted: dict[str, Any] = {}
    problems: list[Problem] = []
    fields = attrs.fields(cls)  # type: ignore[arg-type]
    for field in fields:
        if not field.init:
            continue
        name = field.alias or field.name
        if name in values:
            value = values[name]
        elif field.default is attrs.NOTHING:
            continue
        elif isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            value = field.default.factory()
        else:
            value = field.default
        if field.converter is not None and name in values:
            try:
                value = field.converter(value)
            except ValidationError as error:
                problems.extend(error.problems)
                continue
        converted[field.name] = value
    view = _View(converted)
    for field in fields:
        if field.validator is None or field.name not in converted:
            continue
        try:
            field.validator(view, field, converted[field.name])
        except ValidationError as error:
            problems.extend(error.problems)
    if problems:
        raise ValidationError(problems)
    return cls(**values)


class _View:
    """Attribute access to converted field values, standing in for the instance."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:
        return None
