"""Validators and converters every kind of chain's model shares: localized texts, the
recurrent schedule a chain may have, the numbering of its steps."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import attrs

from liveops_rules.errors import ChainConfigError, ValidationError
from liveops_rules.models.limits import IntervalType, RecurrentSchedule
from liveops_rules.models.values import LocalizedName
from liveops_rules.models.zones import is_known_zone

__all__ = [
    "ZONE_NAME",
    "chain_schedule",
    "check_numbering",
    "no_text",
    "required_text",
    "text",
    "to_name",
]


def to_name(value: object) -> object:
    """Converter: a mapping of locale to text becomes a LocalizedName."""
    return LocalizedName(value) if isinstance(value, dict) else value


def text(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Validator: a LocalizedName."""
    if not isinstance(value, LocalizedName):
        raise ValidationError.single(attribute.name, "a mapping of locale to text", value)


def required_text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Validator: a LocalizedName with a text in at least one locale."""
    text(instance, attribute, value)
    assert isinstance(value, LocalizedName)
    if not any(shown for _, shown in value.pairs):
        raise ValidationError.single(attribute.name, "a text in at least one locale", "none")


def no_text() -> LocalizedName:
    """Factory: no text in any locale."""
    return LocalizedName({})


def chain_schedule(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Validator: None, or a weekly or monthly RecurrentSchedule (chains reset no more
    often than weekly)."""
    if value is None:
        return
    if not isinstance(value, RecurrentSchedule):
        raise ValidationError.single(attribute.name, "a RecurrentSchedule", value)
    if value.interval is IntervalType.DAILY:
        raise ValidationError.single(
            f"{attribute.name}.interval_type", "weekly or monthly", "daily"
        )


def check_numbering(
    numbers: Sequence[int],
    step_ids: Sequence[int | None],
    item_counts: Sequence[int],
    *,
    max_steps: int,
    max_items: int,
) -> None:
    """LiveOps' rules for a chain's steps, each refused with its code and payload: at most
    `max_steps` steps (6203), at most `max_items` items in a step (6301), step numbers a
    permutation of 1..N (6302), each step id once (6207)."""
    if len(numbers) > max_steps:
        raise ChainConfigError.of(
            6203,
            "steps",
            f"at most {max_steps} steps",
            list(numbers),
            {"step_count": len(numbers), "max_steps": max_steps},
        )
    over = [
        {"step_number": number, "items_count": count}
        for number, count in zip(numbers, item_counts, strict=True)
        if count > max_items
    ]
    if over:
        index = next(i for i, count in enumerate(item_counts) if count > max_items)
        raise ChainConfigError.of(
            6301,
            f"steps[{index}].items",
            f"at most {max_items} items",
            [None] * item_counts[index],
            {"max_items": max_items, "steps_exceeded_limits": over},
        )
    size = len(numbers)
    counted = Counter(numbers)
    duplicates = sorted(n for n, times in counted.items() if times > 1)
    out_of_range = sorted({n for n in numbers if not 1 <= n <= size})
    missing = sorted(set(range(1, size + 1)) - set(numbers))
    if duplicates or out_of_range or missing:
        found = ", ".join(str(n) for n in numbers)
        raise ChainConfigError.of(
            6302,
            "steps",
            f"step numbers 1..{size}, each once",
            f"[{found}]",
            {
                "incorrect_step_numbers": {
                    "duplicates": duplicates,
                    "out_of_range": out_of_range,
                    "missing": missing,
                }
            },
        )
    ids = [step_id for step_id in step_ids if step_id is not None]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ChainConfigError.of(
            6207,
            "steps",
            "each step_id once",
            repeated,
            {"chain_step_id_list": repeated},
        )


def _zone_name(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise ValidationError.single(attribute.name, "an IANA time zone name", value)
    if not is_known_zone(value):
        raise ValidationError.single(attribute.name, "a known IANA time zone name", value)


ZONE_NAME = _zone_name
"""Validator: None or a known IANA time zone name."""
