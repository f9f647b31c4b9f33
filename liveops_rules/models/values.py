"""Small values shared by the promotion models: names, SKUs, reward items, operators."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping

import attrs

from liveops_rules.errors import Problem, ValidationError, describe
from liveops_rules.models._validate import int_in, optional, pattern

__all__ = ["SKU_PATTERN", "LocalizedName", "Operator", "RewardItem", "ShownItem"]

SKU_PATTERN = r"[A-Za-z0-9_.\-\u2013]{1,255}"
"""An item SKU: Latin letters, digits, `_`, `.`, `-` (and the en dash LiveOps' pattern admits)."""

_LOCALE = re.compile(r"[a-z]{2}(-[A-Z]{2})?", re.ASCII)


class Operator(enum.StrEnum):
    """A comparison operator, with its usual meaning.

    LiveOps' OpenAPI description lists `eq ne er lt ee le` for number and date conditions and
    describes `lt` as "Later"; older LiveOps pages (and its price conditions) use
    `eq ne gt ge lt le` with their usual meanings. This library takes the usual meanings and
    rejects `er` and `ee`.
    """

    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"

    @classmethod
    def parse(cls, value: object, field: str = "operator") -> Operator:
        """The operator named by `value`, or a ValidationError at `field`."""
        if isinstance(value, Operator):
            return value
        if isinstance(value, str):
            found = _OPERATORS.get(value)
            if found is not None:
                return found
        expected = "one of eq, ne, gt, ge, lt, le"
        if value in ("er", "ee"):
            expected += " (`er`/`ee` from the OpenAPI enum are not supported: use lt/le)"
        raise ValidationError.single(field, expected, value)


_OPERATORS = {str(operator.value): operator for operator in Operator}


def _to_name_items(value: object) -> object:
    if isinstance(value, Mapping):
        return tuple(sorted(value.items(), key=lambda kv: str(kv[0])))
    return value


def _check_name_items(_: object, _attribute: attrs.Attribute[object], value: object) -> None:
    # Paths name the locale alone (`['english']`): a promotion puts its field's name before
    # it, so that no path shows this class's own attribute.
    if not isinstance(value, tuple):
        raise ValidationError.single("", "a mapping of locale to text", value)
    problems = []
    for locale, text in value:
        if not isinstance(locale, str) or _LOCALE.fullmatch(locale) is None:
            problems.append(Problem(f"[{locale!r}]", "a locale like en or en-US", describe(locale)))
        elif not isinstance(text, str):
            problems.append(Problem(f"[{locale!r}]", "a string", describe(text)))
    if problems:
        raise ValidationError(problems)


@attrs.frozen
class LocalizedName(Mapping[str, str]):
    """A text in several locales (`en`, `en-US`, ...); reads like a read-only dict."""

    pairs: tuple[tuple[str, str], ...] = attrs.field(
        converter=_to_name_items, validator=_check_name_items
    )

    def __getitem__(self, locale: str) -> str:
        for key, text in self.pairs:
            if key == locale:
                return text
        raise KeyError(locale)

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def best(self, locale: str = "en") -> str:
        """The text for `locale`, else its language, else English, else any; '' when empty."""
        language = locale[:2]
        for wanted in (locale, language):
            for key, text in self.pairs:
                if key == wanted:
                    return text
        for key, text in self.pairs:
            if key.startswith((language, "en")):
                return text
        return self.pairs[0][1] if self.pairs else ""


@attrs.frozen
class RewardItem:
    """An item granted by a promotion: a SKU and a positive quantity."""

    sku: str = attrs.field(validator=pattern(SKU_PATTERN, "an item SKU"))
    quantity: int = attrs.field(default=1, validator=int_in(1))


@attrs.frozen
class ShownItem:
    """An item a personalized catalog rule shows, named by SKU, by numeric item id or (as
    LiveOps reads a rule back) by both."""

    sku: str | None = attrs.field(
        default=None, validator=optional(pattern(SKU_PATTERN, "an item SKU"))
    )
    item_id: int | None = attrs.field(default=None, validator=optional(int_in(1)))

    def __attrs_post_init__(self) -> None:
        if self.sku is None and self.item_id is None:
            raise ValidationError.single("sku", "a sku, an item_id or both", "neither")
