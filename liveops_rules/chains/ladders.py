"""What daily chains and offer chains share on a store: every chain of a kind kept in one
configuration document (changed by atomic swaps, its version checked by every count), and
the admin lifecycle LiveOps gives both: create, update (only while disabled), toggle, reset,
delete, read.

Ids: a chain gets the next chain id of its kind, never one used before; its steps get ids
never used in the chain before (an update keeps a step's id when the body carries it).

Like the accounting engine, it is written as steps (see `accounting.steps`): every method that
reads or writes the store yields its StoreCalls; the kinds' drivers run them on a store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar

import attrs

from liveops_rules.accounting import AccountingError
from liveops_rules.accounting.steps import Steps
from liveops_rules.chains.progress import Documents, Progress
from liveops_rules.errors import ChainConfigError, StoreError, ValidationError
from liveops_rules.models.daily import DailyChain
from liveops_rules.models.offer import OfferChain
from liveops_rules.stores.bounds import check_count, check_stored_moment

__all__ = ["Kept", "LadderConfig", "LadderDriver", "Ladders"]

C = TypeVar("C", bound=DailyChain | OfferChain)
T = TypeVar("T")

_SWAP_TRIES = 10


@attrs.frozen
class Kept(Generic[C]):
    """A chain as kept: the model, the highest step id it ever had (never reused) and its
    generation (an admin reset starts the next one)."""

    chain: C
    last_step_id: int
    generation: int = 0

    def scope(self, kind: str) -> str:
        """What its counters are keyed by now."""
        return f"{kind}:{self.chain.chain_id}@{self.generation}"


@attrs.frozen
class LadderConfig(Generic[C]):
    """Every chain of one kind in a store."""

    chains: Mapping[int, Kept[C]] = attrs.field(factory=dict)
    last_chain_id: int = 0

    def every_chain(self) -> list[C]:
        """Every chain, by id."""
        return [self.chains[key].chain for key in sorted(self.chains)]


class Ladders(Progress, Generic[C]):
    """The configuration and admin lifecycle of one kind of chain (see the module), as
    steps: no store of its own, a driver runs them on one."""

    kind: str
    """The kind's name: `daily_chain` or `offer_chain` (refs, scopes, messages)."""
    active_code: str
    """The refusal for an update of an enabled chain."""
    title: str
    """How messages name a chain of the kind."""

    def __init__(
        self,
        model: type[C],
        dump: Callable[[C], dict[str, Any]],
        load: Callable[[dict[str, Any]], C],
        *,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(new_id=new_id)
        self._model: type[C] = model
        self._dump_chain: Callable[[C], dict[str, Any]] = dump
        self._load_chain: Callable[[dict[str, Any]], C] = load
        self._config: Documents[LadderConfig[C]] = Documents(
            f"{self.kind}s", self._dump, self._load
        )
        self.config_ref = self._config.ref("config")

    def _dump(self, config: LadderConfig[C]) -> str:
        return json.dumps(
            {
                "last_chain_id": config.last_chain_id,
                "chains": {
                    str(key): {
                        "generation": kept.generation,
                        "last_step_id": kept.last_step_id,
                        "chain": self._dump_chain(kept.chain),
                    }
                    for key, kept in config.chains.items()
                },
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )

    def _load(self, document: str) -> LadderConfig[C]:
        data = json.loads(document)
        return LadderConfig(
            {
                int(key): Kept(
                    self._load_chain(kept["chain"]), kept["last_step_id"], kept["generation"]
                )
                for key, kept in data["chains"].items()
            },
            data["last_chain_id"],
        )

    # -- the configuration --------------------------------------------------------------------

    def current(self) -> Steps[tuple[LadderConfig[C], str | None]]:
        """The configuration kept now, and its version (None: nothing kept yet)."""
        kept = yield from self._config.get("config")
        return (LadderConfig(), None) if kept is None else kept

    def last(self) -> Steps[tuple[LadderConfig[C], str | None]]:
        """The configuration loaded last (read the first time): for counts, which check its
        version themselves."""
        kept = yield from self._config.last("config")
        return (LadderConfig(), None) if kept is None else kept

    def forget(self) -> None:
        """Drop the configuration loaded last (the store keeps a newer one)."""
        self._config.forget("config")

    def _change(self, change: Callable[[LadderConfig[C]], tuple[LadderConfig[C], T]]) -> Steps[T]:
        """Apply `change` (pure) to the current configuration and keep the result as one swap
        (again on the new current one when another change came first, boundedly); `change`
        raises to refuse, before anything is written."""
        for _ in range(_SWAP_TRIES):
            config, version = yield from self.current()
            changed, answer = change(config)
            if (yield from self._config.swap("config", version, changed)):
                return answer
        raise StoreError(f"the {self.kind}s' configuration kept changing")

    def not_found(self, chain_id: int) -> AccountingError:
        """The error for a chain id the store does not keep."""
        return AccountingError(f"{self.kind}_not_found", f"{self.title} {chain_id} not found.")

    # -- admin --------------------------------------------------------------------------------

    def _checked(self, chain: object, *, with_id: bool) -> C:
        if not isinstance(chain, self._model):
            raise ValidationError.single(self.kind, f"a {self._model.__name__}", chain)
        if with_id and chain.chain_id is None:
            raise ValidationError.single("id", "the chain's id", None)
        return chain

    def create_chain(self, chain: C) -> Steps[C]:
        """Keep a new chain: it is given the next chain id of its kind (never one used
        before) and its steps ids 1..N, in step number order (ids it carries are replaced,
        as its `chain_id` is)."""
        chain = self._checked(chain, with_id=False)
        ordered: tuple[Any, ...] = chain.steps

        def create(config: LadderConfig[C]) -> tuple[LadderConfig[C], C]:
            chain_id = config.last_chain_id + 1
            steps = tuple(attrs.evolve(step, step_id=n) for n, step in enumerate(ordered, 1))
            created = attrs.evolve(chain, chain_id=chain_id, steps=steps)
            chains = {**config.chains, chain_id: Kept(created, len(steps))}
            return attrs.evolve(config, chains=chains, last_chain_id=chain_id), created

        return (yield from self._change(create))

    def update_chain(self, chain: C) -> Steps[C]:
        """Replace a disabled chain (LiveOps' PUT; an enabled one is refused, 6307 for offer
        chains and 6209 for daily chains): steps carrying a `step_id` of the chain keep it
        (and, in an offer chain, their players' progress), steps without one are new; an
        unknown `step_id` is a ChainConfigError 6206."""
        chain = self._checked(chain, with_id=True)
        assert chain.chain_id is not None
        chain_id = chain.chain_id

        def update(config: LadderConfig[C]) -> tuple[LadderConfig[C], C]:
            kept = config.chains.get(chain_id)
            if kept is None:
                raise self.not_found(chain_id)
            if kept.chain.enabled:
                raise AccountingError(
                    self.active_code, "Active chain cannot be updated. Please deactivate it first"
                )
            known = {step.step_id for step in kept.chain.steps}
            unknown = sorted(
                step_id
                for step_id in (step.step_id for step in chain.steps)
                if step_id is not None and step_id not in known
            )
            if unknown:
                raise ChainConfigError.of(
                    6206,
                    "steps",
                    "step ids of the chain, or null for new steps",
                    unknown,
                    {"chain_step_id_list": unknown},
                )
            last = kept.last_step_id
            steps = []
            for step in chain.steps:
                if step.step_id is None:
                    last += 1
                    step = attrs.evolve(step, step_id=last)
                steps.append(step)
            updated = attrs.evolve(chain, steps=tuple(steps))
            generation = kept.generation + (1 if self.renews(kept.chain, updated) else 0)
            renewed = Kept(updated, last, generation)
            return attrs.evolve(config, chains={**config.chains, chain_id: renewed}), updated

        return (yield from self._change(update))

    def _replace(self, chain_id: int, change: Callable[[Kept[C]], Kept[C]]) -> Steps[Kept[C]]:
        """Keep `change(kept)` (pure) for the chain, as one swap."""
        check_count(chain_id, "chain_id")

        def replace(config: LadderConfig[C]) -> tuple[LadderConfig[C], Kept[C]]:
            kept = config.chains.get(chain_id)
            if kept is None:
                raise self.not_found(chain_id)
            changed = change(kept)
            return attrs.evolve(config, chains={**config.chains, chain_id: changed}), changed

        return (yield from self._change(replace))

    def toggle_chain(self, chain_id: int) -> Steps[C]:
        """Enable a disabled chain or disable an enabled one; every player's progress stays
        (a disabled chain is hidden and resumes where it was)."""
        toggled = yield from self._replace(
            chain_id,
            lambda kept: attrs.evolve(
                kept, chain=attrs.evolve(kept.chain, enabled=not kept.chain.enabled)
            ),
        )
        return toggled.chain

    def renews(self, before: C, after: C) -> bool:  # noqa: ARG002 - a hook kinds override
        """Whether an update from `before` to `after` starts every player's progress anew
        (a new generation, as a reset): when the progress kept would mean something else
        under the new configuration. A kind says when; by default never."""
        return False

    def check_reset(self, chain: C) -> None:
        """Raise if LiveOps refuses an admin reset of `chain` (every chain may be reset
        unless a kind says otherwise)."""

    def reset_chain(self, chain_id: int, at: datetime) -> Steps[int]:
        """Start every player's progress in the chain anew, at once and in one write: the
        chain's next generation counts from nothing (the old counters stay, for audit).
        Returns the new generation."""
        check_stored_moment(at)

        def renew(kept: Kept[C]) -> Kept[C]:
            self.check_reset(kept.chain)
            return attrs.evolve(kept, generation=kept.generation + 1)

        renewed = yield from self._replace(chain_id, renew)
        return renewed.generation

    def delete_chain(self, chain_id: int, at: datetime) -> Steps[None]:
        """Delete a chain for good: its id is never given again; rewards granted stay (its
        counters and ledger lines too)."""
        check_stored_moment(at)
        check_count(chain_id, "chain_id")

        def delete(config: LadderConfig[C]) -> tuple[LadderConfig[C], None]:
            if chain_id not in config.chains:
                raise self.not_found(chain_id)
            chains = {k: v for k, v in config.chains.items() if k != chain_id}
            return attrs.evolve(config, chains=chains), None

        yield from self._change(delete)

    def chain(self, chain_id: int) -> Steps[C | None]:
        """The chain with this id, or None."""
        key = check_count(chain_id, "chain_id")
        config, _ = yield from self.current()
        kept = config.chains.get(key)
        return None if kept is None else kept.chain

    def chains(self) -> Steps[list[C]]:
        """Every chain of the kind, by id."""
        config, _ = yield from self.current()
        return config.every_chain()

    def kept(self, chain_id: int) -> Steps[Kept[C]]:
        """The chain with this id as kept (AccountingError `..._not_found` else)."""
        key = check_count(chain_id, "chain_id")
        config, _ = yield from self.current()
        kept = config.chains.get(key)
        if kept is None:
            raise self.not_found(chain_id)
        return kept


class LadderDriver(Generic[C]):
    """What the sync and async drivers of a kind of chain share: its names, and the methods
    that never touch a store, delegated to `steps`."""

    steps: Ladders[C]

    @property
    def config_ref(self) -> str:
        """The ref of the document that keeps every chain of the kind."""
        return self.steps.config_ref

    @classmethod
    def user_id_of(cls, user: object) -> str:
        """The id of a signed-in player (a `User`) a store can keep."""
        return Progress.user_id_of(user)

    @staticmethod
    def check_user_id(user_id: object, name: str = "user.id") -> str:
        """A signed-in player's id a store can keep."""
        return Progress.check_user_id(user_id, name)

    def forget(self) -> None:
        """Drop the configuration loaded last (the store keeps a newer one)."""
        self.steps.forget()

    def not_found(self, chain_id: int) -> AccountingError:
        """The error for a chain id the store does not keep."""
        return self.steps.not_found(chain_id)

    def renews(self, before: C, after: C) -> bool:
        """Whether an update from `before` to `after` starts every player's progress anew
        (see the kind's steps: `steps.renews`)."""
        return self.steps.renews(before, after)

    def check_reset(self, chain: C) -> None:
        """Raise if LiveOps refuses an admin reset of `chain` (see `steps.check_reset`)."""
        self.steps.check_reset(chain)
