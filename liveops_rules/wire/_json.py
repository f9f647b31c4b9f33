"""Strict JSON text parsing: no duplicate keys, no NaN or Infinity, exact decimals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

from liveops_rules.errors import Problem, ValidationError, describe

__all__ = ["parse_json"]

_MAX_DEPTH = 64


class _DuplicateKeys(dict[str, object]):
    """A JSON object in which some key appeared more than once (the last value kept)."""

    duplicates: list[str]


def _object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result = dict(pairs)
    if len(result) == len(pairs):  # no key repeated: the common case, without a Python loop
        return result
    result = {}
    duplicates: list[str] = []
    for key, value in pairs:
        if key in result:
            duplicates.append(key)
        result[key] = value
    if duplicates:
        marked = _DuplicateKeys(result)
        marked.duplicates = duplicates
        return marked
    return result


_CONTAINERS = frozenset({dict, list, _DuplicateKeys})


class _ConstantError(ValueError):
    pass


def _reject_constant(name: str) -> object:
    raise _ConstantError(name)


def _walk(value: object, path: str, depth: int) -> Iterator[Problem]:
    if depth > _MAX_DEPTH:
        yield Problem(path, f"at most {_MAX_DEPTH} levels of nesting", "deeper nesting")
        return
    if isinstance(value, dict):
        if isinstance(value, _DuplicateKeys):
            for key in dict.fromkeys(value.duplicates):
                yield Problem(f"{path}.{key}", "each key once in an object", "a repeated key")
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]", depth + 1)


def _needs_walk(value: object) -> bool:
    """Whether `value` holds a repeated key or nests too deep: the walk that names each fault
    builds a path for every value, so a quick pass without paths looks first."""
    level: list[object] = [value] if value.__class__ in _CONTAINERS else []
    depth = 0
    while level:  # one round per level of nesting, and no more than _MAX_DEPTH + 1 of them
        below: list[object] = []
        for item in level:
            if item.__class__ is _DuplicateKeys:
                return True
            children = item.values() if isinstance(item, dict) else item
            if children and depth == _MAX_DEPTH:
                return True
            for child in children:  # type: ignore[attr-defined]
                if child.__class__ in _CONTAINERS:
                    below.append(child)
        level = below
        depth += 1
    return False


def parse_json(text: str | bytes) -> object:
    """Parse JSON text strictly; a ValidationError (path `$`, or the faulty key) otherwise.

    Numbers with a fraction or exponent become Decimal, so nothing passes through binary
    floating point; integers stay int.
    """
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object,
            parse_constant=_reject_constant,
            parse_float=Decimal,
        )
    except _ConstantError as error:
        raise ValidationError.single(
            "$", "a finite number (JSON has no NaN/Infinity)", str(error)
        ) from None
    except json.JSONDecodeError as error:
        raise ValidationError(
            [Problem("$", "valid JSON", f"{error.msg} at line {error.lineno} column {error.colno}")]
        ) from None
    except RecursionError:
        raise ValidationError.single("$", "nesting of reasonable depth", "too deep") from None
    except (UnicodeDecodeError, ValueError) as error:  # bad encoding, or an int too long
        raise ValidationError.single("$", "valid UTF-8 JSON", describe(str(error))) from None
    if _needs_walk(value):
        problems = list(_walk(value, "$", 0))
        if problems:
            raise ValidationError(problems)
    return value
