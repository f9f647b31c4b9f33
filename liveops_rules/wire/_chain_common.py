"""What the wire modules of every kind of chain share: the checks of a payload's form, the
translation of localized texts, and the small helpers of their dumps and catalog sections."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import attrs

from liveops_rules.errors import Problem, ValidationError, describe, join_path
from liveops_rules.models.values import LocalizedName
from liveops_rules.wire._converter import structure
from liveops_rules.wire._translate import Problems

__all__ = [
    "READ_SCHEDULE",
    "dump_texts",
    "finish",
    "form_problems",
    "missing_problems",
    "section",
    "structured",
    "texts",
    "texts_at",
    "without_none",
]

T = TypeVar("T")

READ_SCHEDULE = ("reset_next_date", "displayable_reset_start_date", "displayable_reset_next_date")
"""The read-only fields LiveOps adds to a chain's `recurrent_schedule` when it is read."""


def form_problems(
    data: object, path: str, own: frozenset[str], every: frozenset[str], what: str
) -> list[Problem]:
    """Fields of another form of the payload (unknown ones the converter finds)."""
    if not isinstance(data, dict):
        return []
    return [
        Problem(f"{path}.{key}", f"a field of {what}", "another form's field")
        for key in data
        if key not in own and key in every
    ]


def missing_problems(data: object, path: str, required: tuple[str, ...]) -> list[Problem]:
    """The fields of `required` an object leaves out (nothing for a non-object: the converter
    reports that)."""
    if not isinstance(data, dict):
        return []
    return [
        Problem(f"{path}.{key}", "a value (the field is required)", "nothing")
        for key in required
        if key not in data
    ]


def finish(problems: Problems, built: T | None) -> T:
    """`built`, or every problem recorded raised."""
    problems.raise_if_any()
    assert built is not None
    return built


def texts(value: object) -> LocalizedName:
    """A LocaleMap (its null texts already dropped) as a LocalizedName."""
    return LocalizedName(dict(value) if isinstance(value, Mapping) else {})


def texts_at(value: object, path: str, problems: Problems) -> LocalizedName:
    """`texts`, a locale LocalizedName refuses recorded in `problems` at its JSON path
    (`$.name['english']`); no text then."""
    try:
        return texts(value)
    except ValidationError as error:
        problems.found.extend(attrs.evolve(p, path=join_path(path, p.path)) for p in error.problems)
        return LocalizedName({})


def structured(data: object, cls: type[T], path: str, found: list[Problem]) -> T:
    """`structure`, with problems already `found` raised together with its own."""
    try:
        payload = structure(data, cls, path)
    except ValidationError as error:
        raise ValidationError([*found, *error.problems]) from None
    return payload


def dump_texts(name: LocalizedName) -> dict[str, str] | None:
    """A localized text as a LocaleMap, None when it has no text."""
    return dict(name.pairs) or None


def without_none(document: dict[str, Any]) -> dict[str, Any]:
    """`document` without its null fields."""
    return {key: value for key, value in document.items() if value is not None}


def section(data: Mapping[str, Any], name: str, problems: list[Problem]) -> list[Any]:
    """A catalog object's list `name` (empty when absent; a problem when not a list)."""
    items = data.get(name, [])
    if not isinstance(items, list):
        problems.append(Problem(f"$.{name}", "a list", describe(items)))
        return []
    return items
