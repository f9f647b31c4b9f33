"""The player a decision is made for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

import attrs

from liveops_rules.errors import ValidationError

__all__ = ["Attributes", "User"]


class Attributes(dict[str, object]):
    """A user's attributes: a dict that refuses every change (TypeError).

    A dict rather than a read-only view of one because the evaluator looks attributes up
    several times per promotion, and a dict's own `get` is twice as fast as a proxy's.
    """

    __slots__ = ()

    def _refuse(self, *_: object, **__: object) -> NoReturn:
        raise TypeError("a user's attributes cannot be changed: build another User")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        return (Attributes, (dict(self),))

    def __copy__(self) -> Attributes:
        return self

    def __deepcopy__(self, memo: object) -> Attributes:
        return self


def _freeze(value: object) -> object:
    if isinstance(value, Attributes):
        return value
    if isinstance(value, Mapping):
        return Attributes(value)
    return value


def _check_attributes(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Attributes):
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
    numbers: dict[str, object] = attrs.field(
        init=False, factory=dict, eq=False, repr=False, hash=False, order=False
    )
    """A memo the evaluator keeps: attribute to its value read as a number (None when it is
    not one), so that text is parsed once per user, not once per condition. It never changes
    an answer: the attributes it is read from cannot change."""
    dates: dict[str, object] = attrs.field(
        init=False, factory=dict, eq=False, repr=False, hash=False, order=False
    )
    """The same memo for values read as dates or moments."""

    @property
    def is_anonymous(self) -> bool:
        """Whether the user is not signed in (no id)."""
        return self.id is None
