"""Daily chains on a store: their configuration and each player's claims, one a day, in
order, exactly once (see `liveops_rules.chains.days` for the rules and how progress is kept).

A claim reads the player's one progress counter for the chain, decides on LiveOps' rules
(refusing with a reason that says why and when the next claim opens), and counts the step as
a compare-and-set of that counter, with the chain configuration's version checked in the same
atomic step: two claims on the same day, on any number of machines, never both count.

Like the accounting engine, it is written as steps (see `accounting.steps`):
`DailyChainSteps` decides and yields its store calls, `DailyChains` runs them on a
RedemptionStore and `AsyncDailyChains` awaits them on an async store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs

from liveops_rules.accounting import AccountingError, Outcome, Refusal
from liveops_rules.accounting.steps import Steps, async_operation, call, sync_operation
from liveops_rules.chains import days, rules
from liveops_rules.chains.documents import dump_daily_chain, load_daily_chain
from liveops_rules.chains.ladders import Kept, LadderDriver, Ladders
from liveops_rules.errors import StoreError
from liveops_rules.models import User
from liveops_rules.models.daily import DailyChain, DailyChainType
from liveops_rules.stores import CounterSpec, CounterState, CountResult, RedemptionStore
from liveops_rules.stores.bounds import check_count, check_stored_moment, check_text
from liveops_rules.stores.calls import AsyncStore, OnAsyncStore
from liveops_rules.stores.protocol import Requirement

__all__ = [
    "DAILY_CHAIN_OPERATIONS",
    "AsyncDailyChains",
    "DailyChainSteps",
    "DailyChainView",
    "DailyChains",
]

_MAX_PAGE = 50
_CLAIM_TRIES = 8


class _Lost(Exception):  # noqa: N818 - the name says what happened
    """Another claim changed the player's progress between the read and the count."""


def _lost(_: CountResult) -> Steps[Refusal]:
    """The refusal of a claim's count: there is none, it lost a race (steps it never takes:
    it raises when called)."""
    raise _Lost


@attrs.frozen
class DailyChainView:
    """A daily chain as a player sees it at a moment: each step's state."""

    chain: DailyChain
    steps: tuple[days.StepState, ...]
    next_claim_at: datetime | None
    """When the player can claim next: now or earlier when a step is claimable, the next
    step's (or a recurrent calendar chain's next cycle's) opening otherwise, None when nothing
    is left to claim before the chain ends."""

    def to_dict(self) -> dict[str, Any]:
        """The client view LiveOps answers: the chain's texts and every step's `status` and
        `unlocked_date` (Unix seconds; null for a claimed step whose day is not kept)."""
        chain = self.chain
        items = {step.step_number: step.items for step in chain.steps}
        return {
            "id": chain.chain_id,
            "name": chain.name.best(),
            "description": chain.description.best() or None,
            "order": chain.order,
            "date_start": chain.window.start.isoformat() if chain.window.start else None,
            "date_end": chain.window.end.isoformat() if chain.window.end else None,
            "type": chain.type.value,
            "steps": [
                {
                    "step_number": state.step_number,
                    "status": state.status.value,
                    "unlocked_date": None
                    if state.unlocked_at is None
                    else int(state.unlocked_at.timestamp()),
                    "items": [
                        {"sku": item.sku, "quantity": item.quantity}
                        for item in items[state.step_number]
                    ],
                }
                for state in self.steps
            ],
        }


class DailyChainSteps(Ladders[DailyChain]):
    """Daily chains as steps: the admin lifecycle (`Ladders`), claims and views; `DailyChains`
    and `AsyncDailyChains` drive them on a store."""

    kind = "daily_chain"
    active_code = "daily_chain_active"
    title = "Daily chain"

    def __init__(self, *, new_id: Callable[[], str] | None = None) -> None:
        super().__init__(DailyChain, dump_daily_chain, load_daily_chain, new_id=new_id)

    def renews(self, before: DailyChain, after: DailyChain) -> bool:
        """An update that moves the day grid (start, zone, type) starts progress anew, and so
        does one that changes a calendar chain's cycles (its number of steps, recurrence):
        progress is kept by grid day and cycle, which would then name other days."""
        grid = (before.window.start, before.day_zone, before.type)
        if grid != (after.window.start, after.day_zone, after.type):
            return True
        if after.type is DailyChainType.CALENDAR_HARD:
            return (len(before.steps), before.recurrent) != (len(after.steps), after.recurrent)
        return False

    def check_reset(self, chain: DailyChain) -> None:
        """Only a rolling chain can be reset (LiveOps)."""
        if chain.type is not DailyChainType.ROLLING:
            raise AccountingError(
                "reset_not_rolling", f"Daily chain {chain.chain_id} is not rolling: no reset."
            )

    # -- a player's progress ------------------------------------------------------------------

    def _key(self, kept: Kept[DailyChain], user_id: str, at: datetime) -> tuple[str, int]:
        """The progress counter that decides a claim at `at`, and the cycle it is of."""
        chain = kept.chain
        scope = kept.scope(self.kind)
        user = rules.key_part(user_id)
        if chain.type is DailyChainType.ROLLING:
            return days.rolling_key(user, scope), 0
        cycle, _ = days.calendar_cycle(chain, days.DayGrid.of(chain).day_of(at))
        return days.calendar_key(user, scope, cycle), cycle

    @staticmethod
    def _progress(chain: DailyChain, value: int, cycle: int) -> days.DailyProgress:
        if chain.type is DailyChainType.ROLLING:
            return days.read_rolling(value, len(chain.steps), chain.recurrent)
        return days.read_calendar(value, cycle, len(chain.steps))

    @staticmethod
    def _closed(chain_id: int, kept: Kept[DailyChain] | None, at: datetime) -> Refusal | None:
        """Why nobody can claim in the chain at `at`, or None."""
        if kept is None or not kept.chain.enabled:
            return Refusal("daily_chain_not_found", f"Daily chain {chain_id} not found.")
        window = kept.chain.window
        position = window.position(at)
        if position < 0:
            assert window.start is not None
            return Refusal("chain_not_started", f"The chain starts at {window.start.isoformat()}.")
        if position > 0:
            assert window.end is not None
            return Refusal("chain_ended", f"The chain ended at {window.end.isoformat()}.")
        return None

    def claim(
        self,
        chain_id: int,
        step_number: int,
        user: User,
        at: datetime,
        *,
        idempotency_key: str | None = None,
    ) -> Steps[Outcome]:
        """Claim step `step_number` of a daily chain for `user` at `at`: counted once, in
        order, at most once a day, or refused with a reason (LiveOps' 6201 / 6304 / 6306)."""
        check_stored_moment(at)
        check_count(chain_id, "chain_id")
        check_count(step_number, "step_number")
        user_id = self.user_id_of(user)
        if idempotency_key is not None:
            check_text(idempotency_key, "idempotency_key")
        ref = f"{self.kind}:{chain_id}"
        identity = json.dumps(["daily_claim", ref, user_id, step_number])
        if idempotency_key is not None:
            replayed = yield from self.recall(idempotency_key, identity)
            if replayed is not None:
                return replayed
        for _ in range(_CLAIM_TRIES):
            config, version = yield from self.last()
            kept = config.chains.get(chain_id)
            refusal = self._closed(chain_id, kept, at)
            if refusal is None:
                assert kept is not None
                if kept.chain.step(step_number) is None:
                    refusal = Refusal("chain_step_not_found", f"Step {step_number} not found.")
            if refusal is not None:
                _, current = yield from self.current()
                if current != version:  # decided on an old copy: ask the new one
                    continue
                return (yield from self._refused(ref, refusal, idempotency_key, identity))
            assert kept is not None
            key, cycle = self._key(kept, user_id, at)
            # Progress counters never hold: a range of one reads the key without settling
            # holds, one statement where `counter` is a transaction of its own.
            found = (yield from _counters(key)).get(key)
            progress = self._progress(kept.chain, 0 if found is None else found.used, cycle)
            plan = days.decide_claim(kept.chain, progress, step_number, at, key)
            if isinstance(plan, days.Refused):
                _, current = yield from self.current()
                if current != version:  # read by an old copy's keys: again
                    continue
                return (
                    yield from self._refused(
                        ref, Refusal(plan.code, plan.message), idempotency_key, identity
                    )
                )
            step = kept.chain.step(step_number)
            assert step is not None
            try:
                outcome = yield from self.count(
                    "daily_claim",
                    ref,
                    user_id,
                    at,
                    [CounterSpec(key, plan.expected + plan.quantity)],
                    version=version,
                    version_of=self.config_ref,
                    quantity=plan.quantity,
                    requires=[Requirement(key, plan.expected)],
                    items=step.items,
                    idempotency_key=idempotency_key,
                    identity=identity,
                    refusal=_lost,
                )
            except _Lost:
                continue  # another claim came first: decide again on what it left
            if outcome is None:
                self.forget()
                continue
            return outcome
        raise StoreError(f"daily chain {chain_id}'s progress kept changing during a claim")

    def _refused(
        self, ref: str, refusal: Refusal, key: str | None, identity: str
    ) -> Steps[Outcome]:
        """A refusal decided before counting; with an idempotency key, the first result of
        the same request if one was kept meanwhile (a retry racing its own success)."""
        if key is not None:
            replayed = yield from self.recall(key, identity)
            if replayed is not None:
                return replayed
        return Outcome(False, ref, refusal=refusal)

    # -- reading ------------------------------------------------------------------------------

    def _view(
        self, kept: Kept[DailyChain], user_id: str, at: datetime, values: dict[str, int]
    ) -> DailyChainView:
        key, cycle = self._key(kept, user_id, at)
        progress = self._progress(kept.chain, values.get(key, 0), cycle)
        states = days.step_states(kept.chain, progress, at)
        opens = days.next_claim(kept.chain, progress, states)
        return DailyChainView(kept.chain, tuple(states), opens)

    def player_chain(self, chain_id: int, user: User, at: datetime) -> Steps[DailyChainView]:
        """One chain as `user` sees it at `at`, ended or not started yet too (a disabled
        chain is hidden: AccountingError `daily_chain_not_found`, as an unknown one)."""
        check_stored_moment(at)
        user_id = self.user_id_of(user)
        kept = yield from self.kept(chain_id)
        if not kept.chain.enabled:
            raise self.not_found(chain_id)
        key, _ = self._key(kept, user_id, at)
        found = (yield from _counters(key)).get(key)
        return self._view(kept, user_id, at, {key: 0 if found is None else found.used})

    def player_chains(
        self, user: User, at: datetime, *, limit: int = _MAX_PAGE, offset: int = 0
    ) -> Steps[tuple[list[DailyChainView], int]]:
        """The running chains `user` sees at `at`, by `order` then id, `limit` (at most 50)
        from `offset`, and how many there are in all: two reads of the store however many
        chains (the configuration's version, and the player's counters as one range)."""
        check_stored_moment(at)
        check_count(limit, "limit", 1, _MAX_PAGE)
        check_count(offset, "offset", 0)
        user_id = self.user_id_of(user)
        config, _ = yield from self.current()
        live = sorted(
            (kept for kept in config.chains.values() if rules.running(kept.chain, at)),
            key=lambda kept: (kept.chain.order or 0, kept.chain.chain_id or 0),
        )
        page = live[offset : offset + limit]
        if not page:
            return [], len(live)
        prefix = days.daily_prefix(rules.key_part(user_id))
        values = {key: state.used for key, state in (yield from _counters(prefix)).items()}
        return [self._view(kept, user_id, at, values) for kept in page], len(live)


def _counters(prefix: str) -> Steps[dict[str, CounterState]]:
    """The counters whose keys start with `prefix` (one range read)."""
    counters: dict[str, CounterState] = yield call("counters_with_prefix", prefix)
    return counters


DAILY_CHAIN_OPERATIONS = (
    "create_chain",
    "update_chain",
    "toggle_chain",
    "reset_chain",
    "delete_chain",
    "chain",
    "chains",
    "kept",
    "current",
    "last",
    "claim",
    "player_chain",
    "player_chains",
    "count",
    "recall",
)
"""The public operations of `DailyChainSteps` that use the store: `DailyChains` runs each on
a RedemptionStore, `AsyncDailyChains` awaits each on an async store."""


class _Pure(LadderDriver[DailyChain]):
    """The daily chains' names, for both drivers."""

    steps: DailyChainSteps
    kind = DailyChainSteps.kind
    active_code = DailyChainSteps.active_code
    title = DailyChainSteps.title


class DailyChains(_Pure):
    """Daily chains of one store: the admin lifecycle, claims and views. Each operation runs
    `steps` (a DailyChainSteps) on `store`."""

    def __init__(self, store: RedemptionStore, *, new_id: Callable[[], str] | None = None) -> None:
        self.store = store
        self.steps = DailyChainSteps(new_id=new_id)

    create_chain = sync_operation(DailyChainSteps.create_chain)
    update_chain = sync_operation(DailyChainSteps.update_chain)
    toggle_chain = sync_operation(DailyChainSteps.toggle_chain)
    reset_chain = sync_operation(DailyChainSteps.reset_chain)
    delete_chain = sync_operation(DailyChainSteps.delete_chain)
    chain = sync_operation(DailyChainSteps.chain)
    chains = sync_operation(DailyChainSteps.chains)
    kept = sync_operation(DailyChainSteps.kept)
    current = sync_operation(DailyChainSteps.current)
    last = sync_operation(DailyChainSteps.last)
    claim = sync_operation(DailyChainSteps.claim)
    player_chain = sync_operation(DailyChainSteps.player_chain)
    player_chains = sync_operation(DailyChainSteps.player_chains)
    count = sync_operation(DailyChainSteps.count)
    recall = sync_operation(DailyChainSteps.recall)


class AsyncDailyChains(_Pure, OnAsyncStore):
    """`DailyChains`' operations as coroutines, against an async store (see
    `open_async_store`); `async with` closes the store on the way out. The decisions are the
    same steps (`DailyChainSteps`), awaited on the store instead of called."""

    def __init__(self, store: AsyncStore, *, new_id: Callable[[], str] | None = None) -> None:
        super().__init__(store)
        self.steps = DailyChainSteps(new_id=new_id)

    create_chain = async_operation(DailyChainSteps.create_chain)
    update_chain = async_operation(DailyChainSteps.update_chain)
    toggle_chain = async_operation(DailyChainSteps.toggle_chain)
    reset_chain = async_operation(DailyChainSteps.reset_chain)
    delete_chain = async_operation(DailyChainSteps.delete_chain)
    chain = async_operation(DailyChainSteps.chain)
    chains = async_operation(DailyChainSteps.chains)
    kept = async_operation(DailyChainSteps.kept)
    current = async_operation(DailyChainSteps.current)
    last = async_operation(DailyChainSteps.last)
    claim = async_operation(DailyChainSteps.claim)
    player_chain = async_operation(DailyChainSteps.player_chain)
    player_chains = async_operation(DailyChainSteps.player_chains)
    count = async_operation(DailyChainSteps.count)
    recall = async_operation(DailyChainSteps.recall)
