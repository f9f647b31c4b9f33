"""Offer chains: a ladder of purchase offers a player climbs in order, each step free (claimed)
or paid (bought as an order), reset by a recurrent schedule or, optionally, on completion."""

from __future__ import annotations

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
    pattern,
    to_tuple,
)
from liveops_rules.models.chain_fields import (
    chain_schedule,
    check_numbering,
    no_text,
    required_text,
    text,
    to_name,
)
from liveops_rules.models.conditions import DateCondition, NumberCondition, StringCondition
from liveops_rules.models.limits import RecurrentSchedule
from liveops_rules.models.promotions import MAX_CONDITIONS
from liveops_rules.models.values import SKU_PATTERN, LocalizedName
from liveops_rules.models.window import ValidityWindow

__all__ = [
    "MAX_OFFER_STEPS",
    "MAX_OFFER_STEP_ITEMS",
    "OfferChain",
    "OfferChainStep",
    "OfferItem",
]

MAX_OFFER_STEPS = 30
"""LiveOps allows at most this many steps in an offer chain."""

MAX_OFFER_STEP_ITEMS = 1
"""And exactly one item in a step (LiveOps' documented limit; 6301 beyond it)."""

_condition = instance_of(
    (StringCondition, NumberCondition, DateCondition), "an attribute condition"
)


def _tuple(value: Iterable[Any] | None) -> tuple[Any, ...]:
    """A list or tuple given to a model, as a tuple (None: empty)."""
    return to_tuple(value)


@attrs.frozen
class OfferItem:
    """An item an offer chain step sells (or gives, on a free step): SKU, quantity, and the
    order it is shown in."""

    sku: str = attrs.field(validator=pattern(SKU_PATTERN, "an item SKU"))
    quantity: int = attrs.field(default=1, validator=int_in(1))
    order: int | None = attrs.field(default=None, validator=optional(int_in(0)))


@attrs.frozen(kw_only=True)
class OfferChainStep:
    """A step of an offer chain: its number (1..N), whether it is free, its items. `step_id`
    None is a step not yet stored (the store gives it one)."""

    step_id: int | None = attrs.field(default=None, validator=optional(int_in(1)))
    step_number: int = attrs.field(validator=int_in(1))
    is_free: bool = attrs.field(validator=is_bool)
    items: tuple[OfferItem, ...] = attrs.field(
        converter=_tuple, validator=each(instance_of(OfferItem, "an OfferItem"), min_items=1)
    )


def _by_number(value: object) -> object:
    steps: object = to_tuple(value)  # type: ignore[arg-type]
    if isinstance(steps, tuple) and all(isinstance(s, OfferChainStep) for s in steps):
        return tuple(sorted(steps, key=lambda s: s.step_number))
    return steps


def _steps(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    each(instance_of(OfferChainStep, "an OfferChainStep"), min_items=1)(instance, attribute, value)
    assert isinstance(value, tuple)
    check_numbering(
        [s.step_number for s in value],
        [s.step_id for s in value],
        [len(s.items) for s in value],
        max_steps=MAX_OFFER_STEPS,
        max_items=MAX_OFFER_STEP_ITEMS,
    )
    where: dict[str, int] = {}
    for step in value:
        for item in step.items:
            first = where.setdefault(item.sku, step.step_number)
            if first != step.step_number:
                raise ValidationError.single(
                    f"steps[{step.step_number - 1}].items",
                    f"an item at one step only ({item.sku} is at step {first})",
                    item.sku,
                )


@attrs.frozen(kw_only=True)
class OfferChain:
    """An offer chain: its steps (kept sorted by `step_number`), when it runs, who sees it.

    `chain_id` None is a chain not yet stored. A `recurrent_schedule` starts every player at
    step 1 each period; `reset_on_completion` starts a player at step 1 once the last step is
    done. `conditions` make it personalized and `always_visible` False makes it the fallback,
    as for reward chains.
    """

    chain_id: int | None = attrs.field(default=None, validator=optional(int_in(1)))
    name: LocalizedName = attrs.field(converter=to_name, validator=required_text)
    description: LocalizedName = attrs.field(factory=no_text, converter=to_name, validator=text)
    order: int | None = attrs.field(default=None, validator=optional(int_in(0)))
    window: ValidityWindow = attrs.field(validator=instance_of(ValidityWindow, "a ValidityWindow"))
    enabled: bool = attrs.field(default=False, validator=is_bool)
    recurrent_schedule: RecurrentSchedule | None = attrs.field(
        default=None, validator=chain_schedule
    )
    steps: tuple[OfferChainStep, ...] = attrs.field(converter=_by_number, validator=_steps)
    always_visible: bool = attrs.field(default=True, validator=is_bool)
    reset_on_completion: bool = attrs.field(default=False, validator=is_bool)
    conditions: tuple[StringCondition | NumberCondition | DateCondition, ...] = attrs.field(
        default=(), converter=_tuple, validator=each(_condition, max_items=MAX_CONDITIONS)
    )

    def __attrs_post_init__(self) -> None:
        if self.window.start is None:
            raise ValidationError.single("date_start", "a start (offer chains need one)", None)
        if self.window.periods:
            raise ValidationError.single("periods", "one window (offer chains have no periods)", 2)

    def step(self, step_number: int) -> OfferChainStep | None:
        """The step with this number, or None."""
        if 1 <= step_number <= len(self.steps):
            return self.steps[step_number - 1]
        return None
