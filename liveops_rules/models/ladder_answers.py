"""LiveOps' admin answers around daily chains and offer chains: the lists and the created
ids. Immutable and validated; the configuration models are in `models.daily` and
`models.offer`."""

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
    to_tuple,
)
from liveops_rules.models.chain_fields import chain_schedule, no_text, required_text, text, to_name
from liveops_rules.models.conditions import DateCondition, NumberCondition, StringCondition
from liveops_rules.models.daily import DailyChain
from liveops_rules.models.limits import RecurrentSchedule
from liveops_rules.models.offer import OfferChain
from liveops_rules.models.promotions import MAX_CONDITIONS
from liveops_rules.models.values import LocalizedName
from liveops_rules.models.window import ValidityWindow

__all__ = [
    "CreatedDailyChain",
    "CreatedOfferChain",
    "DailyChainPage",
    "OfferChainPage",
    "OfferChainSummary",
]

_optional_count = optional(int_in(0))
_condition = instance_of(
    (StringCondition, NumberCondition, DateCondition), "an attribute condition"
)


def _tuple(value: Iterable[Any] | None) -> tuple[Any, ...]:
    return to_tuple(value)


@attrs.frozen
class CreatedDailyChain:
    """LiveOps' answer to creating a daily chain: `{daily_chain_id}`."""

    chain_id: int = attrs.field(validator=int_in(1))


@attrs.frozen
class CreatedOfferChain:
    """LiveOps' answer to creating an offer chain: `{offer_chain_id}`."""

    chain_id: int = attrs.field(validator=int_in(1))


@attrs.frozen(kw_only=True)
class DailyChainPage:
    """A page of the admin list of daily chains (`{has_more, total_items_count, items}`), each
    chain as its admin read shows it."""

    chains: tuple[DailyChain, ...] = attrs.field(
        converter=_tuple, validator=each(instance_of(DailyChain, "a DailyChain"))
    )
    has_more: bool | None = attrs.field(default=None, validator=optional(is_bool))
    total_count: int | None = attrs.field(default=None, validator=_optional_count)


@attrs.frozen(kw_only=True)
class OfferChainSummary:
    """An offer chain as LiveOps' admin list shows it (`admin-offer-chain-short-model`): every
    field but its steps."""

    chain_id: int | None = attrs.field(default=None, validator=optional(int_in(1)))
    name: LocalizedName = attrs.field(converter=to_name, validator=required_text)
    description: LocalizedName = attrs.field(factory=no_text, converter=to_name, validator=text)
    order: int | None = attrs.field(default=None, validator=optional(int_in(0)))
    window: ValidityWindow = attrs.field(validator=instance_of(ValidityWindow, "a ValidityWindow"))
    enabled: bool = attrs.field(default=False, validator=is_bool)
    recurrent_schedule: RecurrentSchedule | None = attrs.field(
        default=None, validator=chain_schedule
    )
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

    @classmethod
    def of(cls, chain: OfferChain) -> OfferChainSummary:
        """The summary of `chain`."""
        return cls(**{f.name: getattr(chain, f.name) for f in attrs.fields(cls)})


@attrs.frozen(kw_only=True)
class OfferChainPage:
    """A page of the admin list of offer chains (`{has_more, total_items_count, items}`; no
    steps)."""

    chains: tuple[OfferChainSummary, ...] = attrs.field(
        converter=_tuple, validator=each(instance_of(OfferChainSummary, "an OfferChainSummary"))
    )
    has_more: bool | None = attrs.field(default=None, validator=optional(is_bool))
    total_count: int | None = attrs.field(default=None, validator=_optional_count)
