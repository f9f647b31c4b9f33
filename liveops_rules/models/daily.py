"""Daily chains: a ladder of daily login rewards, one step claimed a day, in order.

LiveOps knows two types: in a `calendar_hard` chain each step belongs to one day of the
chain's day grid (a missed day's step is lost); in a `rolling` chain the next step opens the
day after the last claim (missed days wait). A recurrent chain starts again after its last
step. The day grid is the library's explicit choice where LiveOps says nothing: 24-hour days
from `date_start`, or, with `day_zone`, days that begin each day at `date_start`'s wall-clock
time in that zone (23 or 25 hours long across daylight saving changes).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

import attrs

from liveops_rules.errors import ValidationError
from liveops_rules.models._validate import (
    each,
    instance_of,
    int_in,
    is_bool,
    optional,
    to_tuple,
)
from liveops_rules.models.chain_fields import (
    ZONE_NAME,
    check_numbering,
    no_text,
    required_text,
    text,
    to_name,
)
from liveops_rules.models.values import LocalizedName, RewardItem
from liveops_rules.models.window import ValidityWindow

__all__ = [
    "MAX_DAILY_STEPS",
    "MAX_DAILY_STEP_ITEMS",
    "DailyChain",
    "DailyChainStep",
    "DailyChainType",
]

MAX_DAILY_STEPS = 30
"""LiveOps allows at most this many steps in a daily chain."""

MAX_DAILY_STEP_ITEMS = 10
"""And at most this many reward items in one step."""


class DailyChainType(enum.StrEnum):
    """How a daily chain decides which step a player can claim on a day."""

    CALENDAR_HARD = "calendar_hard"
    """Step k of cycle c belongs to grid day c*N+k-1: claimed that day or lost."""
    ROLLING = "rolling"
    """The next step opens the grid day after the last claim: missed days wait."""


def _to_type(value: object) -> object:
    if isinstance(value, str):
        try:
            return DailyChainType(value)
        except ValueError:
            raise ValidationError.single("type", "calendar_hard or rolling", value) from None
    return value


def _tuple(value: Iterable[Any] | None) -> tuple[Any, ...]:
    """A list or tuple given to a model, as a tuple (None: empty)."""
    return to_tuple(value)


@attrs.frozen(kw_only=True)
class DailyChainStep:
    """A step of a daily chain: its number (1..N) and the items it grants. `step_id` None is
    a step not yet stored (the store gives it one)."""

    step_id: int | None = attrs.field(default=None, validator=optional(int_in(1)))
    step_number: int = attrs.field(validator=int_in(1))
    items: tuple[RewardItem, ...] = attrs.field(
        converter=_tuple,
        validator=each(instance_of(RewardItem, "a RewardItem"), min_items=1),
    )


def _by_number(value: object) -> object:
    steps: object = to_tuple(value)  # type: ignore[arg-type]
    if isinstance(steps, tuple) and all(isinstance(s, DailyChainStep) for s in steps):
        return tuple(sorted(steps, key=lambda s: s.step_number))
    return steps


def _steps(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    each(instance_of(DailyChainStep, "a DailyChainStep"), min_items=1)(instance, attribute, value)
    assert isinstance(value, tuple)
    check_numbering(
        [s.step_number for s in value],
        [s.step_id for s in value],
        [len(s.items) for s in value],
        max_steps=MAX_DAILY_STEPS,
        max_items=MAX_DAILY_STEP_ITEMS,
    )


@attrs.frozen(kw_only=True)
class DailyChain:
    """A daily chain: its steps (kept sorted by `step_number`), its type, when it runs.

    `chain_id` None is a chain not yet stored. `recurrent` restarts it at step 1 after its
    last step. `day_zone` (an IANA zone) makes each day begin at `date_start`'s local time in
    that zone; without it days are 24 hours from `date_start`.
    """

    chain_id: int | None = attrs.field(default=None, validator=optional(int_in(1)))
    name: LocalizedName = attrs.field(converter=to_name, validator=required_text)
    description: LocalizedName = attrs.field(factory=no_text, converter=to_name, validator=text)
    order: int | None = attrs.field(default=None, validator=optional(int_in(0)))
    window: ValidityWindow = attrs.field(validator=instance_of(ValidityWindow, "a ValidityWindow"))
    enabled: bool = attrs.field(default=False, validator=is_bool)
    type: DailyChainType = attrs.field(
        converter=_to_type, validator=instance_of(DailyChainType, "calendar_hard or rolling")
    )
    recurrent: bool = attrs.field(default=False, validator=is_bool)
    steps: tuple[DailyChainStep, ...] = attrs.field(converter=_by_number, validator=_steps)
    day_zone: str | None = attrs.field(default=None, validator=ZONE_NAME)

    def __attrs_post_init__(self) -> None:
        if self.window.start is None:
            raise ValidationError.single("date_start", "a start (daily chains need one)", None)
        if self.window.periods:
            raise ValidationError.single("periods", "one window (daily chains have no periods)", 2)

    def step(self, step_number: int) -> DailyChainStep | None:
        """The step with this number, or None."""
        if 1 <= step_number <= len(self.steps):
            return self.steps[step_number - 1]
        return None
