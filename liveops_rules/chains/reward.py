"""Value points and reward chains on a store: their configuration, and each player's (and
clan's) progress: earning value points, claiming steps, resets, views.

The rules (LiveOps' where it says, `reference/chains.md`'s defaults where it does not):
- a purchase earns, for each value point, the sum over its lines of mapping amount x quantity,
  credited to every enabled, running chain of that value point the player sees; idempotent by
  order id, and a refund (`refund`) takes back exactly what the order earned;
- a step's price is a threshold: claiming spends nothing; a step is claimed once a period,
  when the chain is open to the player (4001 otherwise), the step exists (9911), it is not
  claimed this period (9912) and the balance (a clan chain's: the clan's) reaches the price
  (9913); a clan chain needs the player's clan (9912);
- a recurrent schedule starts every balance and claim anew each period (counted per period,
  never by a background job); `reset_chain` does so at once for every player;
- a chain's `update` keeps the claims of the steps that keep their `step_id`; new steps get
  ids never used in the chain before; `toggle` keeps balances and claims.

Like the accounting engine, it is written as steps (see `accounting.steps`):
`RewardChainSteps` decides and yields its store calls, `RewardChains` runs them on a
RedemptionStore and `AsyncRewardChains` awaits them on an async store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import attrs

from liveops_rules.accounting import AccountingError, Outcome, Refusal
from liveops_rules.accounting.steps import Steps, async_operation, call, sync_operation
from liveops_rules.chains import rules
from liveops_rules.chains.documents import (
    dump_chain,
    dump_rewards,
    dump_value_point,
    load_chain,
    load_rewards,
    load_value_point,
)
from liveops_rules.chains.progress import Documents, Progress
from liveops_rules.checkout import Checkout
from liveops_rules.errors import StoreError, ValidationError
from liveops_rules.models import User
from liveops_rules.models.chains import RewardChain, RewardChainStep, ValuePoint, ValuePointReward
from liveops_rules.pricing import Quote
from liveops_rules.stores import (
    CounterSpec,
    CounterState,
    CountResult,
    RedemptionStore,
    SettleAction,
    SettleResult,
)
from liveops_rules.stores.bounds import check_count, check_stored_moment, check_text
from liveops_rules.stores.calls import AsyncStore, OnAsyncStore
from liveops_rules.stores.protocol import Requirement

__all__ = [
    "REWARD_CHAIN_OPERATIONS",
    "AsyncRewardChains",
    "ChainView",
    "EarnReport",
    "RewardChainSteps",
    "RewardChains",
]

T = TypeVar("T")

_SWAP_TRIES = 10
_MAX_PATCH = 100
_MAX_PAGE = 50


@attrs.frozen
class EarnReport:
    """What an order earned: value points by SKU, and the chains each was credited to."""

    earned: Mapping[str, int]
    chains: Mapping[str, tuple[int, ...]]
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "earned": dict(self.earned),
            "chains": {sku: list(ids) for sku, ids in self.chains.items()},
        }


@attrs.frozen
class ChainView:
    """A chain as a player sees it at a moment: the balance that counts for its steps (the
    clan's, for a clan chain), the steps claimed this period, when the period ends."""

    chain: RewardChain
    balance: int
    claimed: frozenset[int]
    reset_at: datetime | None
    has_clan: bool = True

    def to_dict(self, user: User) -> dict[str, Any]:
        """The client view: the chain's texts, the balance and each step with `is_claimed`."""
        chain = self.chain
        view: dict[str, Any] = {
            "reward_chain_id": chain.chain_id,
            "name": chain.name.best(),
            "description": chain.description.best() or None,
            "long_description": chain.long_description.best() or None,
            "image_url": chain.image_url,
            "order": chain.order,
            "date_start": chain.window.start.isoformat() if chain.window.start else None,
            "date_end": chain.window.end.isoformat() if chain.window.end else None,
            "value_point": {"sku": chain.value_point, "amount": self.balance},
            "steps": [
                {
                    "step_id": step.step_id,
                    "name": step.name.best(),
                    "is_claimed": step.step_id in self.claimed,
                    "image_url": step.image_url,
                    "price": {"amount": step.price},
                    "reward": [
                        {"sku": item.sku, "quantity": item.quantity}
                        for item in rules.step_rewards(step, user)
                    ],
                }
                for step in chain.steps
            ],
            "recurrent_schedule": None
            if self.reset_at is None or chain.recurrent_schedule is None
            else {
                "interval_type": chain.recurrent_schedule.interval.value,
                "reset_next_date": int(self.reset_at.timestamp()),
            },
        }
        if chain.clan is not None:
            view["clan_type"] = None if chain.clan.clan_type is None else chain.clan.clan_type.value
            view["popup_header"] = chain.clan.popup_header.best()
            view["popup_instruction"] = chain.clan.popup_instruction.best()
            view["popup_image_url"] = chain.clan.popup_image_url
        return view


@attrs.frozen
class _Stored:
    """A chain as kept: the model, the highest step id it ever had (never reused) and its
    generation (an admin reset starts the next one)."""

    chain: RewardChain
    last_step_id: int
    generation: int = 0

    @property
    def scope(self) -> str:
        """What its counters are keyed by now."""
        assert self.chain.chain_id is not None
        return rules.scope(self.chain.chain_id, self.generation)


@attrs.frozen
class _Config:
    """Every value point, mapping and chain of a store, kept as one document: each admin
    change replaces it in one atomic swap, and every count checks its version in the count's
    own atomic step. So an earn or a claim reads nothing first (it counts on the
    configuration it loaded last; a stale one is refused by the store, reloaded and counted
    again), and no change is ever half made."""

    points: Mapping[str, ValuePoint] = attrs.field(factory=dict)
    rewards: Mapping[str, tuple[ValuePointReward, ...]] = attrs.field(factory=dict)
    chains: Mapping[int, _Stored] = attrs.field(factory=dict)
    last_chain_id: int = 0

    def every_chain(self) -> list[RewardChain]:
        """Every chain, by id."""
        return [self.chains[key].chain for key in sorted(self.chains)]


def _dump_config(config: _Config) -> str:
    return json.dumps(
        {
            "last_chain_id": config.last_chain_id,
            "points": {sku: json.loads(dump_value_point(p)) for sku, p in config.points.items()},
            "rewards": {sku: json.loads(dump_rewards(r)) for sku, r in config.rewards.items()},
            "chains": {
                str(key): {
                    "generation": kept.generation,
                    "last_step_id": kept.last_step_id,
                    "chain": json.loads(dump_chain(kept.chain)),
                }
                for key, kept in config.chains.items()
            },
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def _load_config(document: str) -> _Config:
    data = json.loads(document)
    return _Config(
        {sku: load_value_point(json.dumps(p)) for sku, p in data["points"].items()},
        {sku: load_rewards(json.dumps(r)) for sku, r in data["rewards"].items()},
        {
            int(key): _Stored(
                load_chain(json.dumps(kept["chain"])), kept["last_step_id"], kept["generation"]
            )
            for key, kept in data["chains"].items()
        },
        data["last_chain_id"],
    )


_CONFIG_KEY = "config"
_CONFIG_REF = "reward_chains:config"
_REFUSED_BEFORE_COUNTING = frozenset({"chain_not_found", "step_not_found", "no_clan"})


def _earn_identity(sku: str, user_id: str) -> str:
    """An order's earning of one value point is the same request whatever its lines (the
    first one counts, retries replay it)."""
    return f'["earn", "value_point:{sku}", {user_id!r}]'


def _never(result: CountResult) -> Steps[Refusal]:
    """The refusal of a count on unlimited balances: there is none (steps it never takes)."""
    raise StoreError(f"an unlimited balance refused a count: {result}")


def _not_found(chain_id: int) -> AccountingError:
    return AccountingError("chain_not_found", f"Reward chain {chain_id} not found.")


class RewardChainSteps(Progress):
    """Value points and reward chains (see the module for the rules), as steps: each method
    that reads or writes the store yields its StoreCalls; `RewardChains` and
    `AsyncRewardChains` drive them on a store."""

    def __init__(self, *, new_id: Callable[[], str] | None = None) -> None:
        super().__init__(new_id=new_id)
        self._config = Documents("reward_chains", _dump_config, _load_config)

    # -- the configuration --------------------------------------------------------------------

    def _current(self) -> Steps[tuple[_Config, str | None]]:
        """The configuration kept now, and its version (None: nothing kept yet)."""
        kept = yield from self._config.get(_CONFIG_KEY)
        return (_Config(), None) if kept is None else kept

    def _last(self) -> Steps[tuple[_Config, str | None]]:
        """The configuration loaded last (read the first time): for counts, which check
        its version themselves."""
        kept = yield from self._config.last(_CONFIG_KEY)
        return (_Config(), None) if kept is None else kept

    def _change(self, change: Callable[[_Config], tuple[_Config, T]]) -> Steps[T]:
        """Apply `change` (pure) to the current configuration and keep the result, as one
        swap (again on the new current one when another change came first, boundedly);
        `change` raises to refuse, before anything is written."""
        for _ in range(_SWAP_TRIES):
            config, version = yield from self._current()
            changed, answer = change(config)
            if (yield from self._config.swap(_CONFIG_KEY, version, changed)):
                return answer
        raise StoreError("the reward chains' configuration kept changing")

    # -- value points -------------------------------------------------------------------------

    def put_value_point(self, point: ValuePoint) -> Steps[ValuePoint]:
        """Create or replace a value point; its `is_clan` cannot change once created."""
        if not isinstance(point, ValuePoint):
            raise ValidationError.single("value_point", "a ValuePoint", point)

        def put(config: _Config) -> tuple[_Config, ValuePoint]:
            kept = config.points.get(point.sku)
            if kept is not None and kept.is_clan != point.is_clan:
                raise ValidationError.single(
                    "is_clan", f"{kept.is_clan} (it cannot change)", point.is_clan
                )
            return attrs.evolve(config, points={**config.points, point.sku: point}), point

        return (yield from self._change(put))

    def value_point(self, sku: str) -> Steps[ValuePoint | None]:
        """The value point with this SKU, or None."""
        key = check_text(sku, "sku")
        config, _ = yield from self._current()
        return config.points.get(key)

    def value_points(self) -> Steps[list[ValuePoint]]:
        """Every value point, sorted by SKU."""
        config, _ = yield from self._current()
        points = config.points
        return [points[sku] for sku in sorted(points)]

    def delete_value_point(self, sku: str, at: datetime) -> Steps[None]:
        """Delete a value point no chain uses (AccountingError `value_point_in_use` else),
        with its item mapping."""
        check_stored_moment(at)
        check_text(sku, "sku")

        def delete(config: _Config) -> tuple[_Config, None]:
            users = [c.chain_id for c in config.every_chain() if c.value_point == sku]
            if users:
                raise AccountingError(
                    "value_point_in_use", f"Value point {sku} is used by reward chains {users}."
                )
            if sku not in config.points:
                raise AccountingError("not_found", f"Value point {sku} not found.")
            points = {k: v for k, v in config.points.items() if k != sku}
            rewards = {k: v for k, v in config.rewards.items() if k != sku}
            return attrs.evolve(config, points=points, rewards=rewards), None

        yield from self._change(delete)

    def set_value_point_rewards(self, sku: str, rewards: Sequence[ValuePointReward]) -> Steps[None]:
        """Replace the whole item mapping of a value point (LiveOps' PUT)."""
        mapping = self._checked_rewards(rewards, allow_zero=False)

        def put(config: _Config) -> tuple[_Config, None]:
            self._require_point(config, sku)
            return attrs.evolve(config, rewards={**config.rewards, sku: mapping}), None

        yield from self._change(put)

    def patch_value_point_rewards(
        self, sku: str, rewards: Sequence[ValuePointReward | tuple[str, int]]
    ) -> Steps[None]:
        """Upsert items of a value point's mapping (LiveOps' PATCH): at most 100, each SKU
        once; an amount of 0 removes the item."""
        if len(rewards) > _MAX_PATCH:
            raise ValidationError.single("rewards", f"at most {_MAX_PATCH} items", list(rewards))
        changes = self._pairs(rewards)

        def patch(config: _Config) -> tuple[_Config, None]:
            self._require_point(config, sku)
            current = {r.sku: r.amount for r in config.rewards.get(sku, ())}
            for item, amount in changes:
                if amount == 0:
                    current.pop(item, None)
                else:
                    current[item] = amount
            mapping = tuple(ValuePointReward(item, amount) for item, amount in current.items())
            return attrs.evolve(config, rewards={**config.rewards, sku: mapping}), None

        yield from self._change(patch)

    def value_point_rewards(self, sku: str) -> Steps[tuple[ValuePointReward, ...]]:
        """The item mapping of a value point, sorted by item SKU."""
        key = check_text(sku, "sku")
        config, _ = yield from self._current()
        mapping = config.rewards.get(key, ())
        return tuple(sorted(mapping, key=lambda reward: reward.sku))

    @staticmethod
    def _require_point(config: _Config, sku: object) -> ValuePoint:
        point = config.points.get(check_text(sku, "sku"))
        if point is None:
            raise AccountingError("not_found", f"Value point {sku} not found.")
        return point

    @staticmethod
    def _pairs(rewards: Sequence[ValuePointReward | tuple[str, int]]) -> list[tuple[str, int]]:
        pairs = []
        for index, reward in enumerate(rewards):
            if isinstance(reward, ValuePointReward):
                pairs.append((reward.sku, reward.amount))
            elif isinstance(reward, tuple) and len(reward) == 2:
                sku, amount = reward
                check_text(sku, f"rewards[{index}].sku")
                check_count(amount, f"rewards[{index}].amount", 0)
                pairs.append((sku, amount))
            else:
                raise ValidationError.single(f"rewards[{index}]", "a ValuePointReward", reward)
        skus = [sku for sku, _ in pairs]
        if len(set(skus)) != len(skus):
            raise ValidationError.single("rewards", "each item SKU once", "a repeated SKU")
        return pairs

    def _checked_rewards(
        self, rewards: Sequence[ValuePointReward], *, allow_zero: bool
    ) -> tuple[ValuePointReward, ...]:
        pairs = self._pairs(rewards)
        if not allow_zero and any(amount == 0 for _, amount in pairs):
            raise ValidationError.single("rewards", "amounts of 1 or more", 0)
        return tuple(ValuePointReward(sku, amount) for sku, amount in pairs)

    # -- chains -------------------------------------------------------------------------------

    def create_chain(self, chain: RewardChain) -> Steps[RewardChain]:
        """Keep a new chain: it is given the next chain id (never one used before) and its
        steps ids 1..N."""
        if not isinstance(chain, RewardChain):
            raise ValidationError.single("reward_chain", "a RewardChain", chain)

        def create(config: _Config) -> tuple[_Config, RewardChain]:
            self._check_point_of(config, chain)
            chain_id = config.last_chain_id + 1
            steps = tuple(attrs.evolve(step, step_id=n) for n, step in enumerate(chain.steps, 1))
            created = attrs.evolve(chain, chain_id=chain_id, steps=steps)
            chains = {**config.chains, chain_id: _Stored(created, len(steps))}
            return attrs.evolve(config, chains=chains, last_chain_id=chain_id), created

        return (yield from self._change(create))

    def update_chain(self, chain: RewardChain) -> Steps[RewardChain]:
        """Replace a chain (LiveOps' PUT): steps carrying a `step_id` of the chain keep their
        claims, steps without one are new; an unknown `step_id` is a ValidationError."""
        if not isinstance(chain, RewardChain) or chain.chain_id is None:
            raise ValidationError.single("reward_chain", "a RewardChain with its chain_id", chain)
        chain_id = chain.chain_id

        def update(config: _Config) -> tuple[_Config, RewardChain]:
            stored = config.chains.get(chain_id)
            if stored is None:
                raise _not_found(chain_id)
            if chain.value_point != stored.chain.value_point:
                raise ValidationError.single(
                    "value_point",
                    f"{stored.chain.value_point} (it cannot change)",
                    chain.value_point,
                )
            self._check_point_of(config, chain)
            known = {step.step_id for step in stored.chain.steps}
            last = stored.last_step_id
            steps: list[RewardChainStep] = []
            for index, step in enumerate(chain.steps):
                if step.step_id is None:
                    last += 1
                    steps.append(attrs.evolve(step, step_id=last))
                elif step.step_id not in known:
                    raise ValidationError.single(
                        f"steps[{index}].step_id",
                        "a step_id of the chain, or null for a new step",
                        step.step_id,
                    )
                else:
                    steps.append(step)
            updated = attrs.evolve(chain, steps=tuple(steps))
            kept = _Stored(updated, last, stored.generation)
            return attrs.evolve(config, chains={**config.chains, chain_id: kept}), updated

        return (yield from self._change(update))

    def _replace(self, chain_id: int, change: Callable[[_Stored], _Stored]) -> Steps[_Stored]:
        """Keep `change(stored)` (pure) for the chain, as one swap."""
        check_count(chain_id, "chain_id")

        def replace(config: _Config) -> tuple[_Config, _Stored]:
            stored = config.chains.get(chain_id)
            if stored is None:
                raise _not_found(chain_id)
            changed = change(stored)
            return attrs.evolve(config, chains={**config.chains, chain_id: changed}), changed

        return (yield from self._change(replace))

    def toggle_chain(self, chain_id: int) -> Steps[RewardChain]:
        """Enable a disabled chain or disable an enabled one; balances and claims stay."""
        toggled = yield from self._replace(
            chain_id,
            lambda kept: attrs.evolve(
                kept, chain=attrs.evolve(kept.chain, enabled=not kept.chain.enabled)
            ),
        )
        return toggled.chain

    def delete_chain(self, chain_id: int, at: datetime) -> Steps[None]:
        """Delete a chain for good: its id is never given again (its counters and ledger
        lines stay)."""
        check_stored_moment(at)
        check_count(chain_id, "chain_id")

        def delete(config: _Config) -> tuple[_Config, None]:
            if chain_id not in config.chains:
                raise _not_found(chain_id)
            chains = {k: v for k, v in config.chains.items() if k != chain_id}
            return attrs.evolve(config, chains=chains), None

        yield from self._change(delete)

    def reset_chain(self, chain_id: int, at: datetime) -> Steps[int]:
        """Start every player's and clan's balance and claims of the chain anew (LiveOps'
        admin reset), at once and in one write: the chain's next generation counts from
        nothing (the old counters stay, for audit). Returns the new generation."""
        check_stored_moment(at)
        renewed = yield from self._replace(
            chain_id, lambda kept: attrs.evolve(kept, generation=kept.generation + 1)
        )
        return renewed.generation

    def chain(self, chain_id: int) -> Steps[RewardChain | None]:
        """The chain with this id, or None."""
        key = check_count(chain_id, "chain_id")
        config, _ = yield from self._current()
        kept = config.chains.get(key)
        return None if kept is None else kept.chain

    def chains(self) -> Steps[list[RewardChain]]:
        """Every chain, by id."""
        config, _ = yield from self._current()
        return config.every_chain()

    def _stored(self, chain_id: int) -> Steps[_Stored]:
        key = check_count(chain_id, "chain_id")
        config, _ = yield from self._current()
        kept = config.chains.get(key)
        if kept is None:
            raise _not_found(chain_id)
        return kept

    @staticmethod
    def _check_point_of(config: _Config, chain: RewardChain) -> None:
        point = config.points.get(chain.value_point)
        if point is None:
            raise ValidationError.single(
                "value_point.sku", "a value point of the store", chain.value_point
            )
        if point.is_clan and chain.clan is None:
            raise ValidationError.single(
                "popup_header", "clan settings (a clan value point's chain is a clan chain)", None
            )
        if not point.is_clan and chain.clan is not None:
            raise ValidationError.single(
                "popup_header",
                "no clan settings (the value point is not a clan's)",
                "clan settings",
            )

    # -- earning ------------------------------------------------------------------------------

    def earn(
        self,
        order_id: str,
        user: User,
        items: Sequence[tuple[str, int]],
        at: datetime,
        *,
        clan: str | None = None,
    ) -> Steps[EarnReport]:
        """Credit what a paid order's `(sku, quantity)` lines earn to every running chain of
        each value point the player sees (the clan's balance too, for a clan point when
        `clan` is given); once per order id, whatever the retries."""
        check_stored_moment(at)
        check_text(order_id, "order_id")
        user_id = self.user_id_of(user)
        if clan is not None:
            check_text(clan, "clan")
        lines = self._lines(items)
        earned: dict[str, int] = {}
        credited: dict[str, tuple[int, ...]] = {}
        replayed = False
        config, version = yield from self._last()
        for _ in range(_SWAP_TRIES):
            # An earn that counts nothing checks no version: it is decided on the
            # configuration kept now unless a count on the same one proved it current.
            proven = False
            for sku in sorted(config.points):
                if sku in earned:
                    continue
                found = yield from self._earn_point(
                    config, version, sku, order_id, user, user_id, lines, at, clan
                )
                if found is None:  # changed since it was loaded: again, on the new one
                    self._config.forget(_CONFIG_KEY)
                    break
                outcome, amount, chain_ids = found
                if outcome is None:
                    continue
                if not outcome.ok:  # unlimited balances never refuse
                    raise StoreError(f"the store did not count what order {order_id} earned")
                proven = True
                replayed = replayed or outcome.replayed
                earned[sku] = amount
                credited[sku] = chain_ids
            else:
                if proven:
                    break
                current, current_version = yield from self._current()
                if current_version == version:
                    break
                config, version = current, current_version
                continue
            config, version = yield from self._last()
        else:
            raise StoreError("the reward chains' configuration kept changing")
        return EarnReport(earned, credited, replayed)

    def _earn_point(
        self,
        config: _Config,
        version: str | None,
        sku: str,
        order_id: str,
        user: User,
        user_id: str,
        lines: list[tuple[str, int]],
        at: datetime,
        clan: str | None,
    ) -> Steps[tuple[Outcome | None, int, tuple[int, ...]] | None]:
        """Count what the order earns of one value point on `config`; None when the store
        keeps a newer one. The outcome is None when nothing is earned."""
        point = config.points.get(sku)
        if point is None:
            return None, 0, ()
        amounts = {r.sku: r.amount for r in config.rewards.get(sku, ())}
        amount = sum(amounts.get(item, 0) * quantity for item, quantity in lines)
        if amount == 0:
            return None, 0, ()
        chains = [
            c for c in rules.visible_chains(config.every_chain(), user, at) if c.value_point == sku
        ]
        counters: list[CounterSpec] = []
        for chain in chains:
            at_scope = config.chains[chain.chain_id or 0].scope
            at_period = rules.period(chain, at)
            counters.append(CounterSpec(rules.balance_key(at_scope, user_id, at_period), None))
            if point.is_clan and clan is not None:
                clan_key = rules.clan_balance_key(at_scope, clan, at_period)
                mine = rules.contribution_key(at_scope, clan, user_id, at_period)
                counters += [CounterSpec(clan_key, None), CounterSpec(mine, None)]
        if not counters:
            return None, 0, ()
        outcome = yield from self.count(
            "earn",
            f"value_point:{sku}",
            user_id,
            at,
            counters,
            version=version,
            version_of=_CONFIG_REF,
            quantity=amount,
            idempotency_key=f"earn|{order_id}|{sku}",
            identity=_earn_identity(sku, user_id),
            refusal=_never,
        )
        if outcome is None:
            return None
        return outcome, amount, tuple(c.chain_id for c in chains if c.chain_id is not None)

    def earn_quote(
        self,
        order_id: str,
        paid: Quote | Checkout,
        user: User,
        at: datetime,
        *,
        clan: str | None = None,
    ) -> Steps[EarnReport]:
        """`earn` for a paid cart: its quote's lines and the items its promotions gave for free
        (LiveOps credits value points for free items too). Call it when the order is paid,
        with the checkout just committed; a retry with the same order id earns nothing more."""
        quote = paid.quote if isinstance(paid, Checkout) else paid
        lines = [(line.sku, line.quantity) for line in quote.lines]
        lines += [(item.sku, item.quantity) for item in quote.bonus_items]
        return (yield from self.earn(order_id, user, lines, at, clan=clan))

    def refund(self, order_id: str, user: User, at: datetime) -> Steps[int]:
        """Take back what `user`'s order earned (a refund): every balance it credited loses
        exactly that; returns how many value points' earnings were taken back (0 for an order
        that earned nothing; a second refund changes nothing)."""
        check_stored_moment(at)
        check_text(order_id, "order_id")
        user_id = self.user_id_of(user)
        taken = 0
        for point in (yield from self.value_points()):
            earned = yield from self.recall(
                f"earn|{order_id}|{point.sku}", _earn_identity(point.sku, user_id)
            )
            if earned is None or earned.operation_id is None:
                continue
            settled: SettleResult = yield call(
                "settle", SettleAction.CANCEL, earned.operation_id, at
            )
            if settled.changed:
                taken += 1
        return taken

    @staticmethod
    def _lines(items: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
        lines = []
        for index, line in enumerate(items):
            if not isinstance(line, tuple) or len(line) != 2:
                raise ValidationError.single(f"items[{index}]", "a (sku, quantity) pair", line)
            sku, quantity = line
            check_text(sku, f"items[{index}].sku")
            check_count(quantity, f"items[{index}].quantity")
            lines.append((sku, quantity))
        return lines

    # -- claiming -----------------------------------------------------------------------------

    def claim(
        self,
        chain_id: int,
        step_id: int,
        user: User,
        at: datetime,
        *,
        clan: str | None = None,
        idempotency_key: str | None = None,
    ) -> Steps[Outcome]:
        """Claim a step's rewards for `user`: counted once a period, in one atomic step with
        the balance check; the Outcome carries the items, or the refusal with LiveOps' code."""
        check_stored_moment(at)
        check_count(chain_id, "chain_id")
        check_count(step_id, "step_id")
        user_id = self.user_id_of(user)
        if clan is not None:
            check_text(clan, "clan")
        return (
            yield from self.retrying(
                lambda: self._claim(chain_id, step_id, user, user_id, at, clan, idempotency_key)
            )
        )

    def _claim(
        self,
        chain_id: int,
        step_id: int,
        user: User,
        user_id: str,
        at: datetime,
        clan: str | None,
        key: str | None,
    ) -> Steps[Outcome | None]:
        config, version = yield from self._last()  # the count checks it is still the current one
        outcome = yield from self._claim_on(
            config, version, chain_id, step_id, user, user_id, at, clan, key
        )
        refusal = None if outcome is None else outcome.refusal
        if refusal is not None and refusal.code in _REFUSED_BEFORE_COUNTING:
            fresh, fresh_version = yield from self._current()  # refused by an old copy? ask anew
            if fresh_version != version:
                return (
                    yield from self._claim_on(
                        fresh, fresh_version, chain_id, step_id, user, user_id, at, clan, key
                    )
                )
        return outcome

    def _claim_on(
        self,
        config: _Config,
        version: str | None,
        chain_id: int,
        step_id: int,
        user: User,
        user_id: str,
        at: datetime,
        clan: str | None,
        key: str | None,
    ) -> Steps[Outcome | None]:
        ref = rules.chain_ref(chain_id)
        stored = config.chains.get(chain_id)
        if stored is None or not rules.sees(stored.chain, user, at, config.every_chain):
            reasons = (
                ()
                if stored is None
                else tuple(r.to_dict() for r in rules.chain_reasons(stored.chain, user, at))
            )
            message = (
                str(reasons[0]["message"]) if reasons else f"Reward chain {chain_id} not found."
            )
            return Outcome(False, ref, refusal=Refusal("chain_not_found", message, reasons))
        chain = stored.chain
        step = chain.step(step_id)
        if step is None:
            return Outcome(
                False, ref, refusal=Refusal("step_not_found", f"Step {step_id} not found.")
            )
        at_period = rules.period(chain, at)
        if chain.clan is not None:
            if clan is None:
                return Outcome(
                    False,
                    ref,
                    refusal=Refusal("no_clan", "Join a clan to claim a clan chain's rewards."),
                )
            balance = rules.clan_balance_key(stored.scope, clan, at_period)
        else:
            balance = rules.balance_key(stored.scope, user_id, at_period)
        claimed = CounterSpec(rules.claim_key(stored.scope, step_id, user_id, at_period), 1)
        price = step.price

        def refusal(result: CountResult) -> Steps[Refusal]:
            # LiveOps names an earlier claim first, then the balance (the store checks the
            # balance first: a refusal for it looks at the claim too).
            if result.unmet is not None:
                claims: CounterState = yield call("counter", claimed.key, at)
                if not claims.used:
                    have = 0 if result.state is None else result.state.used
                    return Refusal("not_enough_value_points", f"{have} of {price} value points")
            return Refusal("already_claimed", "Reward already claimed.")

        outcome = yield from self.count(
            "claim",
            ref,
            user_id,
            at,
            [claimed],
            version=version,
            version_of=_CONFIG_REF,
            requires=[Requirement(balance, price)],
            items=rules.step_rewards(step, user),
            idempotency_key=key,
            refusal=refusal,
        )
        if outcome is None:
            self._config.forget(_CONFIG_KEY)
        return outcome

    # -- reading ------------------------------------------------------------------------------

    def balance(
        self, chain_id: int, user: User, at: datetime, *, clan: str | None = None
    ) -> Steps[int]:
        """The balance that counts for the chain's steps at `at`: the player's, or the clan's
        for a clan chain (0 without a clan)."""
        check_stored_moment(at)
        stored = yield from self._stored(chain_id)
        key = self._balance_key(stored, self.user_id_of(user), at, clan)
        if key is None:
            return 0
        state: CounterState = yield call("counter", key, at)
        return state.used

    @staticmethod
    def _balance_key(stored: _Stored, user_id: str, at: datetime, clan: str | None) -> str | None:
        at_period = rules.period(stored.chain, at)
        if stored.chain.clan is not None:
            return None if clan is None else rules.clan_balance_key(stored.scope, clan, at_period)
        return rules.balance_key(stored.scope, user_id, at_period)

    def player_chains(
        self,
        user: User,
        at: datetime,
        *,
        clan: str | None = None,
        limit: int = _MAX_PAGE,
        offset: int = 0,
    ) -> Steps[tuple[list[ChainView], int]]:
        """The chains `user` sees at `at`, `limit` (at most 50) from `offset`, each with its
        balance and the steps claimed this period; and how many there are in all. Two reads
        of the store however many chains (three for a clan's member): the configuration's
        version, and the player's counters as one range."""
        check_stored_moment(at)
        check_count(limit, "limit", 1, _MAX_PAGE)
        check_count(offset, "offset", 0)
        user_id = self.user_id_of(user)
        if clan is not None:
            check_text(clan, "clan")
        config, _ = yield from self._current()
        every = config.chains
        visible = rules.visible_chains([every[key].chain for key in sorted(every)], user, at)
        page = visible[offset : offset + limit]
        if not page:
            return [], len(visible)
        balances: dict[str, int] = {}
        claims: dict[tuple[str, str], set[int]] = {}
        player: dict[str, CounterState] = yield call(
            "counters_with_prefix", rules.player_prefix(user_id)
        )
        for mine, state in player.items():
            if rules.is_balance(mine):
                balances[mine] = state.used
            elif state.used:
                claim_scope, claim_period, step_id = rules.claim_of(mine)
                claims.setdefault((claim_scope, claim_period), set()).add(step_id)
        if clan is not None:
            clan_prefix = rules.clan_balances_prefix(clan)
            clan_counters: dict[str, CounterState] = yield call("counters_with_prefix", clan_prefix)
            balances.update((ours, state.used) for ours, state in clan_counters.items())
        views = []
        for chain in page:
            stored = every[chain.chain_id or 0]
            at_period = rules.period(chain, at)
            key = self._balance_key(stored, user_id, at, clan)
            steps_claimed = claims.get((stored.scope, at_period))
            claimed = (
                frozenset(s.step_id for s in chain.steps if s.step_id in steps_claimed)
                if steps_claimed
                else frozenset()
            )
            views.append(
                ChainView(
                    chain,
                    0 if key is None else balances.get(key, 0),
                    claimed,
                    rules.next_reset(chain, at),
                    clan is not None or chain.clan is None,
                )
            )
        return views, len(visible)

    def top_contributors(
        self, chain_id: int, clan: str, at: datetime, *, limit: int = 10
    ) -> Steps[list[tuple[str, int]]]:
        """The clan's players who contributed most to its balance this period, with their
        amounts (at most `limit`, 10 by default), largest first, ties by user id."""
        check_stored_moment(at)
        check_text(clan, "clan")
        check_count(limit, "limit", 1, 10)
        stored = yield from self._stored(chain_id)
        at_period = rules.period(stored.chain, at)
        found = []
        prefix = rules.contribution_prefix(stored.scope, clan)
        contributions: dict[str, CounterState] = yield call("counters_with_prefix", prefix)
        for key, state in contributions.items():
            user_id, key_period = rules.contributor_of(key)
            if key_period == at_period and state.used > 0:
                found.append((user_id, state.used))
        return sorted(found, key=lambda pair: (-pair[1], pair[0]))[:limit]


REWARD_CHAIN_OPERATIONS = (
    "put_value_point",
    "value_point",
    "value_points",
    "delete_value_point",
    "set_value_point_rewards",
    "patch_value_point_rewards",
    "value_point_rewards",
    "create_chain",
    "update_chain",
    "toggle_chain",
    "delete_chain",
    "reset_chain",
    "chain",
    "chains",
    "earn",
    "earn_quote",
    "refund",
    "claim",
    "balance",
    "player_chains",
    "top_contributors",
    "count",
    "recall",
)
"""The public operations of `RewardChainSteps` that use the store: `RewardChains` runs each
on a RedemptionStore, `AsyncRewardChains` awaits each on an async store."""


class RewardChains:
    """Value points and reward chains of one store (see the module for the rules).

    Each operation runs `steps` (a RewardChainSteps) on `store`."""

    def __init__(self, store: RedemptionStore, *, new_id: Callable[[], str] | None = None) -> None:
        self.store = store
        self.steps = RewardChainSteps(new_id=new_id)

    @classmethod
    def user_id_of(cls, user: object) -> str:
        """The id of a signed-in player (a `User`) a store can keep."""
        return RewardChainSteps.user_id_of(user)

    @staticmethod
    def check_user_id(user_id: object, name: str = "user.id") -> str:
        """A signed-in player's id a store can keep."""
        return RewardChainSteps.check_user_id(user_id, name)

    put_value_point = sync_operation(RewardChainSteps.put_value_point)
    value_point = sync_operation(RewardChainSteps.value_point)
    value_points = sync_operation(RewardChainSteps.value_points)
    delete_value_point = sync_operation(RewardChainSteps.delete_value_point)
    set_value_point_rewards = sync_operation(RewardChainSteps.set_value_point_rewards)
    patch_value_point_rewards = sync_operation(RewardChainSteps.patch_value_point_rewards)
    value_point_rewards = sync_operation(RewardChainSteps.value_point_rewards)
    create_chain = sync_operation(RewardChainSteps.create_chain)
    update_chain = sync_operation(RewardChainSteps.update_chain)
    toggle_chain = sync_operation(RewardChainSteps.toggle_chain)
    delete_chain = sync_operation(RewardChainSteps.delete_chain)
    reset_chain = sync_operation(RewardChainSteps.reset_chain)
    chain = sync_operation(RewardChainSteps.chain)
    chains = sync_operation(RewardChainSteps.chains)
    earn = sync_operation(RewardChainSteps.earn)
    earn_quote = sync_operation(RewardChainSteps.earn_quote)
    refund = sync_operation(RewardChainSteps.refund)
    claim = sync_operation(RewardChainSteps.claim)
    balance = sync_operation(RewardChainSteps.balance)
    player_chains = sync_operation(RewardChainSteps.player_chains)
    top_contributors = sync_operation(RewardChainSteps.top_contributors)
    count = sync_operation(RewardChainSteps.count)
    recall = sync_operation(RewardChainSteps.recall)


class AsyncRewardChains(OnAsyncStore):
    """`RewardChains`' operations as coroutines, against an async store (see
    `open_async_store`); `async with` closes the store on the way out. The decisions are the
    same steps (`RewardChainSteps`), awaited on the store instead of called."""

    def __init__(self, store: AsyncStore, *, new_id: Callable[[], str] | None = None) -> None:
        super().__init__(store)
        self.steps = RewardChainSteps(new_id=new_id)

    @classmethod
    def user_id_of(cls, user: object) -> str:
        """The id of a signed-in player (a `User`) a store can keep."""
        return RewardChainSteps.user_id_of(user)

    @staticmethod
    def check_user_id(user_id: object, name: str = "user.id") -> str:
        """A signed-in player's id a store can keep."""
        return RewardChainSteps.check_user_id(user_id, name)

    put_value_point = async_operation(RewardChainSteps.put_value_point)
    value_point = async_operation(RewardChainSteps.value_point)
    value_points = async_operation(RewardChainSteps.value_points)
    delete_value_point = async_operation(RewardChainSteps.delete_value_point)
    set_value_point_rewards = async_operation(RewardChainSteps.set_value_point_rewards)
    patch_value_point_rewards = async_operation(RewardChainSteps.patch_value_point_rewards)
    value_point_rewards = async_operation(RewardChainSteps.value_point_rewards)
    create_chain = async_operation(RewardChainSteps.create_chain)
    update_chain = async_operation(RewardChainSteps.update_chain)
    toggle_chain = async_operation(RewardChainSteps.toggle_chain)
    delete_chain = async_operation(RewardChainSteps.delete_chain)
    reset_chain = async_operation(RewardChainSteps.reset_chain)
    chain = async_operation(RewardChainSteps.chain)
    chains = async_operation(RewardChainSteps.chains)
    earn = async_operation(RewardChainSteps.earn)
    earn_quote = async_operation(RewardChainSteps.earn_quote)
    refund = async_operation(RewardChainSteps.refund)
    claim = async_operation(RewardChainSteps.claim)
    balance = async_operation(RewardChainSteps.balance)
    player_chains = async_operation(RewardChainSteps.player_chains)
    top_contributors = async_operation(RewardChainSteps.top_contributors)
    count = async_operation(RewardChainSteps.count)
    recall = async_operation(RewardChainSteps.recall)
