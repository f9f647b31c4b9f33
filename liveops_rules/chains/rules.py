"""Reward chains' rules that need no store: who sees a chain, whether it runs, which period a
moment is in, which rewards of a step a player gets, and the counter keys of their progress.

Counter keys (one store counter each; SCOPE is `reward_chain:ID@GENERATION`, a new generation
with each admin reset; PERIOD is the start of the recurrent period, empty when the chain never
resets). A player's keys start with the player, so one range read finds them all:
- `p|USER|v|SCOPE|PERIOD`: a player's balance in the chain;
- `p|USER|s|SCOPE|PERIOD|STEP`: a step claimed by a player (limit 1);
- `v|c|CLAN|SCOPE|PERIOD`: a clan's balance (clan chains);
- `k|SCOPE|CLAN|USER|PERIOD`: what a player contributed to the clan's balance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from liveops_rules.evaluate import condition_reasons
from liveops_rules.models import User, ValidityWindow
from liveops_rules.models.chains import RewardChain, RewardChainStep
from liveops_rules.models.conditions import DateCondition, NumberCondition, StringCondition
from liveops_rules.models.values import RewardItem
from liveops_rules.reasons import AnonymousUser, Disabled, Ended, NotStarted, Reason
from liveops_rules.schedule import period_of, period_start

__all__ = [
    "Runs",
    "Shown",
    "balance_key",
    "chain_reasons",
    "chain_ref",
    "claim_key",
    "clan_balance_key",
    "contribution_key",
    "contribution_prefix",
    "contributor_of",
    "key_part",
    "next_reset",
    "period",
    "running",
    "sees",
    "step_rewards",
    "visible_chains",
]


class Runs(Protocol):
    """A chain that runs in a window while enabled (every kind of chain)."""

    @property
    def enabled(self) -> bool:
        """Whether it is enabled."""
        ...

    @property
    def window(self) -> ValidityWindow:
        """When it runs."""
        ...


class Shown(Runs, Protocol):
    """A chain shown to the players who meet its conditions (reward and offer chains)."""

    @property
    def chain_id(self) -> int | None:
        """Its id."""
        ...

    @property
    def order(self) -> int | None:
        """Where it is listed."""
        ...

    @property
    def conditions(self) -> tuple[StringCondition | NumberCondition | DateCondition, ...]:
        """Who sees it (everyone without conditions)."""
        ...

    @property
    def always_visible(self) -> bool:
        """Whether a chain without conditions is shown even when a personalized one fits."""
        ...


S = TypeVar("S", bound=Shown)


def chain_ref(chain_id: int) -> str:
    """The document ref of a reward chain."""
    return f"reward_chain:{chain_id}"


def key_part(text: str) -> str:
    """An id made safe inside a counter key (`|` separates the key's parts)."""
    if "|" not in text and "%" not in text:
        return text
    return text.replace("%", "%25").replace("|", "%7C")


def period(chain: RewardChain, at: datetime) -> str:
    """The period `at` is in: the start of its recurrent period ('' without a schedule)."""
    schedule = chain.recurrent_schedule
    return "" if schedule is None else period_start(schedule, at).isoformat()


def next_reset(chain: RewardChain, at: datetime) -> datetime | None:
    """When the period `at` is in ends (None without a schedule)."""
    schedule = chain.recurrent_schedule
    return None if schedule is None else period_of(schedule, at)[1]


def scope(chain_id: int, generation: int) -> str:
    """What a chain's counters are keyed by: its ref and its generation (an admin reset starts
    a new generation, leaving every counter of the old one behind, forgiven)."""
    return f"{chain_ref(chain_id)}@{generation}"


def balance_key(at_scope: str, user_id: str, at_period: str) -> str:
    """A player's balance counter."""
    return f"p|{key_part(user_id)}|v|{at_scope}|{at_period}"


def clan_balance_key(at_scope: str, clan_id: str, at_period: str) -> str:
    """A clan's balance counter."""
    return f"v|c|{key_part(clan_id)}|{at_scope}|{at_period}"


def player_prefix(user_id: str) -> str:
    """The prefix of every balance and claim counter of a player, in every chain."""
    return f"p|{key_part(user_id)}|"


def is_balance(key: str) -> bool:
    """Whether a key under `player_prefix` is a balance's (else it is a claim's)."""
    return key.split("|", 3)[2] == "v"


def clan_balances_prefix(clan_id: str) -> str:
    """The prefix of every balance counter of a clan, in every chain."""
    return f"v|c|{key_part(clan_id)}|"


def contribution_key(at_scope: str, clan_id: str, user_id: str, at_period: str) -> str:
    """A player's contribution to a clan's balance."""
    return f"k|{at_scope}|{key_part(clan_id)}|{key_part(user_id)}|{at_period}"


def contribution_prefix(at_scope: str, clan_id: str) -> str:
    """The prefix of every contribution counter of a clan in a chain."""
    return f"k|{at_scope}|{key_part(clan_id)}|"


def contributor_of(key: str) -> tuple[str, str]:
    """The (user id, period) of a contribution counter's key."""
    *_, user, at_period = key.split("|")
    return user.replace("%7C", "|").replace("%25", "%"), at_period


def claim_key(at_scope: str, step_id: int, user_id: str, at_period: str) -> str:
    """A player's claim of a step (limit 1 a period)."""
    return f"p|{key_part(user_id)}|s|{at_scope}|{at_period}|{step_id}"


def claim_of(key: str) -> tuple[str, str, int]:
    """The (scope, period, step id) of a claim counter's key."""
    _, _, _, at_scope, at_period, step = key.split("|")
    return at_scope, at_period, int(step)


def balance_of(key: str) -> tuple[str, str]:
    """The (scope, period) of a balance counter's key."""
    _, _, _, at_scope, at_period = key.split("|")
    return at_scope, at_period


def running(chain: Runs, at: datetime) -> bool:
    """Whether the chain is enabled and `at` is inside its window."""
    return chain.enabled and chain.window.contains(at)


def chain_reasons(chain: Shown, user: User, at: datetime) -> list[Reason]:
    """Why the chain is not open to `user` at `at` (disabled, not started, ended, unmet
    conditions, not signed in); [] when it is."""
    reasons: list[Reason] = []
    if not chain.enabled:
        reasons.append(Disabled())
    position = chain.window.position(at)
    if position < 0:
        assert chain.window.start is not None
        reasons.append(NotStarted(chain.window.start))
    elif position > 0:
        assert chain.window.end is not None
        reasons.append(Ended(chain.window.end))
    if chain.conditions:
        if user.id is None:
            reasons.append(AnonymousUser())
        else:
            reasons.extend(condition_reasons(chain.conditions, user.attributes))
    return reasons


def visible_chains(chains: Sequence[S], user: User, at: datetime) -> list[S]:
    """The running chains `user` sees, sorted by `order` then id: every personalized chain
    whose conditions the (signed-in) player meets, every chain without conditions that is
    always visible, and the chains without conditions that are not always visible only when
    no personalized chain fits."""
    live = [chain for chain in chains if running(chain, at)]
    personal = [
        chain
        for chain in live
        if chain.conditions
        and user.id is not None
        and not condition_reasons(chain.conditions, user.attributes)
    ]
    everyone = [chain for chain in live if not chain.conditions and chain.always_visible]
    fallback = [] if personal else [c for c in live if not c.conditions and not c.always_visible]
    shown = [*personal, *everyone, *fallback]
    return sorted(shown, key=lambda c: (c.order if c.order is not None else 0, c.chain_id or 0))


def sees(chain: S, user: User, at: datetime, others: Callable[[], Sequence[S]]) -> bool:
    """Whether `user` sees `chain` at `at` (as `visible_chains` decides); `others` (every
    chain) is asked for only when it matters: for a fallback chain."""
    if not running(chain, at):
        return False
    if chain.conditions:
        return user.id is not None and not condition_reasons(chain.conditions, user.attributes)
    if chain.always_visible:
        return True
    return any(c.chain_id == chain.chain_id for c in visible_chains(others(), user, at))


def step_rewards(step: RewardChainStep, user: User) -> tuple[RewardItem, ...]:
    """The items of a step `user` gets: those without conditions, and those whose conditions
    the player meets."""
    return tuple(
        RewardItem(reward.sku, reward.quantity)
        for reward in step.rewards
        if not reward.conditions or not condition_reasons(reward.conditions, user.attributes)
    )
