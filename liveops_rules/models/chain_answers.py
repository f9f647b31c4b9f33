"""LiveOps' answers and small bodies around value points and reward chains: lists, created
ids, item mappings and their patches, and what a player sees (chains with their balance and
claimed steps, the balance call, a clan's top contributors). Immutable and validated.

A player's view holds texts in one locale (LiveOps' client calls flatten localized names to
strings); the library's configuration models are in `models.chains`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from liveops_rules.errors import ValidationError
from liveops_rules.models._validate import (
    INT_MAX,
    aware,
    each,
    instance_of,
    int_in,
    is_bool,
    optional,
    pattern,
    to_tuple,
)
from liveops_rules.models.chains import (
    MAX_CHAIN_STEPS,
    ClanType,
    RewardChainSummary,
    ValuePoint,
    ValuePointReward,
)
from liveops_rules.models.limits import IntervalType
from liveops_rules.models.values import SKU_PATTERN, LocalizedName, RewardItem
from liveops_rules.models.window import ValidityWindow

__all__ = [
    "MAX_MAPPING_PATCH",
    "ClanUpdateAnswer",
    "Contributor",
    "CreatedRewardChain",
    "CreatedValuePoint",
    "PlayerChain",
    "PlayerChainPage",
    "PlayerChainStep",
    "PlayerValuePoint",
    "RewardChainPage",
    "TopContributors",
    "ValuePointList",
    "ValuePointRewardList",
    "ValuePointRewardPatch",
]

MAX_MAPPING_PATCH = 100
"""LiveOps takes at most this many items in one PATCH of a value point's item mapping."""

_sku = pattern(SKU_PATTERN, "an item SKU")
_SKU = re.compile(SKU_PATTERN, re.ASCII)
_optional_text = optional(instance_of(str, "a text"))
_optional_count = optional(int_in(0))


def _tuple(value: Iterable[Any] | None) -> tuple[Any, ...]:
    return to_tuple(value)


def _to_clan_type(value: object) -> object:
    if isinstance(value, str) and not isinstance(value, ClanType):
        try:
            return ClanType(value)
        except ValueError:
            pass
    return value


def _to_interval(value: object) -> object:
    if isinstance(value, str) and not isinstance(value, IntervalType):
        try:
            return IntervalType(value)
        except ValueError:
            pass
    return value


def _to_optional_name(value: object) -> object:
    return LocalizedName(value) if isinstance(value, dict) else value


@attrs.frozen
class CreatedValuePoint:
    """LiveOps' answer to creating a value point: `{sku, item_id}`."""

    sku: str = attrs.field(validator=_sku)
    item_id: int | None = attrs.field(default=None, validator=optional(int_in(1)))


@attrs.frozen
class CreatedRewardChain:
    """LiveOps' answer to creating a reward chain: `{reward_chain_id}`."""

    chain_id: int = attrs.field(validator=int_in(1))


@attrs.frozen
class ValuePointList:
    """The admin list of value points (`{items}`)."""

    points: tuple[ValuePoint, ...] = attrs.field(
        converter=_tuple, validator=each(instance_of(ValuePoint, "a ValuePoint"))
    )


@attrs.frozen
class ValuePointRewardList:
    """A value point's item mapping as LiveOps' GET answers it (`{items}`; the items'
    catalog descriptions are read past)."""

    rewards: tuple[ValuePointReward, ...] = attrs.field(
        converter=_tuple, validator=each(instance_of(ValuePointReward, "a ValuePointReward"))
    )


def _check_changes(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or len(value) > MAX_MAPPING_PATCH:
        raise ValidationError.single(
            attribute.name, f"at most {MAX_MAPPING_PATCH} (sku, amount) pairs", value
        )
    seen: set[str] = set()
    for index, change in enumerate(value):
        at = f"{attribute.name}[{index}]"
        if not isinstance(change, tuple) or len(change) != 2:
            raise ValidationError.single(at, "a (sku, amount) pair", change)
        sku, amount = change
        if not isinstance(sku, str) or _SKU.fullmatch(sku) is None:
            raise ValidationError.single(f"{at}.sku", "an item SKU", sku)
        if type(amount) is not int or not 0 <= amount <= INT_MAX:
            raise ValidationError.single(f"{at}.amount", "an amount of 0 or more", amount)
        if sku in seen:
            raise ValidationError.single(f"{at}.sku", "each item SKU once", sku)
        seen.add(sku)


@attrs.frozen
class ValuePointRewardPatch:
    """A PATCH of a value point's item mapping: `(sku, amount)` pairs, at most 100, each SKU
    once; an amount sets the item's, 0 removes the item (`RewardChains.patch_value_point_rewards`
    takes `changes` as they are)."""

    changes: tuple[tuple[str, int], ...] = attrs.field(converter=_tuple, validator=_check_changes)

    @property
    def removed(self) -> tuple[str, ...]:
        """The SKUs the patch removes from the mapping."""
        return tuple(sku for sku, amount in self.changes if amount == 0)

    @property
    def upserts(self) -> tuple[ValuePointReward, ...]:
        """The items the patch adds or changes."""
        return tuple(ValuePointReward(sku, amount) for sku, amount in self.changes if amount)


@attrs.frozen(kw_only=True)
class RewardChainPage:
    """A page of LiveOps' admin list of reward chains (`{has_more, items}`; no steps)."""

    chains: tuple[RewardChainSummary, ...] = attrs.field(
        converter=_tuple,
        validator=each(instance_of(RewardChainSummary, "a RewardChainSummary")),
    )
    has_more: bool | None = attrs.field(default=None, validator=optional(is_bool))
    total_count: int | None = attrs.field(default=None, validator=_optional_count)


@attrs.frozen
class Contributor:
    """A clan member and what they contributed to the clan's balance this period (`name` is
    what the caller shows: the library knows players by id)."""

    name: str = attrs.field(validator=instance_of(str, "a name"))
    amount: int = attrs.field(validator=int_in(0))


@attrs.frozen
class TopContributors:
    """A clan's top contributors in a chain (at most 10, largest first; `[]` without a
    clan)."""

    contributors: tuple[Contributor, ...] = attrs.field(
        converter=_tuple, validator=each(instance_of(Contributor, "a Contributor"))
    )


@attrs.frozen
class ClanUpdateAnswer:
    """LiveOps' answer to a clan update: the rewards claimed for the player on leaving a clan
    (the items' catalog descriptions are read past)."""

    rewards: tuple[RewardItem, ...] = attrs.field(
        converter=_tuple, validator=each(instance_of(RewardItem, "a RewardItem"))
    )


@attrs.frozen(kw_only=True)
class PlayerValuePoint:
    """A value point as a player sees it, with the balance that counts (`amount`; a clan
    chain's is the clan's): the balance answer, and the `value_point` of a chain's view."""

    sku: str = attrs.field(validator=_sku)
    name: str = attrs.field(validator=instance_of(str, "a name"))
    image_url: str | None = attrs.field(default=None, validator=_optional_text)
    description: str | None = attrs.field(default=None, validator=_optional_text)
    long_description: str | None = attrs.field(default=None, validator=_optional_text)
    amount: int = attrs.field(validator=int_in(0))
    is_clan: bool = attrs.field(default=False, validator=is_bool)


@attrs.frozen(kw_only=True)
class PlayerChainStep:
    """A step as a player sees it: claimed this period or not, and the items it grants that
    player (rewards whose conditions the player does not meet are left out)."""

    step_id: int = attrs.field(validator=int_in(1))
    name: str = attrs.field(validator=instance_of(str, "a name"))
    claimed: bool = attrs.field(validator=is_bool)
    image_url: str | None = attrs.field(default=None, validator=_optional_text)
    price: int = attrs.field(validator=int_in(1))
    rewards: tuple[RewardItem, ...] = attrs.field(
        converter=_tuple, validator=each(instance_of(RewardItem, "a RewardItem"))
    )


def _check_reset(instance: PlayerChain, _attribute: attrs.Attribute[Any], value: object) -> None:
    if (instance.reset_interval is None) != (value is None):
        raise ValidationError.single(
            "reset_at", "a next reset exactly when there is a reset interval", value
        )


def _check_names(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, LocalizedName):
        raise ValidationError.single(attribute.name, "a mapping of locale to text", value)


@attrs.frozen(kw_only=True)
class PlayerChain:
    """A reward chain as a player sees it (LiveOps' `user/reward_chain` item): texts in one
    locale, the value point with the balance that counts, each step with `claimed`, when the
    period ends (`reset_at`, with the schedule's `reset_interval`) and, for a clan chain, its
    popup texts, clan type and top contributors."""

    chain_id: int = attrs.field(validator=int_in(1))
    name: str = attrs.field(validator=instance_of(str, "a name"))
    description: str | None = attrs.field(default=None, validator=_optional_text)
    long_description: str | None = attrs.field(default=None, validator=_optional_text)
    image_url: str | None = attrs.field(default=None, validator=_optional_text)
    order: int | None = attrs.field(default=None, validator=_optional_count)
    window: ValidityWindow = attrs.field(validator=instance_of(ValidityWindow, "a ValidityWindow"))
    value_point: PlayerValuePoint = attrs.field(
        validator=instance_of(PlayerValuePoint, "a PlayerValuePoint")
    )
    steps: tuple[PlayerChainStep, ...] = attrs.field(
        converter=_tuple,
        validator=each(
            instance_of(PlayerChainStep, "a PlayerChainStep"), max_items=MAX_CHAIN_STEPS
        ),
    )
    reset_interval: IntervalType | None = attrs.field(
        default=None,
        converter=_to_interval,
        validator=optional(instance_of(IntervalType, "weekly or monthly")),
    )
    reset_at: datetime | None = attrs.field(default=None, validator=[optional(aware), _check_reset])
    clan_type: ClanType | None = attrs.field(
        default=None,
        converter=_to_clan_type,
        validator=optional(instance_of(ClanType, "a clan type")),
    )
    top_contributors: tuple[Contributor, ...] = attrs.field(
        default=(), converter=_tuple, validator=each(instance_of(Contributor, "a Contributor"))
    )
    popup_header: LocalizedName | None = attrs.field(
        default=None, converter=_to_optional_name, validator=_check_names
    )
    popup_instruction: LocalizedName | None = attrs.field(
        default=None, converter=_to_optional_name, validator=_check_names
    )
    popup_image_url: str | None = attrs.field(default=None, validator=_optional_text)


@attrs.frozen(kw_only=True)
class PlayerChainPage:
    """A page of a player's chains (`{has_more, total_items_count, items}`)."""

    chains: tuple[PlayerChain, ...] = attrs.field(
        converter=_tuple, validator=each(instance_of(PlayerChain, "a PlayerChain"))
    )
    total_count: int | None = attrs.field(default=None, validator=_optional_count)
    has_more: bool | None = attrs.field(default=None, validator=optional(is_bool))
