"""The cattrs converter that fills the payload classes from parsed JSON, strictly.

JSON types are checked exactly (a bool is not an int, an object is not a list), unknown
fields are refused, and every fault is reported with its JSON path, not only the first.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar, get_args

import attrs
import cattrs
from cattrs.cols import is_mapping, is_sequence, list_structure_factory
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from cattrs.gen import make_dict_structure_fn

from liveops_rules._caches import remember
from liveops_rules.errors import Problem, ValidationError, describe, join_path
from liveops_rules.wire._payloads import (
    AnyJson,
    AttributeConditionPayload,
    ConditionGroups,
    Conditions,
    JsonBool,
    JsonInt,
    JsonNumber,
    JsonStr,
    LocaleTexts,
    PerUserLimit,
    PerUserTotalPayload,
)

__all__ = ["structure"]

T = TypeVar("T")

_INT_DIGITS = 20  # an integral Decimal with more digits than this is no integer we could use


class _WrongTypeError(Exception):
    """A JSON value of the wrong type (or shape) where a field expects another."""

    def __init__(self, expected: str, value: object) -> None:
        super().__init__(expected)
        self.expected = expected
        self.found = describe(value)


class _NestedError(Exception):
    """Problems found inside a value, with paths relative to it."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = problems


def _from_float(value: object) -> object:
    """A finite float (from a json.loads the caller ran) as the Decimal its text names."""
    if isinstance(value, float) and math.isfinite(value):
        return Decimal(repr(value))
    return value


def _str(value: object, _: type) -> str:
    if isinstance(value, str):
        return value
    raise _WrongTypeError("a string", value)


def _int(value: object, _: type) -> int:
    value = _from_float(value)
    if type(value) is int:
        return value
    if (
        isinstance(value, Decimal)
        and value.is_finite()
        and value.adjusted() < _INT_DIGITS
        and value == value.to_integral_value()
    ):
        return int(value)
    raise _WrongTypeError("an integer", value)


def _bool(value: object, _: type) -> bool:
    if type(value) is bool:
        return value
    raise _WrongTypeError("true or false", value)


def _number(value: object, _: type) -> Decimal | int:
    value = _from_float(value)
    if type(value) is int or (isinstance(value, Decimal) and value.is_finite()):
        return value
    raise _WrongTypeError("a number", value)


def _any_json(value: object, _: type) -> object:
    if value is None or isinstance(value, str | int | float | Decimal | list | dict):
        return value
    raise _WrongTypeError("a JSON value", value)


def _locale_texts(value: object, _: type) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _WrongTypeError("an object of locale to text", value)
    problems = [
        Problem(f".{key}", "a text or null", describe(text))
        for key, text in value.items()
        if text is not None and not isinstance(text, str)
    ]
    if problems:
        raise _NestedError(problems)
    return {key: text for key, text in value.items() if text is not None}


def _per_user(value: object, _: type) -> int | PerUserTotalPayload:
    if isinstance(value, dict):
        return _CONVERTER.structure(value, PerUserTotalPayload)
    try:
        return _int(value, int)
    except _WrongTypeError:
        raise _WrongTypeError("an integer, or {total: integer} as read", value) from None


_PAYLOADS: dict[tuple[tuple[str, object], ...], AttributeConditionPayload] = {}
_PAYLOADS_KEPT = 16_384
_PLAIN = (str, bool, type(None))


def _known_condition(item: object, converter: cattrs.Converter) -> AttributeConditionPayload | None:
    """The payload of a condition object seen before (or now structured without a fault);
    None when it has to go through the detailed pass. Keys hold exact JSON types only, so
    that no two different objects share one (`1 == True` would)."""
    if type(item) is not dict or not all(type(v) in _PLAIN for v in item.values()):
        return None
    key = tuple(item.items())
    found = _PAYLOADS.get(key)
    if found is None:
        try:
            found = converter.structure(item, AttributeConditionPayload)
        except Exception:  # any fault: the list's own pass reports it at its index
            return None
        remember(_PAYLOADS, key, found, _PAYLOADS_KEPT)
    return found


def _condition_list_hook(converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """`list[AttributeConditionPayload]`: conditions seen before taken from the memo, else
    the list structured (and its faults found) as any list."""
    structure_list = _list_factory(list[AttributeConditionPayload], converter)

    def structure(value: object, target: Any) -> Any:
        if isinstance(value, list):
            known = [_known_condition(item, converter) for item in value]
            if None not in known:
                return known
        return structure_list(value, target)

    return structure


def _conditions(value: object, _: type) -> list[AttributeConditionPayload] | ConditionGroups:
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        return ConditionGroups(_CONVERTER.structure(value, list[list[AttributeConditionPayload]]))
    return _CONVERTER.structure(value, list[AttributeConditionPayload])


def _list_factory(kind: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    inner = list_structure_factory(kind, converter)

    def structure(value: object, target: Any) -> Any:
        if not isinstance(value, list):
            raise _WrongTypeError("a list", value)
        return inner(value, target)

    return structure


def _mapping_factory(kind: Any, _converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    _, value_type = get_args(kind)

    def structure(value: object, _: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _WrongTypeError("an object", value)
        result: dict[str, Any] = {}
        problems: list[Problem] = []
        for key, item in value.items():
            if value_type is object:
                item = _from_float(item)
                if (
                    item is None
                    or isinstance(item, str | int | bool)
                    or (isinstance(item, Decimal) and item.is_finite())
                ):
                    result[key] = item
                else:
                    problems.append(
                        Problem(f".{key}", "a string, number or boolean", describe(item))
                    )
            elif isinstance(item, str):
                result[key] = item
            else:
                problems.append(Problem(f".{key}", "a string", describe(item)))
        if problems:
            raise _NestedError(problems)
        return result

    return structure


def _class_factory(cls: type, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    inner: Callable[[Any, Any], Any] = make_dict_structure_fn(
        cls, converter, _cattrs_forbid_extra_keys=True
    )

    def structure(value: object, target: Any) -> Any:
        if not isinstance(value, dict):
            raise _WrongTypeError("an object", value)
        return inner(value, target)

    return structure


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    converter.register_structure_hook(JsonStr, _str)
    converter.register_structure_hook(JsonInt, _int)
    converter.register_structure_hook(JsonBool, _bool)
    converter.register_structure_hook(JsonNumber, _number)
    converter.register_structure_hook(PerUserLimit, _per_user)
    converter.register_structure_hook(LocaleTexts, _locale_texts)
    converter.register_structure_hook(Conditions, _conditions)
    converter.register_structure_hook(AnyJson, _any_json)
    converter.register_structure_hook_factory(is_sequence, _list_factory)
    converter.register_structure_hook_factory(is_mapping, _mapping_factory)
    converter.register_structure_hook_factory(attrs.has, _class_factory)
    converter.register_structure_hook_func(
        lambda kind: kind == list[AttributeConditionPayload], _condition_list_hook(converter)
    )
    return converter


_CONVERTER = _make_converter()


def _problems(error: BaseException, path: str) -> list[Problem]:
    if isinstance(error, ClassValidationError):
        fields, rest = error.group_exceptions()
        found = [p for e, note in fields for p in _problems(e, f"{path}.{note.name}")]
        return found + [p for e in rest for p in _problems(e, path)]
    if isinstance(error, IterableValidationError):
        items, rest = error.group_exceptions()
        found = [p for e, note in items for p in _problems(e, f"{path}[{note.index}]")]
        return found + [p for e in rest for p in _problems(e, path)]
    if isinstance(error, _WrongTypeError):
        return [Problem(path, error.expected, error.found)]
    if isinstance(error, _NestedError):
        return [attrs.evolve(p, path=join_path(path, p.path)) for p in error.problems]
    if isinstance(error, KeyError):
        return [Problem(path, "a value (the field is required)", "nothing")]
    if isinstance(error, ForbiddenExtraKeysError):
        return [
            Problem(f"{path}.{key}", "only the fields LiveOps defines here", "an unknown field")
            for key in sorted(error.extra_fields)
        ]
    return [Problem(path, "a valid value", describe(str(error)))]


def structure(data: object, cls: type[T], path: str = "$") -> T:
    """Fill payload class `cls` from parsed JSON; a ValidationError listing every fault."""
    try:
        return _CONVERTER.structure(data, cls)
    except (ClassValidationError, IterableValidationError, _WrongTypeError, _NestedError) as error:
        raise ValidationError(_problems(error, path)) from None
