"""The player a decision is made for."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from liveops_rules.errors import ValidationError

__all__ = ["User"]


def _freeze(value: object) -> object:
    if isinstance(value, Mapping):
        return MappingProxyType(dict(value))
    return value


def _check_attributes(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, MappingProxyType):
        raise ValidationError.single(attribute.name, "a mapping of attribute name to value", value)
    for key in value:
        if not isinstance(key, str):
            raise ValidationError.single(attribute.name, "string attribute names", key)


def _check_id(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ValidationError.single(attribute.name, "a non-empty string or None", value)


@attrs.frozen(hash=False)
class User:
    """A user: an id (None for an anonymous user) and attributes, read-only.

    Attribute values may be strings (as LiveOps sends them), numbers, dates or datetimes; each
    condition reads the value in its own type. A value of None counts as missing.
    """

    id: str | None = attrs.field(default=None, validator=_check_id)
    attributes: Mapping[str, object] = attrs.field(
        factory=dict, converter=_freeze, validator=_check_attributes
    )

    @property
    def is_anonymous(self) -> bool:
        """Whether the user is not signed in (no id)."""
        return self.id is None
