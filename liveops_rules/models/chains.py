"""Value points and reward chains, as immutable values validated at construction.

A player earns value points (VP) by buying items mapped to them; a reward chain is a ladder of
steps, each with a VP price and rewards, claimed once the player's balance (or, for a clan
chain, the clan's) reaches the price. The price is a threshold: claiming spends nothing.
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
    pattern,
    to_tuple,
)
from liveops_rules.models.chain_fields import (
    chain_schedule,
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
    "MAX_CHAIN_STEPS",
    "MAX_STEP_REWARDS",
    "ChainReward",
    "ClanSettings",
    "ClanType",
    "MediaItem",
    "RewardChain",
    "RewardChainStep",
    "RewardChainSummary",
    "RewardChainUpdate",
    "ValuePoint",
    "ValuePointReward",
]

MAX_CHAIN_STEPS = 31
"""LiveOps allows at most this many steps in a reward chain."""

MAX_STEP_REWARDS = 10
"""And at most this many reward items in one step."""

_sku = pattern(SKU_PATTERN, "an item SKU")
_condition = instance_of(
    (StringCondition, NumberCondition, DateCondition), "an attribute condition"
)


def _tuple(value: Iterable[Any] | None) -> tuple[Any, ...]:
    """A list or tuple given to a model, as a tuple (None: empty)."""
    return to_tuple(value)


def _to_clan_type(value: object) -> object:
    return ClanType(value) if isinstance(value, str) else value


class MediaKind(enum.StrEnum):
    """What a media item is."""

    IMAGE = "image"
    VIDEO = "video"


@attrs.frozen
class MediaItem:
    """An image or a video shown with a value point."""

    type: MediaKind = attrs.field(converter=MediaKind)
    url: str = attrs.field(validator=pattern(r".{1,2048}", "a URL"))


@attrs.frozen(kw_only=True)
class ValuePoint:
    """A value point: the currency of reward chain progress. `is_clan` points accrue to the
    buyer's clan as well, and feed clan chains; it cannot change once created."""

    sku: str = attrs.field(validator=_sku)
    name: LocalizedName = attrs.field(converter=to_name, validator=required_text)
    description: LocalizedName = attrs.field(factory=no_text, converter=to_name, validator=text)
    long_description: LocalizedName = attrs.field(
        factory=no_text, converter=to_name, validator=text
    )
    image_url: str | None = None
    media_list: tuple[MediaItem, ...] = attrs.field(
        default=(), converter=_tuple, validator=each(instance_of(MediaItem, "a MediaItem"))
    )
    order: int | None = attrs.field(default=None, validator=optional(int_in(0)))
    enabled: bool = attrs.field(default=True, validator=is_bool)
    is_clan: bool = attrs.field(default=False, validator=is_bool)


@attrs.frozen
class ValuePointReward:
    """How many of a value point one unit of an item earns."""

    sku: str = attrs.field(validator=_sku)
    amount: int = attrs.field(validator=int_in(1))


@attrs.frozen
class ChainReward:
    """An item a step grants; `conditions` (if any) limit it to players who meet them all."""

    sku: str = attrs.field(validator=_sku)
    quantity: int = attrs.field(default=1, validator=int_in(1))
    conditions: tuple[StringCondition | NumberCondition | DateCondition, ...] = attrs.field(
        default=(), converter=_tuple, validator=each(_condition, max_items=MAX_CONDITIONS)
    )


@attrs.frozen(kw_only=True)
class RewardChainStep:
    """A step of a reward chain: claimable when the balance reaches `price`. `step_id` None
    is a step not yet stored (the store gives it one)."""

    step_id: int | None = attrs.field(default=None, validator=optional(int_in(1)))
    name: LocalizedName = attrs.field(converter=to_name, validator=required_text)
    price: int = attrs.field(validator=int_in(1))
    image_url: str | None = None
    rewards: tuple[ChainReward, ...] = attrs.field(
        converter=_tuple,
        validator=each(
            instance_of(ChainReward, "a ChainReward"), min_items=1, max_items=MAX_STEP_REWARDS
        ),
    )


class ClanType(enum.StrEnum):
    """What LiveOps calls a group of players."""

    CLAN = "clan"
    GUILD = "guild"
    FACTION = "faction"
    COMMUNITY = "community"
    TEAM = "team"
    SQUAD = "squad"
    ALLIANCE = "alliance"
    ASSOCIATION = "association"
    COALITION = "coalition"
    UNION = "union"
    GROUP = "group"
    CIVILIZATIONS = "civilizations"
    DYNASTY = "dynasty"
    ORDER = "order"
    LEAGUE = "league"
    BROTHERHOOD = "brotherhood"
    KINGDOM = "kingdom"
    ORGANIZATION = "organization"
    HOUSE = "house"
    EMPIRE = "empire"
    TRIBE = "tribe"
    CARTEL = "cartel"


POPUP_LOCALES = frozenset(
    {
        "en", "ar", "bg", "cn", "cs", "de", "es", "fr", "he", "it",
        "ja", "ko", "pl", "pt", "ro", "ru", "th", "tr", "tw", "vi",
    }
)  # fmt: skip
"""The locales a clan chain's popup texts may use."""


def _popup(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, LocalizedName):
        for locale in value:
            if locale not in POPUP_LOCALES:
                raise ValidationError.single(
                    f"{attribute.name}[{locale!r}]", "a two-letter popup locale", locale
                )


@attrs.frozen(kw_only=True)
class ClanSettings:
    """What a clan chain shows a player asked to join a clan."""

    popup_header: LocalizedName = attrs.field(converter=to_name, validator=[required_text, _popup])
    popup_instruction: LocalizedName = attrs.field(
        converter=to_name, validator=[required_text, _popup]
    )
    popup_image_url: str | None = None
    clan_type: ClanType | None = attrs.field(default=None, converter=_to_clan_type)


def _steps(instance: RewardChain, attribute: attrs.Attribute[Any], value: object) -> None:
    each(instance_of(RewardChainStep, "a RewardChainStep"), min_items=1, max_items=MAX_CHAIN_STEPS)(
        instance, attribute, value
    )
    ids = [step.step_id for step in value if step.step_id is not None]  # type: ignore[attr-defined]
    if len(set(ids)) != len(ids):
        raise ValidationError.single(attribute.name, "each step_id once", "a repeated step_id")


@attrs.frozen(kw_only=True)
class RewardChain:
    """A reward chain: its steps, the value point that feeds it, when it runs, who sees it.

    `chain_id` None is a chain not yet stored. `conditions` make it personalized (shown only
    to signed-in players who meet them all); without conditions, `always_visible` False makes
    it the fallback shown only when no personalized chain fits. A `clan` chain counts the
    balance of the player's clan (its value point must be a clan point).
    """

    chain_id: int | None = attrs.field(default=None, validator=optional(int_in(1)))
    name: LocalizedName = attrs.field(converter=to_name, validator=required_text)
    description: LocalizedName = attrs.field(factory=no_text, converter=to_name, validator=text)
    long_description: LocalizedName = attrs.field(
        factory=no_text, converter=to_name, validator=text
    )
    image_url: str | None = None
    order: int | None = attrs.field(default=None, validator=optional(int_in(0)))
    window: ValidityWindow = attrs.field(validator=instance_of(ValidityWindow, "a ValidityWindow"))
    enabled: bool = attrs.field(default=False, validator=is_bool)
    value_point: str = attrs.field(validator=_sku)
    steps: tuple[RewardChainStep, ...] = attrs.field(converter=_tuple, validator=_steps)
    recurrent_schedule: RecurrentSchedule | None = attrs.field(
        default=None, validator=chain_schedule
    )
    conditions: tuple[StringCondition | NumberCondition | DateCondition, ...] = attrs.field(
        default=(), converter=_tuple, validator=each(_condition, max_items=MAX_CONDITIONS)
    )
    always_visible: bool = attrs.field(default=True, validator=is_bool)
    clan: ClanSettings | None = attrs.field(
        default=None, validator=optional(instance_of(ClanSettings, "a ClanSettings"))
    )

    def __attrs_post_init__(self) -> None:
        if self.window.start is None:
            raise ValidationError.single("date_start", "a start (reward chains need one)", None)

    def step(self, step_id: int) -> RewardChainStep | None:
        """The step with this id, or None."""
        return next((s for s in self.steps if s.step_id == step_id), None)


def _needs_start(window: ValidityWindow) -> None:
    if window.start is None:
        raise ValidationError.single("date_start", "a start (reward chains need one)", None)


@attrs.frozen(kw_only=True)
class RewardChainSummary:
    """A reward chain as LiveOps' admin list shows it: every field but its steps."""

    chain_id: int | None = attrs.field(default=None, validator=optional(int_in(1)))
    name: LocalizedName = attrs.field(converter=to_name, validator=required_text)
    description: LocalizedName = attrs.field(factory=no_text, converter=to_name, validator=text)
    long_description: LocalizedName = attrs.field(
        factory=no_text, converter=to_name, validator=text
    )
    image_url: str | None = None
    order: int | None = attrs.field(default=None, validator=optional(int_in(0)))
    window: ValidityWindow = attrs.field(validator=instance_of(ValidityWindow, "a ValidityWindow"))
    enabled: bool = attrs.field(default=False, validator=is_bool)
    value_point: str = attrs.field(validator=_sku)
    recurrent_schedule: RecurrentSchedule | None = attrs.field(
        default=None, validator=chain_schedule
    )
    conditions: tuple[StringCondition | NumberCondition | DateCondition, ...] = attrs.field(
        default=(), converter=_tuple, validator=each(_condition, max_items=MAX_CONDITIONS)
    )
    always_visible: bool = attrs.field(default=True, validator=is_bool)
    clan: ClanSettings | None = attrs.field(
        default=None, validator=optional(instance_of(ClanSettings, "a ClanSettings"))
    )

    def __attrs_post_init__(self) -> None:
        _needs_start(self.window)

    @classmethod
    def of(cls, chain: RewardChain) -> RewardChainSummary:
        """The summary of `chain`."""
        return cls(**{f.name: getattr(chain, f.name) for f in attrs.fields(cls)})


@attrs.frozen(kw_only=True)
class RewardChainUpdate:
    """A reward chain's PUT body: the whole new configuration of the chain its path names.

    It carries no chain id (the path has it) and its `value_point` only when the body repeats
    it (LiveOps' clan schema does): a chain's value point cannot change. Steps with a
    `step_id` keep their progress, steps without one are new (see `RewardChains.update_chain`).
    """

    name: LocalizedName = attrs.field(converter=to_name, validator=required_text)
    description: LocalizedName = attrs.field(factory=no_text, converter=to_name, validator=text)
    long_description: LocalizedName = attrs.field(
        factory=no_text, converter=to_name, validator=text
    )
    image_url: str | None = None
    order: int | None = attrs.field(default=None, validator=optional(int_in(0)))
    window: ValidityWindow = attrs.field(validator=instance_of(ValidityWindow, "a ValidityWindow"))
    enabled: bool = attrs.field(default=False, validator=is_bool)
    value_point: str | None = attrs.field(default=None, validator=optional(_sku))
    steps: tuple[RewardChainStep, ...] = attrs.field(converter=_tuple, validator=_steps)
    recurrent_schedule: RecurrentSchedule | None = attrs.field(
        default=None, validator=chain_schedule
    )
    conditions: tuple[StringCondition | NumberCondition | DateCondition, ...] = attrs.field(
        default=(), converter=_tuple, validator=each(_condition, max_items=MAX_CONDITIONS)
    )
    always_visible: bool = attrs.field(default=True, validator=is_bool)
    clan: ClanSettings | None = attrs.field(
        default=None, validator=optional(instance_of(ClanSettings, "a ClanSettings"))
    )

    def __attrs_post_init__(self) -> None:
        _needs_start(self.window)

    @classmethod
    def of(cls, chain: RewardChain) -> RewardChainUpdate:
        """The PUT body that keeps `chain` as it is (its value point repeated for a clan
        chain, as LiveOps' clan update schema requires it)."""
        fields = {f.name: getattr(chain, f.name) for f in attrs.fields(cls)}
        if chain.clan is None:
            fields["value_point"] = None
        return cls(**fields)

    def apply(self, current: RewardChain) -> RewardChain:
        """The chain `current` becomes: its id and value point, everything else from here.
        Raises ValidationError if the body names another value point."""
        if not isinstance(current, RewardChain):
            raise ValidationError.single("current", "a RewardChain", current)
        if self.value_point is not None and self.value_point != current.value_point:
            raise ValidationError.single(
                "value_point", f"{current.value_point} (it cannot change)", self.value_point
            )
        fields = {f.name: getattr(self, f.name) for f in attrs.fields(RewardChainUpdate)}
        fields.update(chain_id=current.chain_id, value_point=current.value_point)
        return RewardChain(**fields)
