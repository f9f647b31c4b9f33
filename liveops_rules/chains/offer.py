"""Offer chains on a store: their configuration and each player's climb, step by step.

The rules (LiveOps' where it says, `reference/chains.md`'s defaults where it does not):
- a step can be taken when the chain is open to the player (running, and shown to them as a
  reward chain would be), every lower step is done in this iteration and the step is not;
  else 6306 (6304 for an unknown step, 6201 for a chain not open);
- a free step (`is_free`, or an item without a real price in the caller's catalog) is
  claimed; a paid one is ordered: its items are priced as a cart (at the caller's catalog
  prices, with the discounts that apply when a `Pricing` is given) and the step is held
  until `at + hold`, with the promotions' limits when an `Accounting` is given too. `pay`
  completes it (the order was paid), `abandon` gives it back (the step stays open); a hold
  left to expire gives it back too. Only one order of a step can be open at a time;
- each step completed earns the value points its items map to, as a purchase does, when the
  chains are given the store's `RewardChains`;
- a recurrent schedule starts every player at step 1 each period (counted per period, never
  by a background job); `reset_on_completion` starts a player again once the last step is
  done; a toggle keeps progress; an update keeps the progress of the steps that keep their
  `step_id`.

Counter keys (SCOPE `offer_chain:ID@GENERATION`, PERIOD the start of the recurrent period or
empty, ITER the iterations completed before): `o|USER|SCOPE|PERIOD|s|ITER|STEP_ID` a step
taken (limit 1, held while its order is open), `o|USER|SCOPE|PERIOD|n` the iterations
completed (chains that reset on completion).

Like the accounting engine, it is written as steps (see `accounting.steps`):
`OfferChainSteps` decides and yields its store calls (a checkout's and value points' too, on
the same store), `OfferChains` runs them on a RedemptionStore and `AsyncOfferChains` awaits
them on an async store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from liveops_rules.accounting import (
    Accounting,
    AccountingError,
    AccountingSteps,
    AsyncAccounting,
    Outcome,
    Refusal,
)
from liveops_rules.accounting.steps import (
    Steps,
    async_operation,
    call,
    run_steps,
    run_steps_async,
    sync_operation,
)
from liveops_rules.chains import rules
from liveops_rules.chains.documents import dump_offer_chain, load_offer_chain
from liveops_rules.chains.ladders import Kept, LadderDriver, Ladders
from liveops_rules.chains.reward import AsyncRewardChains, RewardChains, RewardChainSteps
from liveops_rules.checkout import Checkout, checkout_steps
from liveops_rules.errors import StoreError, ValidationError
from liveops_rules.models import User
from liveops_rules.models.cart import Cart, CartLine
from liveops_rules.models.offer import OfferChain, OfferChainStep
from liveops_rules.models.values import RewardItem
from liveops_rules.money import minor_units
from liveops_rules.pricing import Pricing, Quote
from liveops_rules.schedule import period_of, period_start
from liveops_rules.stores import (
    CounterSpec,
    CounterState,
    CountResult,
    RedemptionStore,
    SettleAction,
    SettleResult,
)
from liveops_rules.stores.bounds import check_count, check_stored_moment, check_text, hold_expiry
from liveops_rules.stores.calls import AsyncStore, OnAsyncStore
from liveops_rules.stores.protocol import IdempotencyConflict, Requirement

__all__ = [
    "OFFER_CHAIN_OPERATIONS",
    "AsyncOfferChains",
    "OfferChainSteps",
    "OfferChainView",
    "OfferChains",
    "OfferOrder",
    "OfferProgress",
    "checked_prices",
    "is_free",
    "step_price",
    "step_ref",
]

_MAX_PAGE = 30
_TRIES = 8
_NO_PRICING = Pricing(())


class _Lost(Exception):  # noqa: N818 - the name says what happened
    """Another operation changed the player's progress between the read and the count."""


def _lost(_: CountResult) -> Steps[Refusal]:
    """The refusal of a step's count: there is none, it lost a race (steps it never takes: it
    raises when called)."""
    raise _Lost


def _counters(prefix: str) -> Steps[dict[str, CounterState]]:
    """The counters whose keys start with `prefix` (one range read)."""
    counters: dict[str, CounterState] = yield call("counters_with_prefix", prefix)
    return counters


def _period(chain: OfferChain, at: datetime) -> str:
    schedule = chain.recurrent_schedule
    return "" if schedule is None else period_start(schedule, at).isoformat()


@attrs.frozen
class OfferProgress:
    """A player's place in one offer chain this period: the iteration (times the chain was
    completed and started again), the steps done in it and the steps held by open orders
    (by step id)."""

    iteration: int
    done: frozenset[int]
    held: frozenset[int]

    def next_step(self, chain: OfferChain) -> OfferChainStep | None:
        """The lowest step not done, or None when every step is."""
        return next((s for s in chain.steps if s.step_id not in self.done), None)


def step_ref(chain_id: int, step_number: int) -> str:
    """What the ledger names a step taken: its chain and number."""
    return f"offer_chain:{chain_id}/step/{step_number}"


def _of_ref(ref: str) -> tuple[int, int]:
    chain, _, number = ref.removeprefix("offer_chain:").partition("/step/")
    return int(chain), int(number)


def _without_none(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def _prefix(user_id: str, scope: str, at_period: str) -> str:
    return f"o|{rules.key_part(user_id)}|{scope}|{at_period}|"


def _step_key(prefix: str, iteration: int, step_id: int) -> str:
    return f"{prefix}s|{iteration}|{step_id}"


def _iterations_key(prefix: str) -> str:
    return f"{prefix}n"


def _read(counters: Mapping[str, CounterState], prefix: str) -> OfferProgress:
    iterations = counters.get(_iterations_key(prefix))
    iteration = 0 if iterations is None else iterations.used
    head = f"{prefix}s|{iteration}|"
    done, held = set(), set()
    for key, state in counters.items():
        if key.startswith(head):
            step_id = int(key[len(head) :])
            if state.used:
                done.add(step_id)
            elif state.reserved:
                held.add(step_id)
    return OfferProgress(iteration, frozenset(done), frozenset(held))


def checked_prices(prices: object, name: str = "prices") -> dict[str, Decimal] | None:
    """The caller's catalog prices (SKU -> a finite Decimal of 0 or more), or None."""
    if prices is None:
        return None
    if not isinstance(prices, Mapping):
        raise ValidationError.single(name, "a mapping of SKU to price", prices)
    checked = {}
    for sku, price in prices.items():
        check_text(sku, f"{name} key")
        if not isinstance(price, Decimal) or not price.is_finite() or price < 0:
            raise ValidationError.single(f"{name}[{sku!r}]", "a Decimal of 0 or more", price)
        checked[sku] = price
    return checked


def step_price(step: OfferChainStep, prices: Mapping[str, Decimal] | None) -> Decimal | None:
    """A step's price at the caller's catalog prices (the items' price x quantity), or None
    for a step marked `is_free` or one whose items are not all priced."""
    if step.is_free or prices is None:
        return None
    total = Decimal(0)
    for item in step.items:
        price = prices.get(item.sku)
        if price is None:
            return None
        total += price * item.quantity
    return total


def is_free(step: OfferChainStep, prices: Mapping[str, Decimal] | None) -> bool:
    """Whether a step is claimed rather than ordered: `is_free`, or every item priced at 0 in
    the caller's catalog `prices`. An item without a price is never free."""
    return step.is_free or step_price(step, prices) == 0


@attrs.frozen
class OfferChainView:
    """An offer chain as a player sees it at a moment: the steps done, the next step, when
    the period ends."""

    chain: OfferChain
    progress: OfferProgress
    reset_at: datetime | None

    @property
    def next_step_number(self) -> int | None:
        """The step the player can take next (None: the chain is done)."""
        step = self.progress.next_step(self.chain)
        return None if step is None else step.step_number

    def to_dict(
        self,
        *,
        prices: Mapping[str, Decimal] | None = None,
        currency: str | None = None,
        value_points: Mapping[str, Mapping[str, int]] | None = None,
        point_texts: Mapping[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The client view LiveOps answers: each step with `is_claimed`, its `step_price`
        (at `prices` in `currency`; null for a free step) and the value points it earns
        (`value_points`: value point SKU → item SKU → amount; `point_texts` their `name`,
        `image_url`, `is_clan`)."""
        prices = checked_prices(prices)
        if currency is not None:
            minor_units(currency)
        chain = self.chain
        steps = []
        for step in chain.steps:
            free = is_free(step, prices)
            price = None if free else step_price(step, prices)
            earned = []
            for sku, mapping in sorted((value_points or {}).items()):
                amount = sum(mapping.get(item.sku, 0) * item.quantity for item in step.items)
                if amount:
                    texts = (point_texts or {}).get(sku, {})
                    earned.append(_without_none({"sku": sku, "amount": amount, **texts}))
            steps.append(
                {
                    "step_number": step.step_number,
                    "is_free": free,
                    "is_claimed": step.step_id in self.progress.done,
                    # LiveOps' amount is a JSON number: a float's shortest repr keeps the
                    # decimal digits of any price below 10**15 with a currency's decimals.
                    "step_price": None
                    if price is None or currency is None
                    else {"amount": float(price), "currency": currency},
                    "items": [
                        _without_none(
                            {"sku": item.sku, "quantity": item.quantity, "order": item.order}
                        )
                        for item in step.items
                    ],
                    "step_vp_rewards": earned or None,
                    "step_loyalty_rewards": None,
                }
            )
        schedule = chain.recurrent_schedule
        view = {
            "id": chain.chain_id,
            "name": chain.name.best(),
            "description": chain.description.best() or None,
            "order": chain.order,
            "date_start": chain.window.start.isoformat() if chain.window.start else None,
            "date_end": chain.window.end.isoformat() if chain.window.end else None,
            "steps": steps,
            "recurrent_schedule": None
            if schedule is None or self.reset_at is None
            else {
                "interval_type": schedule.interval.value,
                "reset_next_date": int(self.reset_at.timestamp()),
            },
            "next_step_number": self.next_step_number,
        }
        if chain.order is None:
            del view["order"]  # LiveOps' order is an integer when given
        return view


@attrs.frozen
class OfferOrder:
    """An order of a paid step: its id, the step's hold (or why there is none), the priced
    cart, and the promotions' checkout when one was made. Pay it or abandon it."""

    order_id: str
    chain_id: int
    step_number: int
    outcome: Outcome
    quote: Quote | None = None
    checkout: Checkout | None = None
    expires_at: datetime | None = None

    @property
    def ok(self) -> bool:
        """Whether the step is held for this order."""
        return self.outcome.ok

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (`order_id` first, as LiveOps answers an order)."""
        return {
            "order_id": self.order_id,
            "chain_id": self.chain_id,
            "step_number": self.step_number,
            **self.outcome.to_dict(),
            "quote": None if self.quote is None else self.quote.to_dict(),
            "checkout": None if self.checkout is None else self.checkout.to_dict(),
            "expires_at": None if self.expires_at is None else self.expires_at.isoformat(),
        }


class OfferChainSteps(Ladders[OfferChain]):
    """Offer chains as steps (see the module for the rules); `OfferChains` and
    `AsyncOfferChains` drive them on a store. Give `value_points` (the steps of the store's
    reward chains) for steps to earn value points: they are earned on the same store."""

    kind = "offer_chain"
    active_code = "chain_active"
    title = "Offer chain"

    def __init__(
        self,
        *,
        value_points: RewardChainSteps | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(OfferChain, dump_offer_chain, load_offer_chain, new_id=new_id)
        if value_points is not None and not isinstance(value_points, RewardChainSteps):
            raise ValidationError.single(
                "value_points", "the store's RewardChainSteps", value_points
            )
        self.value_points = value_points

    # -- deciding -----------------------------------------------------------------------------

    def _open(
        self, chain_id: int, user: User, at: datetime, *, fresh: bool = False
    ) -> Steps[tuple[Kept[OfferChain], str | None] | Refusal]:
        """The chain as kept and the configuration's version, when the chain is open to
        `user` at `at` (decided on the current configuration when the copy loaded last
        says it is not)."""
        for again in (False, True):
            if fresh and not again:
                continue
            config, version = yield from (self.current() if again else self.last())
            kept = config.chains.get(chain_id)
            if kept is not None and rules.sees(kept.chain, user, at, config.every_chain):
                return kept, version
            if again or (yield from self.current())[1] == version:
                if kept is None:
                    return Refusal("offer_chain_not_found", f"Offer chain {chain_id} not found.")
                reasons = tuple(r.to_dict() for r in rules.chain_reasons(kept.chain, user, at))
                message = str(reasons[0]["message"]) if reasons else "Not shown to this player."
                return Refusal("offer_chain_not_found", message, reasons)
        raise AssertionError("unreachable")

    def _progress(
        self, kept: Kept[OfferChain], user_id: str, at: datetime
    ) -> Steps[tuple[str, OfferProgress]]:
        prefix = _prefix(user_id, kept.scope(self.kind), _period(kept.chain, at))
        counters = yield from _counters(prefix)
        return prefix, (yield from self._current_holds(_read(counters, prefix), prefix, at))

    def _current_holds(
        self, progress: OfferProgress, prefix: str, at: datetime
    ) -> Steps[OfferProgress]:
        """`progress` without the holds that expired by `at` (a range read shows every hold
        not yet settled: each one seen is asked again, which gives back an expired one)."""
        if not progress.held:
            return progress
        held = set()
        for step_id in progress.held:
            key = _step_key(prefix, progress.iteration, step_id)
            state: CounterState = yield call("counter", key, at)
            if state.reserved:
                held.add(step_id)
        return attrs.evolve(progress, held=frozenset(held))

    @staticmethod
    def _decide(chain: OfferChain, progress: OfferProgress, step: OfferChainStep) -> Refusal | None:
        assert step.step_id is not None
        if step.step_id in progress.done:
            return Refusal("step_claimed", f"Step {step.step_number} is already done.")
        if step.step_id in progress.held:
            return Refusal(
                "step_in_payment", f"Step {step.step_number} has an open order: pay or abandon it."
            )
        following = progress.next_step(chain)
        if following is not None and following.step_number != step.step_number:
            return Refusal(
                "not_next_step",
                f"Step {step.step_number} is not the next step: step {following.step_number} is.",
            )
        return None

    def _plan(
        self, chain: OfferChain, progress: OfferProgress, step: OfferChainStep, prefix: str
    ) -> tuple[list[CounterSpec], list[Requirement]]:
        assert step.step_id is not None
        iteration = progress.iteration
        counters = [CounterSpec(_step_key(prefix, iteration, step.step_id), 1)]
        requires = []
        if step.step_number > 1:
            before = chain.steps[step.step_number - 2]
            assert before.step_id is not None
            requires.append(Requirement(_step_key(prefix, iteration, before.step_id), 1))
        elif iteration > 0:
            requires.append(Requirement(_iterations_key(prefix), iteration))
        others = {s.step_id for s in chain.steps} - {step.step_id}
        if chain.reset_on_completion and others <= progress.done:  # the last step left
            counters.append(CounterSpec(_iterations_key(prefix), iteration + 1))
        return counters, requires

    def _take(
        self,
        operation: str,
        chain_id: int,
        step_number: int,
        user: User,
        at: datetime,
        *,
        free: Callable[[OfferChainStep], bool],
        hold: timedelta | None,
        key: str | None,
        identity: str,
    ) -> Steps[tuple[Outcome, str | None]]:
        """Claim (hold None) or hold a step: decided on a read of the player's progress,
        counted as one atomic step that checks the read still holds. With the outcome, the
        key of the step's counter (None for a replay or a refusal)."""
        user_id = self.user_id_of(user)
        ref = step_ref(chain_id, step_number)
        if key is not None:
            replayed = yield from self.recall(key, identity)
            if replayed is not None:
                return replayed, None
        for _ in range(_TRIES):
            opened = yield from self._open(chain_id, user, at)
            if isinstance(opened, Refusal):
                return (yield from self._refused(ref, opened, key, identity)), None
            kept, version = opened
            chain = kept.chain
            step = chain.step(step_number)
            refusal = None
            if step is None:
                refusal = Refusal("chain_step_not_found", f"Step {step_number} not found.")
            elif free(step) != (hold is None):
                wanted = "claimed" if free(step) else "ordered"
                refusal = Refusal(
                    "wrong_endpoint",
                    f"Step {step_number} is {'free' if free(step) else 'paid'}: it is {wanted}.",
                )
            if refusal is None:
                assert step is not None
                prefix, progress = yield from self._progress(kept, user_id, at)
                refusal = (
                    Refusal("chain_completed", "Every step of the chain is done.")
                    if progress.next_step(chain) is None
                    else self._decide(chain, progress, step)
                )
            if refusal is not None:
                if (yield from self.current())[1] != version:  # decided on an old copy: again
                    continue
                return (yield from self._refused(ref, refusal, key, identity)), None
            assert step is not None
            counters, requires = self._plan(chain, progress, step, prefix)
            try:
                outcome = yield from self.count(
                    operation,
                    ref,
                    user_id,
                    at,
                    counters,
                    version=version,
                    version_of=self.config_ref,
                    requires=requires,
                    items=tuple(RewardItem(i.sku, i.quantity) for i in step.items),
                    hold=hold,
                    idempotency_key=key,
                    identity=identity,
                    refusal=_lost,
                )
            except _Lost:
                continue
            if outcome is None:
                self.forget()
                continue
            return outcome, counters[0].key
        raise StoreError(f"offer chain {chain_id}'s progress kept changing")

    def _refused(
        self, ref: str, refusal: Refusal, key: str | None, identity: str
    ) -> Steps[Outcome]:
        if key is not None:
            replayed = yield from self.recall(key, identity)
            if replayed is not None:
                return replayed
        return Outcome(False, ref, refusal=refusal)

    def _earn(
        self, order_id: str, user: User, items: tuple[RewardItem, ...], at: datetime
    ) -> Steps[None]:
        """Credit the value points the step's items map to (once per order id)."""
        if self.value_points is not None and items:
            lines = [(i.sku, i.quantity) for i in items]
            yield from self.value_points.earn(order_id, user, lines, at)

    # -- a player's steps ---------------------------------------------------------------------

    def claim(
        self,
        chain_id: int,
        step_number: int,
        user: User,
        at: datetime,
        *,
        prices: Mapping[str, Decimal] | None = None,
        idempotency_key: str | None = None,
    ) -> Steps[Outcome]:
        """Claim a free step (LiveOps' `claim`): done at once, its items granted and its
        value points earned; the Outcome's `operation_id` is the order id. A step not marked
        `is_free` is free when `prices` (the caller's catalog) prices every one of its items
        at 0; otherwise it is paid: it is ordered."""
        check_stored_moment(at)
        check_count(chain_id, "chain_id")
        check_count(step_number, "step_number")
        user_id = self.user_id_of(user)
        checked = checked_prices(prices)
        if idempotency_key is not None:
            check_text(idempotency_key, "idempotency_key")
        identity = json.dumps(["offer_claim", step_ref(chain_id, step_number), user_id])
        outcome, _ = yield from self._take(
            "offer_claim",
            chain_id,
            step_number,
            user,
            at,
            free=lambda s: is_free(s, checked),
            hold=None,
            key=idempotency_key,
            identity=identity,
        )
        if outcome.ok and outcome.operation_id is not None:
            # Again on a replay: a first call that stopped before earning earns now (once).
            yield from self._earn(outcome.operation_id, user, outcome.items, at)
        return outcome

    def _cart(self, step: OfferChainStep, prices: Mapping[str, Decimal], currency: str) -> Cart:
        missing = [item.sku for item in step.items if item.sku not in prices]
        if missing:
            raise ValidationError.single(
                f"prices[{missing[0]!r}]", "the price of every item of the paid step", None
            )
        return Cart(
            currency=currency,
            lines=[
                CartLine(sku=i.sku, quantity=i.quantity, price=prices[i.sku]) for i in step.items
            ],
        )

    def order(
        self,
        chain_id: int,
        step_number: int,
        user: User,
        at: datetime,
        *,
        prices: Mapping[str, Decimal],
        currency: str,
        hold: timedelta,
        order_id: str | None = None,
        pricing: Pricing | None = None,
        accounting: AccountingSteps | None = None,
    ) -> Steps[OfferOrder]:
        """Order a paid step (LiveOps' `order`): its items priced as a cart at `prices` in
        `currency` (with `pricing`'s discounts when given), the step held until `at + hold`
        (with the limits of the promotions the cart applies when `accounting`, the steps of
        an accounting on the same store, is given too). Every input is checked and the cart
        priced before anything is held. A retry with the same `order_id` holds nothing twice
        and answers as the first call did."""
        check_stored_moment(at)
        check_count(chain_id, "chain_id")
        check_count(step_number, "step_number")
        user_id = self.user_id_of(user)
        if not isinstance(hold, timedelta) or hold <= timedelta(0):
            raise ValidationError.single("hold", "a positive timedelta", hold)
        hold_expiry(at, hold)
        checked = checked_prices(prices)
        if checked is None:
            raise ValidationError.single("prices", "a mapping of SKU to price", None)
        if pricing is not None and not isinstance(pricing, Pricing):
            raise ValidationError.single("pricing", "a Pricing", pricing)
        self._check_accounting(accounting)
        minor_units(currency)
        order = check_text(order_id, "order_id") if order_id is not None else self._new_id()
        kept = (yield from self.current())[0].chains.get(chain_id)
        step = None if kept is None else kept.chain.step(step_number)
        if step is not None and not is_free(step, checked):
            self._cart(step, checked, currency)  # a price the cart refuses fails here
        identity = json.dumps(["offer_order", order, user_id])
        outcome, step_key = yield from self._take(
            "offer_order",
            chain_id,
            step_number,
            user,
            at,
            free=lambda s: is_free(s, checked),
            hold=hold,
            key=f"offer|{order}",
            identity=identity,
        )
        if outcome.replayed and outcome.promotion != step_ref(chain_id, step_number):
            raise AccountingError(
                "idempotency_conflict", f"Order {order} was made for {outcome.promotion}."
            )
        if not outcome.ok:
            return OfferOrder(order, chain_id, step_number, outcome)
        assert outcome.operation_id is not None
        record = yield from self._record(order, identity)
        if outcome.replayed and record is not None:
            closed = yield from self._closed(record["key"], at)
            if closed is not None:
                return OfferOrder(order, chain_id, step_number, closed)
        try:
            kept = (yield from self.current())[0].chains.get(chain_id)
            step = None if kept is None else kept.chain.step(step_number)
            if step is None:
                raise AccountingError("offer_chain_not_found", f"Offer chain {chain_id} changed.")
            cart = self._cart(step, checked, currency)
            if accounting is not None:
                checkout = yield from checkout_steps(
                    pricing or _NO_PRICING, accounting, cart, user, at, hold=hold, order_id=order
                )
                quote = checkout.quote
            else:
                checkout, quote = None, (pricing or _NO_PRICING).quote(cart, user, at)
            if record is None:
                record = yield from self._keep_record(
                    order, identity, step_key, at + hold, checkout
                )
        except GeneratorExit:
            raise  # abandoned (a cancelled task): no more I/O; the hold expires at at + hold
        except BaseException:
            if not outcome.replayed:  # this call's hold: given back, the order failed
                yield call("settle", SettleAction.RELEASE, outcome.operation_id, at)
            raise
        expires = datetime.fromisoformat(record["expires_at"])
        return OfferOrder(order, chain_id, step_number, outcome, quote, checkout, expires)

    @staticmethod
    def _check_accounting(accounting: AccountingSteps | None) -> None:
        # The drivers check first that their Accounting (AsyncAccounting) is on their store.
        if accounting is not None and not isinstance(accounting, AccountingSteps):
            raise ValidationError.single("accounting", "an AccountingSteps", accounting)

    def _record(self, order: str, identity: str) -> Steps[dict[str, Any] | None]:
        """What was kept of an order once it was priced: its step's counter, when its holds
        expire, its checkout's reservations (None if the order stopped before)."""
        try:
            kept = yield call("recall", f"offer-order|{order}", identity)
        except IdempotencyConflict:
            raise AccountingError(
                "idempotency_conflict", f"Order {order} is another request's."
            ) from None
        return None if kept is None else dict(json.loads(kept))

    def _keep_record(
        self,
        order: str,
        identity: str,
        step_key: str | None,
        expires: datetime,
        checkout: Checkout | None,
    ) -> Steps[dict[str, Any]]:
        record = {
            "key": step_key,
            "expires_at": expires.isoformat(),
            "reservations": [] if checkout is None else list(checkout.operation_ids),
        }
        try:
            kept = yield call("remember", f"offer-order|{order}", identity, json.dumps(record))
        except IdempotencyConflict:
            raise AccountingError(
                "idempotency_conflict", f"Order {order} is another request's."
            ) from None
        return dict(json.loads(kept))

    def _closed(self, step_key: str | None, at: datetime) -> Steps[Outcome | None]:
        """The refusal of a replayed order whose step is neither held nor done any more."""
        if step_key is None:
            return None
        state: CounterState = yield call("counter", step_key, at)
        if state.reserved or state.used:
            return None
        refusal = Refusal(
            "order_closed",
            "The order was abandoned or its hold expired: order with a new order id.",
        )
        return Outcome(False, None, refusal=refusal)

    def _order_of(
        self, order: OfferOrder | str, user: User
    ) -> Steps[tuple[str, Outcome, dict[str, Any] | None]]:
        """An order's id, the step hold's outcome kept for it and its record, for the player
        who made it (AccountingError for another player's or an unknown order)."""
        order_id = order.order_id if isinstance(order, OfferOrder) else order
        check_text(order_id, "order_id")
        identity = json.dumps(["offer_order", order_id, self.user_id_of(user)])
        kept = yield from self.recall(f"offer|{order_id}", identity)
        if kept is None or not kept.ok or kept.operation_id is None:
            raise AccountingError(
                "unknown_operation", f"Order {order_id} of this player holds no step."
            )
        return order_id, kept, (yield from self._record(order_id, identity))

    def _settle_reservations(
        self,
        record: dict[str, Any] | None,
        accounting: AccountingSteps | None,
        commit: bool,
        at: datetime,
    ) -> Steps[None]:
        for operation_id in [] if record is None else record["reservations"]:
            assert accounting is not None
            if commit:
                yield from accounting.commit(operation_id, at)
            else:
                yield from accounting.release(operation_id, at)

    @staticmethod
    def _needs_accounting(
        record: dict[str, Any] | None, accounting: AccountingSteps | None
    ) -> None:
        if record is not None and record["reservations"] and accounting is None:
            raise ValidationError.single(
                "accounting", "the Accounting the order's checkout was made with", None
            )

    def pay(
        self,
        order: OfferOrder | str,
        user: User,
        at: datetime,
        *,
        accounting: AccountingSteps | None = None,
    ) -> Steps[Outcome]:
        """The order was paid: complete its step (the items held at order time granted,
        their value points earned) and commit its checkout (give the `accounting` it was made
        with; the order's id is enough). Idempotent. An order whose holds expired is refused
        (AccountingError) and nothing is completed."""
        check_stored_moment(at)
        self._check_accounting(accounting)
        order_id, held, record = yield from self._order_of(order, user)
        self._needs_accounting(record, accounting)
        assert held.operation_id is not None
        result: SettleResult = yield call("settle", SettleAction.COMMIT, held.operation_id, at)
        if not result.ok:
            yield from self._settle_reservations(record, accounting, False, at)
            state = "released" if result.status is None else result.status.value
            raise AccountingError(
                "reservation_expired", f"Order {order_id} cannot be paid: its step is {state}."
            )
        yield from self._settle_reservations(record, accounting, True, at)
        yield from self._earn(order_id, user, held.items, at)
        return Outcome(
            True, held.promotion, held.operation_id, held.items, replayed=not result.changed
        )

    def abandon(
        self,
        order: OfferOrder | str,
        user: User,
        at: datetime,
        *,
        accounting: AccountingSteps | None = None,
    ) -> Steps[bool]:
        """The order was not paid: give its step back (it stays open) and release its
        checkout (give the `accounting` it was made with). Idempotent; False when the step
        was not held any more (paid, abandoned or expired)."""
        check_stored_moment(at)
        self._check_accounting(accounting)
        _, held, record = yield from self._order_of(order, user)
        self._needs_accounting(record, accounting)
        assert held.operation_id is not None
        result: SettleResult = yield call("settle", SettleAction.RELEASE, held.operation_id, at)
        if result.changed:
            yield from self._settle_reservations(record, accounting, False, at)
        return result.changed

    # -- reading ------------------------------------------------------------------------------

    def player_chains(
        self, user: User, at: datetime, *, limit: int = _MAX_PAGE, offset: int = 0
    ) -> Steps[tuple[list[OfferChainView], int]]:
        """The chains `user` sees at `at` (as reward chains are shown), `limit` (at most 30)
        from `offset`, each with the player's progress; and how many there are in all. Two
        reads of the store however many chains."""
        check_stored_moment(at)
        check_count(limit, "limit", 1, _MAX_PAGE)
        check_count(offset, "offset", 0)
        user_id = self.user_id_of(user)
        config, _ = yield from self.current()
        visible = rules.visible_chains(config.every_chain(), user, at)
        page = visible[offset : offset + limit]
        if not page:
            return [], len(visible)
        mine = yield from _counters(f"o|{rules.key_part(user_id)}|")
        views = []
        for chain in page:
            kept = config.chains[chain.chain_id or 0]
            prefix = _prefix(user_id, kept.scope(self.kind), _period(chain, at))
            schedule = chain.recurrent_schedule
            reset_at = None if schedule is None else period_of(schedule, at)[1]
            progress = yield from self._current_holds(_read(mine, prefix), prefix, at)
            views.append(OfferChainView(chain, progress, reset_at))
        return views, len(visible)

    def player_chain(self, chain_id: int, user: User, at: datetime) -> Steps[OfferChainView]:
        """One chain with `user`'s progress at `at` (AccountingError when it is not open to
        the player)."""
        check_stored_moment(at)
        check_count(chain_id, "chain_id")
        user_id = self.user_id_of(user)
        opened = yield from self._open(chain_id, user, at, fresh=True)
        if isinstance(opened, Refusal):
            raise AccountingError(opened.code, opened.message)
        kept, _ = opened
        _, progress = yield from self._progress(kept, user_id, at)
        schedule = kept.chain.recurrent_schedule
        reset_at = None if schedule is None else period_of(schedule, at)[1]
        return OfferChainView(kept.chain, progress, reset_at)

    def value_point_texts(
        self,
    ) -> Steps[tuple[dict[str, dict[str, int]], dict[str, dict[str, Any]]]]:
        """For `OfferChainView.to_dict`: each value point's item mapping and its texts (empty
        without `value_points`)."""
        if self.value_points is None:
            return {}, {}
        mappings, texts = {}, {}
        for point in (yield from self.value_points.value_points()):
            rewards = yield from self.value_points.value_point_rewards(point.sku)
            mappings[point.sku] = {r.sku: r.amount for r in rewards}
            texts[point.sku] = {
                "name": point.name.best(),
                "image_url": point.image_url,
                "is_clan": point.is_clan,
            }
        return mappings, texts


OFFER_CHAIN_OPERATIONS = (
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
    "order",
    "pay",
    "abandon",
    "player_chains",
    "player_chain",
    "value_point_texts",
    "count",
    "recall",
)
"""The public operations of `OfferChainSteps` that use the store: `OfferChains` runs each on
a RedemptionStore, `AsyncOfferChains` awaits each on an async store."""


def _accounting_steps(accounting: object, kind: type, store: object) -> AccountingSteps | None:
    """The steps of `accounting`, an Accounting (AsyncAccounting: `kind`) on `store`."""
    if accounting is None:
        return None
    if not isinstance(accounting, kind):
        raise ValidationError.single("accounting", f"an {kind.__name__}", accounting)
    if accounting.store is not store:  # type: ignore[attr-defined]
        raise ValidationError.single("accounting", f"an {kind.__name__} on this store", accounting)
    steps: AccountingSteps = accounting.steps  # type: ignore[attr-defined]
    return steps


class _Pure(LadderDriver[OfferChain]):
    """The offer chains' names, for both drivers."""

    steps: OfferChainSteps
    kind = OfferChainSteps.kind
    active_code = OfferChainSteps.active_code
    title = OfferChainSteps.title


class OfferChains(_Pure):
    """Offer chains of one store (see the module for the rules). Give `value_points` (the
    store's RewardChains) for steps to earn value points. Each operation runs `steps` (an
    OfferChainSteps) on `store`."""

    def __init__(
        self,
        store: RedemptionStore,
        *,
        value_points: RewardChains | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        if value_points is not None and not isinstance(value_points, RewardChains):
            raise ValidationError.single("value_points", "the store's RewardChains", value_points)
        if value_points is not None and value_points.store is not store:
            # its steps run on this store: another store's balances would never be credited
            raise ValidationError.single(
                "value_points", "a RewardChains on this store", "one on another store"
            )
        self.store = store
        self.value_points = value_points
        self.steps = OfferChainSteps(
            value_points=None if value_points is None else value_points.steps, new_id=new_id
        )

    create_chain = sync_operation(OfferChainSteps.create_chain)
    update_chain = sync_operation(OfferChainSteps.update_chain)
    toggle_chain = sync_operation(OfferChainSteps.toggle_chain)
    reset_chain = sync_operation(OfferChainSteps.reset_chain)
    delete_chain = sync_operation(OfferChainSteps.delete_chain)
    chain = sync_operation(OfferChainSteps.chain)
    chains = sync_operation(OfferChainSteps.chains)
    kept = sync_operation(OfferChainSteps.kept)
    current = sync_operation(OfferChainSteps.current)
    last = sync_operation(OfferChainSteps.last)
    claim = sync_operation(OfferChainSteps.claim)
    player_chains = sync_operation(OfferChainSteps.player_chains)
    player_chain = sync_operation(OfferChainSteps.player_chain)
    value_point_texts = sync_operation(OfferChainSteps.value_point_texts)
    count = sync_operation(OfferChainSteps.count)
    recall = sync_operation(OfferChainSteps.recall)

    def order(
        self,
        chain_id: int,
        step_number: int,
        user: User,
        at: datetime,
        *,
        prices: Mapping[str, Decimal],
        currency: str,
        hold: timedelta,
        order_id: str | None = None,
        pricing: Pricing | None = None,
        accounting: Accounting | None = None,
    ) -> OfferOrder:
        """Order a paid step (LiveOps' `order`): its items priced as a cart at `prices` in
        `currency` (with `pricing`'s discounts when given), the step held until `at + hold`
        (with the limits of the promotions the cart applies when `accounting`, an Accounting
        on this store, is given too). Every input is checked and the cart priced before
        anything is held. A retry with the same `order_id` holds nothing twice and answers as
        the first call did."""
        steps = self.steps.order(
            chain_id,
            step_number,
            user,
            at,
            prices=prices,
            currency=currency,
            hold=hold,
            order_id=order_id,
            pricing=pricing,
            accounting=_accounting_steps(accounting, Accounting, self.store),
        )
        return run_steps(steps, self.store)

    def pay(
        self,
        order: OfferOrder | str,
        user: User,
        at: datetime,
        *,
        accounting: Accounting | None = None,
    ) -> Outcome:
        """The order was paid: complete its step (the items held at order time granted,
        their value points earned) and commit its checkout (give the `accounting` it was made
        with; the order's id is enough). Idempotent. An order whose holds expired is refused
        (AccountingError) and nothing is completed."""
        checked = _accounting_steps(accounting, Accounting, self.store)
        return run_steps(self.steps.pay(order, user, at, accounting=checked), self.store)

    def abandon(
        self,
        order: OfferOrder | str,
        user: User,
        at: datetime,
        *,
        accounting: Accounting | None = None,
    ) -> bool:
        """The order was not paid: give its step back (it stays open) and release its
        checkout (give the `accounting` it was made with). Idempotent; False when the step
        was not held any more (paid, abandoned or expired)."""
        checked = _accounting_steps(accounting, Accounting, self.store)
        return run_steps(self.steps.abandon(order, user, at, accounting=checked), self.store)


class AsyncOfferChains(_Pure, OnAsyncStore):
    """`OfferChains`' operations as coroutines, against an async store (see
    `open_async_store`); `async with` closes the store on the way out. The decisions are the
    same steps (`OfferChainSteps`), awaited on the store instead of called. `value_points`
    is the store's AsyncRewardChains; an order's `accounting` an AsyncAccounting on the same
    store."""

    def __init__(
        self,
        store: AsyncStore,
        *,
        value_points: AsyncRewardChains | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(store)
        if value_points is not None and not isinstance(value_points, AsyncRewardChains):
            raise ValidationError.single(
                "value_points", "the store's AsyncRewardChains", value_points
            )
        if value_points is not None and value_points.store is not store:
            # its steps run on this store: another store's balances would never be credited
            raise ValidationError.single(
                "value_points", "an AsyncRewardChains on this store", "one on another store"
            )
        self.value_points = value_points
        self.steps = OfferChainSteps(
            value_points=None if value_points is None else value_points.steps, new_id=new_id
        )

    create_chain = async_operation(OfferChainSteps.create_chain)
    update_chain = async_operation(OfferChainSteps.update_chain)
    toggle_chain = async_operation(OfferChainSteps.toggle_chain)
    reset_chain = async_operation(OfferChainSteps.reset_chain)
    delete_chain = async_operation(OfferChainSteps.delete_chain)
    chain = async_operation(OfferChainSteps.chain)
    chains = async_operation(OfferChainSteps.chains)
    kept = async_operation(OfferChainSteps.kept)
    current = async_operation(OfferChainSteps.current)
    last = async_operation(OfferChainSteps.last)
    claim = async_operation(OfferChainSteps.claim)
    player_chains = async_operation(OfferChainSteps.player_chains)
    player_chain = async_operation(OfferChainSteps.player_chain)
    value_point_texts = async_operation(OfferChainSteps.value_point_texts)
    count = async_operation(OfferChainSteps.count)
    recall = async_operation(OfferChainSteps.recall)

    async def order(
        self,
        chain_id: int,
        step_number: int,
        user: User,
        at: datetime,
        *,
        prices: Mapping[str, Decimal],
        currency: str,
        hold: timedelta,
        order_id: str | None = None,
        pricing: Pricing | None = None,
        accounting: AsyncAccounting | None = None,
    ) -> OfferOrder:
        """`OfferChains.order`, awaited (`accounting` an AsyncAccounting on this store)."""
        steps = self.steps.order(
            chain_id,
            step_number,
            user,
            at,
            prices=prices,
            currency=currency,
            hold=hold,
            order_id=order_id,
            pricing=pricing,
            accounting=_accounting_steps(accounting, AsyncAccounting, self.store),
        )
        return await run_steps_async(steps, self.store)

    async def pay(
        self,
        order: OfferOrder | str,
        user: User,
        at: datetime,
        *,
        accounting: AsyncAccounting | None = None,
    ) -> Outcome:
        """`OfferChains.pay`, awaited (`accounting` an AsyncAccounting on this store)."""
        checked = _accounting_steps(accounting, AsyncAccounting, self.store)
        return await run_steps_async(
            self.steps.pay(order, user, at, accounting=checked), self.store
        )

    async def abandon(
        self,
        order: OfferOrder | str,
        user: User,
        at: datetime,
        *,
        accounting: AsyncAccounting | None = None,
    ) -> bool:
        """`OfferChains.abandon`, awaited (`accounting` an AsyncAccounting on this store)."""
        checked = _accounting_steps(accounting, AsyncAccounting, self.store)
        return await run_steps_async(
            self.steps.abandon(order, user, at, accounting=checked), self.store
        )
