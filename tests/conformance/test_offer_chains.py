"""Offer chains on every store, against `reference/chains.md` section 3: the ladder climbed in
order, free steps claimed and paid steps ordered (held, abandoned, expired, paid), step prices
and promotions, value points, recurrent and completion resets, toggle / update / delete, the
client view's OpenAPI shape, personalization, and racing players.

Every expectation is written from the reference, by hand: never by asking the library twice."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import jsonschema
import pytest

from liveops_rules import (
    Accounting,
    AccountingError,
    ChainConfigError,
    IntervalType,
    ItemDiscount,
    OfferChain,
    OfferChains,
    OfferChainStep,
    OfferItem,
    Pricing,
    PromotionLimits,
    RecurrentSchedule,
    StringCondition,
    User,
    ValidationError,
    ValidityWindow,
    check_ledger,
)
from liveops_rules.chains.reward import RewardChains
from liveops_rules.models.chains import (
    ChainReward,
    RewardChain,
    RewardChainStep,
    ValuePoint,
    ValuePointReward,
)

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)  # a Sunday
MONDAY = datetime(2026, 11, 23, tzinfo=UTC)  # the next weekly period starts here
NEXT_MONDAY = MONDAY + timedelta(weeks=1)
WEEKLY = RecurrentSchedule(IntervalType.WEEKLY, hour=0, day_of_week=1)
HOLD = timedelta(minutes=10)
D = Decimal
PLAYER = User("p1", {"tier": "gold"})
PRICES = {"sword": D("99.99"), "shield": D("5.00"), "gem": D("1.50")}

STEP_NOT_CLAIMABLE = 6306
CHAIN_NOT_FOUND = 6201
STEP_NOT_FOUND = 6304


def free(number: int, sku: str, quantity: int = 1) -> OfferChainStep:
    return OfferChainStep(step_number=number, is_free=True, items=[OfferItem(sku, quantity, 0)])


def paid(number: int, sku: str, quantity: int = 1) -> OfferChainStep:
    return OfferChainStep(step_number=number, is_free=False, items=[OfferItem(sku, quantity, 0)])


def offer_chain(**fields: Any) -> OfferChain:
    defaults: dict[str, Any] = {
        "name": {"en": "Winter offers"},
        "description": {"en": "Climb it"},
        "order": 1,
        "window": ValidityWindow(AT - timedelta(days=10), AT + timedelta(days=60)),
        "enabled": True,
        "steps": [free(1, "coin"), free(2, "chest"), free(3, "crown")],
    }
    return OfferChain(**{**defaults, **fields})


@pytest.fixture
def chains(store):
    return OfferChains(store)


def refused(outcome: Any) -> tuple[str, int]:
    """A refused outcome's (code, LiveOps error code)."""
    assert not outcome.ok, outcome
    return outcome.refusal.code, int(outcome.refusal.error_code)


def order(chains: OfferChains, chain_id: int, number: int, at: datetime = AT, **extra: Any):
    return chains.order(
        chain_id,
        number,
        extra.pop("user", PLAYER),
        at,
        prices=extra.pop("prices", PRICES),
        currency="USD",
        hold=HOLD,
        **extra,
    )


def step_ids(chain: OfferChain, *numbers: int) -> frozenset[int]:
    return frozenset(chain.steps[n - 1].step_id for n in numbers)


def claimed_flags(chains: OfferChains, chain_id: int, at: datetime = AT) -> list[bool]:
    view = chains.player_chain(chain_id, PLAYER, at)
    return [step["is_claimed"] for step in view.to_dict()["steps"]]


def ledger_events(store: Any, event: str, promotion: str) -> list[Any]:
    return [e for e in store.ledger() if e.event == event and e.promotion == promotion]


# -- the ladder ------------------------------------------------------------------------------


def test_the_ladder_is_climbed_in_order(chains, store):
    ladder = chains.create_chain(offer_chain())
    assert [s.step_id for s in ladder.steps] == [1, 2, 3]
    assert refused(chains.claim(ladder.chain_id, 2, PLAYER, AT)) == (
        "not_next_step",
        STEP_NOT_CLAIMABLE,
    )
    first = chains.claim(ladder.chain_id, 1, PLAYER, AT)
    assert first.ok
    assert [(i.sku, i.quantity) for i in first.items] == [("coin", 1)]
    assert refused(chains.claim(ladder.chain_id, 1, PLAYER, AT)) == (
        "step_claimed",
        STEP_NOT_CLAIMABLE,
    )
    assert refused(chains.claim(ladder.chain_id, 3, PLAYER, AT)) == (
        "not_next_step",
        STEP_NOT_CLAIMABLE,
    )
    assert refused(chains.claim(ladder.chain_id, 9, PLAYER, AT)) == (
        "chain_step_not_found",
        STEP_NOT_FOUND,
    )
    assert refused(chains.claim(99, 1, PLAYER, AT)) == ("offer_chain_not_found", CHAIN_NOT_FOUND)
    view = chains.player_chain(ladder.chain_id, PLAYER, AT)
    assert (view.progress.iteration, view.progress.done, view.progress.held) == (
        0,
        step_ids(ladder, 1),
        frozenset(),
    )
    assert view.next_step_number == 2
    assert chains.claim(ladder.chain_id, 2, PLAYER, AT).ok
    assert chains.claim(ladder.chain_id, 3, PLAYER, AT).ok
    assert claimed_flags(chains, ladder.chain_id) == [True, True, True]
    assert chains.player_chain(ladder.chain_id, PLAYER, AT).next_step_number is None
    other = User("p2")  # another player's climb is their own
    assert chains.player_chain(ladder.chain_id, other, AT).next_step_number == 1
    assert chains.claim(ladder.chain_id, 1, other, AT).ok
    assert check_ledger(store) == []


def test_free_steps_are_claimed_and_paid_steps_ordered(chains, store):
    ladder = chains.create_chain(
        offer_chain(
            steps=[
                paid(1, "sword"),
                OfferChainStep(step_number=2, is_free=True, items=[OfferItem("shield")]),
                paid(3, "unpriced"),  # not in the catalog's prices: paid, never free
                paid(4, "zero"),  # priced 0: free
            ]
        )
    )
    prices = {**PRICES, "zero": D("0")}
    assert refused(chains.claim(ladder.chain_id, 1, PLAYER, AT, prices=prices)) == (
        "wrong_endpoint",
        STEP_NOT_CLAIMABLE,
    )
    bought = order(chains, ladder.chain_id, 1, prices=prices)
    assert bought.ok
    assert chains.pay(bought, PLAYER, AT).ok
    wrong = order(chains, ladder.chain_id, 2, prices=prices)  # priced, but is_free
    assert refused(wrong.outcome) == ("wrong_endpoint", STEP_NOT_CLAIMABLE)
    assert chains.claim(ladder.chain_id, 2, PLAYER, AT, prices=prices).ok
    assert refused(chains.claim(ladder.chain_id, 3, PLAYER, AT, prices=prices)) == (
        "wrong_endpoint",
        STEP_NOT_CLAIMABLE,
    )
    with pytest.raises(ValidationError):  # an order needs the price of its items
        order(chains, ladder.chain_id, 3, prices=prices)
    third = order(chains, ladder.chain_id, 3, prices={**prices, "unpriced": D("2.50")})
    assert chains.pay(third, PLAYER, AT).ok
    assert refused(order(chains, ladder.chain_id, 4, prices=prices).outcome)[0] == (
        "wrong_endpoint"
    )
    assert chains.claim(ladder.chain_id, 4, PLAYER, AT, prices=prices).ok
    shown = chains.player_chain(ladder.chain_id, PLAYER, AT).to_dict(prices=prices, currency="USD")
    assert [s["is_free"] for s in shown["steps"]] == [False, True, False, True]
    assert [s["step_price"] is None for s in shown["steps"]] == [False, True, True, True]
    assert check_ledger(store) == []


def test_a_paid_step_is_held_while_ordered_and_open_again_once_abandoned(chains, store):
    ladder = chains.create_chain(offer_chain(steps=[paid(1, "sword", 2), paid(2, "shield")]))
    first = order(chains, ladder.chain_id, 1)
    assert first.ok
    assert first.expires_at == AT + HOLD
    view = chains.player_chain(ladder.chain_id, PLAYER, AT)
    assert (view.progress.done, view.progress.held) == (frozenset(), step_ids(ladder, 1))
    assert view.next_step_number == 1
    assert claimed_flags(chains, ladder.chain_id) == [False, False]  # held is not claimed
    assert refused(order(chains, ladder.chain_id, 1).outcome) == (
        "step_in_payment",
        STEP_NOT_CLAIMABLE,
    )
    assert refused(order(chains, ladder.chain_id, 2).outcome)[0] == "not_next_step"

    assert chains.abandon(first, PLAYER, AT) is True
    assert chains.abandon(first, PLAYER, AT) is False  # nothing held any more
    view = chains.player_chain(ladder.chain_id, PLAYER, AT)
    assert (view.progress.done, view.progress.held) == (frozenset(), frozenset())
    with pytest.raises(AccountingError):
        chains.pay(first, PLAYER, AT)  # an abandoned order cannot be paid
    assert chains.player_chain(ladder.chain_id, PLAYER, AT).progress.done == frozenset()

    second = order(chains, ladder.chain_id, 1)
    assert second.ok
    assert second.order_id != first.order_id
    paid_outcome = chains.pay(second, PLAYER, AT)
    assert paid_outcome.ok
    assert [(i.sku, i.quantity) for i in paid_outcome.items] == [("sword", 2)]
    view = chains.player_chain(ladder.chain_id, PLAYER, AT)
    assert (view.progress.done, view.progress.held) == (step_ids(ladder, 1), frozenset())
    assert view.next_step_number == 2
    assert refused(order(chains, ladder.chain_id, 1).outcome)[0] == "step_claimed"
    assert order(chains, ladder.chain_id, 2).ok
    assert check_ledger(store) == []


def test_an_order_left_to_expire_frees_the_step(chains):
    ladder = chains.create_chain(offer_chain(steps=[paid(1, "sword"), paid(2, "shield")]))
    assert order(chains, ladder.chain_id, 1).ok
    expired = AT + HOLD
    view = chains.player_chain(ladder.chain_id, PLAYER, expired)
    assert (view.progress.done, view.progress.held) == (frozenset(), frozenset())
    assert order(chains, ladder.chain_id, 1, expired).ok


def test_paying_an_expired_order_is_refused_and_completes_nothing(store):
    points = _value_points(store)
    chains = OfferChains(store, value_points=points)
    ladder = chains.create_chain(offer_chain(steps=[paid(1, "sword"), paid(2, "shield")]))
    late = order(chains, ladder.chain_id, 1)
    assert late.ok
    expired = AT + HOLD  # the hold ends at at + hold
    with pytest.raises(AccountingError) as raised:
        chains.pay(late, PLAYER, expired)
    assert raised.value.code == "reservation_expired"
    with pytest.raises(AccountingError):
        chains.pay(late.order_id, PLAYER, expired + timedelta(minutes=1))
    ref = f"offer_chain:{ladder.chain_id}/step/1"
    assert ledger_events(store, "commit", ref) == []
    assert [e.event for e in store.ledger() if e.promotion == ref] == ["reserve", "expire"]
    assert points.balance(_ladder_id(points), PLAYER, expired) == 0
    view = chains.player_chain(ladder.chain_id, PLAYER, expired)
    assert view.progress.done == frozenset()
    assert view.next_step_number == 1
    again = order(chains, ladder.chain_id, 1, expired)
    assert again.ok
    assert chains.pay(again, PLAYER, expired).ok
    assert chains.player_chain(ladder.chain_id, PLAYER, expired).next_step_number == 2
    assert check_ledger(store) == []


def test_pay_is_idempotent_and_an_order_id_is_paid_from_another_handle(store_factory):
    store = store_factory()
    shop, payments = OfferChains(store), OfferChains(store_factory())
    ladder = shop.create_chain(offer_chain(steps=[paid(1, "sword"), paid(2, "shield")]))
    made = order(shop, ladder.chain_id, 1, order_id="order-1")
    assert made.ok
    assert made.order_id == "order-1"
    retried = order(shop, ladder.chain_id, 1, order_id="order-1")  # the client retried
    assert retried.ok
    assert retried.outcome.operation_id == made.outcome.operation_id

    with pytest.raises(AccountingError):
        payments.pay("order-1", User("someone-else"), AT)
    with pytest.raises(AccountingError):
        payments.pay("order-never-made", PLAYER, AT)
    first = payments.pay("order-1", PLAYER, AT)
    assert first.ok
    assert not first.replayed
    again = shop.pay(made, PLAYER, AT + timedelta(hours=1))  # after the hold: still paid
    assert again.ok
    assert again.replayed
    assert payments.pay("order-1", PLAYER, AT).replayed
    assert shop.abandon(made, PLAYER, AT) is False  # a paid order stays paid
    ref = f"offer_chain:{ladder.chain_id}/step/1"
    assert len(ledger_events(store, "commit", ref)) == 1
    for handle in (shop, payments):
        view = handle.player_chain(ladder.chain_id, PLAYER, AT)
        assert (view.progress.done, view.next_step_number) == (step_ids(ladder, 1), 2)
    assert check_ledger(store) == []


# -- prices and promotions -------------------------------------------------------------------


def test_a_step_costs_its_items_price_times_quantity(chains):
    ladder = chains.create_chain(offer_chain(steps=[paid(1, "sword", 2), paid(2, "gem", 3)]))
    shown = chains.player_chain(ladder.chain_id, PLAYER, AT).to_dict(prices=PRICES, currency="USD")
    amounts = [
        (D(str(s["step_price"]["amount"])), s["step_price"]["currency"]) for s in shown["steps"]
    ]
    assert amounts == [(D("199.98"), "USD"), (D("4.50"), "USD")]
    made = order(chains, ladder.chain_id, 1)
    assert (made.quote.total_before, made.quote.total) == (D("199.98"), D("199.98"))
    assert made.quote.applied == ()
    assert [(line.sku, line.quantity) for line in made.quote.lines] == [("sword", 2)]
    assert made.checkout is None


def test_an_item_discount_on_the_steps_sku_prices_its_order(chains):
    ladder = chains.create_chain(offer_chain(steps=[paid(1, "sword", 2)]))
    discount = ItemDiscount(promotion_id=7, discount_percent="20", items=["sword"], enabled=True)
    made = order(chains, ladder.chain_id, 1, pricing=Pricing([discount]))
    assert made.quote.total_before == D("199.98")
    assert made.quote.total == D("159.98")  # 99.99 x 0.8 = 79.99 (to the cent) x 2
    shown = chains.player_chain(ladder.chain_id, PLAYER, AT).to_dict(prices=PRICES, currency="USD")
    assert D(str(shown["steps"][0]["step_price"]["amount"])) == D("199.98")  # discounts ignored


LIMITED = ItemDiscount(
    promotion_id=7,
    discount_percent="20",
    items=["sword"],
    limits=PromotionLimits(per_user=3),
    enabled=True,
)


def test_an_orders_checkout_holds_a_limited_discount_and_pay_commits_it(chains, store):
    accounting = Accounting(store)
    accounting.import_catalog([LIMITED], {})
    ladder = chains.create_chain(offer_chain(steps=[paid(1, "sword", 2), paid(2, "shield")]))
    prices = {"sword": D("10.00"), "shield": D("5.00")}
    pricing = Pricing([LIMITED])

    buyer = User("buyer")
    dropped = order(
        chains,
        ladder.chain_id,
        1,
        user=buyer,
        prices=prices,
        pricing=pricing,
        accounting=accounting,
    )
    assert dropped.quote.total == D("16.00")
    assert [(r.id, r.quantity) for r in dropped.checkout.reservations] == [("7", 2)]
    assert accounting.user_limit(LIMITED, "buyer", AT).available == 1
    with pytest.raises(ValidationError):
        chains.abandon(dropped, buyer, AT)  # its checkout needs the accounting it was made with
    assert chains.abandon(dropped, buyer, AT, accounting=accounting) is True
    assert accounting.user_limit(LIMITED, "buyer", AT).available == 3  # released with it

    made = order(chains, ladder.chain_id, 1, prices=prices, pricing=pricing, accounting=accounting)
    assert made.quote.total == D("16.00")
    assert accounting.user_limit(LIMITED, PLAYER.id, AT).available == 1
    with pytest.raises(ValidationError):
        chains.pay(made, PLAYER, AT)
    assert chains.pay(made, PLAYER, AT, accounting=accounting).ok
    assert chains.pay(made, PLAYER, AT, accounting=accounting).replayed
    later = AT + 3 * HOLD  # a hold would have expired by now: a commit stays
    assert accounting.user_limit(LIMITED, PLAYER.id, later).available == 1
    committed = {e.operation_id for e in store.ledger() if e.event == "commit"}
    assert set(made.checkout.operation_ids) <= committed
    assert chains.player_chain(ladder.chain_id, PLAYER, later).next_step_number == 2
    assert check_ledger(store) == []


def test_an_expired_orders_checkout_is_released_and_its_pay_refused(chains, store):
    accounting = Accounting(store)
    accounting.import_catalog([LIMITED], {})
    ladder = chains.create_chain(offer_chain(steps=[paid(1, "sword", 2)]))
    made = order(chains, ladder.chain_id, 1, pricing=Pricing([LIMITED]), accounting=accounting)
    assert accounting.user_limit(LIMITED, PLAYER.id, AT).available == 1
    expired = AT + HOLD
    with pytest.raises(AccountingError):
        chains.pay(made, PLAYER, expired, accounting=accounting)
    assert accounting.user_limit(LIMITED, PLAYER.id, expired).available == 3
    committed = {e.operation_id for e in store.ledger() if e.event == "commit"}
    assert committed.isdisjoint(made.checkout.operation_ids)
    assert committed.isdisjoint({made.outcome.operation_id})
    assert check_ledger(store) == []


# -- value points ----------------------------------------------------------------------------


def _value_points(store: Any, image_url: str | None = "https://cdn.example/snow.png"):
    """A value point `snow` (sword 30, shield 50 each) counted by one reward chain."""
    points = RewardChains(store)
    points.put_value_point(ValuePoint(sku="snow", name={"en": "Snowflakes"}, image_url=image_url))
    points.set_value_point_rewards(
        "snow", [ValuePointReward("sword", 30), ValuePointReward("shield", 50)]
    )
    points.create_chain(
        RewardChain(
            name={"en": "Snow ladder"},
            window=ValidityWindow(AT - timedelta(days=10), None),
            enabled=True,
            value_point="snow",
            steps=[
                RewardChainStep(name={"en": "Top"}, price=10_000, rewards=[ChainReward("chest")])
            ],
        )
    )
    return points


def _ladder_id(points: RewardChains) -> int:
    (ladder,) = points.chains()
    return ladder.chain_id


def test_steps_earn_their_value_points_once(store_factory):
    store = store_factory()
    points = _value_points(store)
    chains = OfferChains(store, value_points=points)
    ladder = chains.create_chain(
        offer_chain(steps=[free(1, "shield", 2), paid(2, "sword", 3), free(3, "coin")])
    )
    balance = _ladder_id(points)
    claimed = chains.claim(ladder.chain_id, 1, PLAYER, AT, prices=PRICES, idempotency_key="k1")
    assert claimed.ok
    assert points.balance(balance, PLAYER, AT) == 2 * 50
    retried = chains.claim(ladder.chain_id, 1, PLAYER, AT, prices=PRICES, idempotency_key="k1")
    assert retried.ok
    assert retried.replayed
    assert points.balance(balance, PLAYER, AT) == 100
    made = order(chains, ladder.chain_id, 2, order_id="order-2")
    assert points.balance(balance, PLAYER, AT) == 100  # an order earns nothing before it is paid
    assert chains.pay(made, PLAYER, AT).ok
    assert chains.pay(made, PLAYER, AT).replayed
    handle = store_factory()  # another machine's handle on the store
    elsewhere = OfferChains(handle, value_points=RewardChains(handle))
    assert elsewhere.pay("order-2", PLAYER, AT).replayed
    assert points.balance(balance, PLAYER, AT) == 100 + 3 * 30
    assert chains.claim(ladder.chain_id, 3, PLAYER, AT, prices=PRICES).ok  # maps to nothing
    assert points.balance(balance, PLAYER, AT) == 190

    mappings, texts = chains.value_point_texts()
    shown = chains.player_chain(ladder.chain_id, PLAYER, AT).to_dict(
        prices=PRICES, currency="USD", value_points=mappings, point_texts=texts
    )
    rewards = [
        None
        if s["step_vp_rewards"] is None
        else [(r["sku"], r["amount"]) for r in s["step_vp_rewards"]]
        for s in shown["steps"]
    ]
    assert rewards == [[("snow", 100)], [("snow", 90)], None]
    assert shown["steps"][0]["step_vp_rewards"][0]["name"] == "Snowflakes"
    assert check_ledger(store) == []


# -- resets ----------------------------------------------------------------------------------


def test_a_weekly_chain_starts_every_player_at_step_one_each_period(chains, store):
    ladder = chains.create_chain(offer_chain(recurrent_schedule=WEEKLY))
    for user in (PLAYER, User("p2")):
        assert chains.claim(ladder.chain_id, 1, user, AT).ok
    assert chains.claim(ladder.chain_id, 2, PLAYER, AT).ok
    view = chains.player_chain(ladder.chain_id, PLAYER, AT)
    assert view.reset_at == MONDAY
    schedule = view.to_dict()["recurrent_schedule"]
    assert schedule == {"interval_type": "weekly", "reset_next_date": int(MONDAY.timestamp())}
    just_before = MONDAY - timedelta(seconds=1)
    assert chains.player_chain(ladder.chain_id, PLAYER, just_before).next_step_number == 3

    for user in (PLAYER, User("p2")):
        view = chains.player_chain(ladder.chain_id, user, MONDAY)
        assert (view.progress.done, view.next_step_number) == (frozenset(), 1)
        assert view.to_dict()["recurrent_schedule"]["reset_next_date"] == int(
            NEXT_MONDAY.timestamp()
        )
    assert refused(chains.claim(ladder.chain_id, 2, PLAYER, MONDAY))[0] == "not_next_step"
    assert chains.claim(ladder.chain_id, 1, PLAYER, MONDAY).ok
    (listed,), total = chains.player_chains(PLAYER, MONDAY)
    assert total == 1
    assert (listed.progress.done, listed.next_step_number) == (step_ids(ladder, 1), 2)
    assert chains.player_chain(ladder.chain_id, PLAYER, AT).progress.done == step_ids(
        ladder, 1, 2
    )  # the last period is as it was
    assert check_ledger(store) == []


def test_a_chain_that_resets_on_completion_starts_again_after_its_last_step(chains, store):
    ladder = chains.create_chain(
        offer_chain(reset_on_completion=True, steps=[free(1, "coin"), paid(2, "sword")])
    )
    assert chains.claim(ladder.chain_id, 1, PLAYER, AT).ok
    assert chains.pay(order(chains, ladder.chain_id, 2), PLAYER, AT).ok
    view = chains.player_chain(ladder.chain_id, PLAYER, AT)
    assert (view.progress.iteration, view.progress.done, view.next_step_number) == (
        1,
        frozenset(),
        1,
    )
    assert refused(order(chains, ladder.chain_id, 2).outcome)[0] == "not_next_step"
    assert chains.claim(ladder.chain_id, 1, PLAYER, AT).ok
    view = chains.player_chain(ladder.chain_id, PLAYER, AT)
    assert (view.progress.iteration, view.progress.done) == (1, step_ids(ladder, 1))
    assert check_ledger(store) == []


def test_a_chain_without_reset_on_completion_stays_done(chains):
    ladder = chains.create_chain(offer_chain(steps=[free(1, "coin"), free(2, "chest")]))
    for number in (1, 2):
        assert chains.claim(ladder.chain_id, number, PLAYER, AT).ok
    view = chains.player_chain(ladder.chain_id, PLAYER, AT)
    assert (view.progress.iteration, view.next_step_number) == (0, None)
    assert view.to_dict()["next_step_number"] is None
    for number in (1, 2):
        assert refused(chains.claim(ladder.chain_id, number, PLAYER, AT))[1] == STEP_NOT_CLAIMABLE


def test_a_completed_chains_claims_are_refused_chain_completed(chains):
    ladder = chains.create_chain(offer_chain(steps=[free(1, "coin"), free(2, "chest")]))
    for number in (1, 2):
        assert chains.claim(ladder.chain_id, number, PLAYER, AT).ok
    assert refused(chains.claim(ladder.chain_id, 1, PLAYER, AT)) == (
        "chain_completed",
        STEP_NOT_CLAIMABLE,
    )


def test_a_reset_on_completion_chain_restarts_when_a_reordered_ladder_is_completed(chains):
    ladder = chains.create_chain(offer_chain(reset_on_completion=True))
    for number in (1, 2):
        assert chains.claim(ladder.chain_id, number, PLAYER, AT).ok
    chains.toggle_chain(ladder.chain_id)
    one, two, three = ladder.steps
    chains.update_chain(
        attrs.evolve(
            ladder,
            enabled=False,
            steps=[one, attrs.evolve(three, step_number=2), attrs.evolve(two, step_number=3)],
        )
    )
    chains.toggle_chain(ladder.chain_id)
    assert chains.player_chain(ladder.chain_id, PLAYER, AT).next_step_number == 2
    assert chains.claim(ladder.chain_id, 2, PLAYER, AT).ok  # every step is done now
    view = chains.player_chain(ladder.chain_id, PLAYER, AT)
    assert (view.progress.iteration, view.progress.done, view.next_step_number) == (
        1,
        frozenset(),
        1,
    )


# -- admin -----------------------------------------------------------------------------------


def test_a_toggled_off_chain_is_hidden_and_resumes_where_the_player_was(store_factory):
    admin, client = OfferChains(store_factory()), OfferChains(store_factory())
    ladder = admin.create_chain(offer_chain())
    assert client.claim(ladder.chain_id, 1, PLAYER, AT).ok
    assert admin.toggle_chain(ladder.chain_id).enabled is False
    assert client.player_chains(PLAYER, AT) == ([], 0)
    assert refused(client.claim(ladder.chain_id, 2, PLAYER, AT)) == (
        "offer_chain_not_found",
        CHAIN_NOT_FOUND,
    )
    assert refused(order(client, ladder.chain_id, 2).outcome)[1] == CHAIN_NOT_FOUND
    with pytest.raises(AccountingError) as hidden:
        client.player_chain(ladder.chain_id, PLAYER, AT)
    assert hidden.value.code == "offer_chain_not_found"
    assert admin.toggle_chain(ladder.chain_id).enabled is True
    view = client.player_chain(ladder.chain_id, PLAYER, AT)
    assert (view.progress.done, view.next_step_number) == (step_ids(ladder, 1), 2)
    assert client.claim(ladder.chain_id, 2, PLAYER, AT).ok


def test_an_update_waits_for_the_chain_to_be_disabled_and_keeps_progress_by_step_id(chains):
    ladder = chains.create_chain(offer_chain())
    assert chains.claim(ladder.chain_id, 1, PLAYER, AT).ok
    one, two, three = ladder.steps
    reordered = [
        attrs.evolve(two, step_number=1),
        attrs.evolve(one, step_number=2),
        free(3, "ring"),  # new: no id
    ]
    with pytest.raises(AccountingError) as active:
        chains.update_chain(attrs.evolve(ladder, steps=reordered))
    assert (active.value.code, int(active.value.error_code)) == ("chain_active", 6307)
    assert chains.chain(ladder.chain_id) == ladder  # unchanged
    assert chains.claim(ladder.chain_id, 2, PLAYER, AT).ok  # still the old ladder

    chains.toggle_chain(ladder.chain_id)
    with pytest.raises(ChainConfigError) as unknown:
        chains.update_chain(
            attrs.evolve(ladder, enabled=False, steps=[attrs.evolve(one, step_id=42)])
        )
    assert unknown.value.error_code == 6206
    updated = chains.update_chain(
        attrs.evolve(
            ladder,
            enabled=False,
            steps=[
                attrs.evolve(two, step_number=1),
                attrs.evolve(three, step_number=2),
                free(3, "ring"),
            ],
        )
    )
    # ids: two and three kept, one dropped, the new step gets an id never used (4)
    assert [s.step_id for s in updated.steps] == [2, 3, 4]
    chains.toggle_chain(ladder.chain_id)
    view = chains.player_chain(ladder.chain_id, PLAYER, AT)
    kept_ids = {step.step_id for step in updated.steps}
    assert view.progress.done & kept_ids == {2}  # step id 2 moved to number 1, still done
    assert claimed_flags(chains, ladder.chain_id) == [True, False, False]
    assert view.next_step_number == 2
    assert chains.claim(ladder.chain_id, 2, PLAYER, AT).ok  # step id 3
    assert chains.player_chain(ladder.chain_id, PLAYER, AT).next_step_number == 3  # new: open
    assert chains.claim(ladder.chain_id, 3, PLAYER, AT).ok


def test_a_reordering_update_moves_progress_with_the_steps(chains):
    ladder = chains.create_chain(offer_chain())
    assert chains.claim(ladder.chain_id, 1, PLAYER, AT).ok
    chains.toggle_chain(ladder.chain_id)
    one, two, three = ladder.steps
    chains.update_chain(
        attrs.evolve(
            ladder,
            enabled=False,
            steps=[
                attrs.evolve(two, step_number=1),
                attrs.evolve(three, step_number=2),
                attrs.evolve(one, step_number=3),
            ],
        )
    )
    chains.toggle_chain(ladder.chain_id)
    assert claimed_flags(chains, ladder.chain_id) == [False, False, True]
    assert chains.player_chain(ladder.chain_id, PLAYER, AT).next_step_number == 1
    assert refused(chains.claim(ladder.chain_id, 3, PLAYER, AT))[0] == "step_claimed"
    assert chains.claim(ladder.chain_id, 1, PLAYER, AT).ok
    assert chains.claim(ladder.chain_id, 2, PLAYER, AT).ok
    assert chains.player_chain(ladder.chain_id, PLAYER, AT).next_step_number is None


def test_a_deleted_chain_is_gone_and_its_id_never_given_again(chains, store):
    first = chains.create_chain(offer_chain())
    assert chains.claim(first.chain_id, 1, PLAYER, AT).ok
    chains.delete_chain(first.chain_id, AT)
    assert chains.chain(first.chain_id) is None
    assert refused(chains.claim(first.chain_id, 2, PLAYER, AT)) == (
        "offer_chain_not_found",
        CHAIN_NOT_FOUND,
    )
    assert chains.player_chains(PLAYER, AT) == ([], 0)
    with pytest.raises(AccountingError) as again:
        chains.delete_chain(first.chain_id, AT)
    assert again.value.code == "offer_chain_not_found"
    second = chains.create_chain(offer_chain())
    assert second.chain_id == first.chain_id + 1
    assert chains.player_chain(second.chain_id, PLAYER, AT).next_step_number == 1
    assert check_ledger(store) == []  # what was granted stays in the ledger


# -- who sees a chain ------------------------------------------------------------------------


def test_a_personalized_chain_is_seen_only_by_players_who_meet_its_conditions(chains):
    gold = chains.create_chain(offer_chain(conditions=[StringCondition("tier", "eq", "gold")]))
    everyone = chains.create_chain(offer_chain(name={"en": "Everyone"}))
    silver = User("p2", {"tier": "silver"})
    seen, total = chains.player_chains(PLAYER, AT)
    assert ({v.chain.chain_id for v in seen}, total) == ({gold.chain_id, everyone.chain_id}, 2)
    seen, total = chains.player_chains(silver, AT)
    assert ([v.chain.chain_id for v in seen], total) == ([everyone.chain_id], 1)
    assert refused(chains.claim(gold.chain_id, 1, silver, AT))[1] == CHAIN_NOT_FOUND
    assert chains.claim(gold.chain_id, 1, PLAYER, AT).ok
    assert chains.claim(everyone.chain_id, 1, silver, AT).ok


# -- the client view's shape -----------------------------------------------------------------

_SPEC = Path("/work/shared/reference/liveops-openapi.json")
_SKIP = {"nullable", "example", "examples", "x-enumDescriptions", "description", "default"}


def _as_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 as JSON Schema, as tests/spec/openapi.py reads it (`nullable` as the null
    type, `oneOf` as `anyOf` as tests/test_wire_chains.py does), but with `$ref`s kept for
    the validator to resolve: the offer chain item model is recursive, it cannot be
    inlined."""
    if isinstance(node, list):
        return [_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {
        ("anyOf" if k == "oneOf" else k): _as_json_schema(v)
        for k, v in node.items()
        if k not in _SKIP
    }
    if node.get("nullable") is True:
        if "type" in converted and "$ref" not in converted:
            types = converted["type"]
            converted["type"] = [*(types if isinstance(types, list) else [types]), "null"]
            if "enum" in converted:
                converted["enum"] = [*converted["enum"], None]
        else:
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


@pytest.fixture(scope="module")
def client_view_schema() -> jsonschema.Draft7Validator:
    if not _SPEC.is_file():
        pytest.skip("LiveOps' OpenAPI description not found")
    spec = json.loads(_SPEC.read_text())
    root = {
        "$ref": "#/components/schemas/client-offer-chain-model",
        "components": _as_json_schema(spec["components"]),
    }
    jsonschema.Draft7Validator.check_schema(root)
    return jsonschema.Draft7Validator(root)


def _errors(validator: jsonschema.Draft7Validator, document: Any) -> list[str]:
    found = validator.iter_errors(json.loads(json.dumps(document)))
    return [f"{list(e.absolute_path)}: {e.message}" for e in found]


def test_the_client_view_of_free_steps_fits_the_openapi_schema(store, client_view_schema):
    points = _value_points(store)
    chains = OfferChains(store, value_points=points)
    ladder = chains.create_chain(
        offer_chain(recurrent_schedule=WEEKLY, steps=[free(1, "shield", 2), free(2, "coin")])
    )
    assert chains.claim(ladder.chain_id, 1, PLAYER, AT).ok
    mappings, texts = chains.value_point_texts()
    shown = chains.player_chain(ladder.chain_id, PLAYER, AT).to_dict(
        prices=PRICES, currency="USD", value_points=mappings, point_texts=texts
    )
    assert _errors(client_view_schema, shown) == []
    assert "step_id" not in shown["steps"][0]  # the client view has no step ids
    assert (shown["id"], shown["name"], shown["next_step_number"]) == (
        ladder.chain_id,
        "Winter offers",
        2,
    )
    assert _errors(client_view_schema, {**shown, "next_step_number": "2"}) != []  # it checks


def test_the_client_view_of_a_paid_step_fits_the_openapi_schema(chains, client_view_schema):
    ladder = chains.create_chain(offer_chain(steps=[paid(1, "sword", 2)]))
    shown = chains.player_chain(ladder.chain_id, PLAYER, AT).to_dict(prices=PRICES, currency="USD")
    assert _errors(client_view_schema, shown) == []


def test_the_client_view_of_a_chain_without_orders_fits_the_openapi_schema(
    store, client_view_schema
):
    chains = OfferChains(store, value_points=_value_points(store, image_url=None))
    ladder = chains.create_chain(
        offer_chain(
            order=None,
            steps=[OfferChainStep(step_number=1, is_free=True, items=[OfferItem("shield")])],
        )
    )
    mappings, texts = chains.value_point_texts()
    shown = chains.player_chain(ladder.chain_id, PLAYER, AT).to_dict(
        value_points=mappings, point_texts=texts
    )
    assert _errors(client_view_schema, shown) == []


# -- races -----------------------------------------------------------------------------------


def _race(work: Callable[[int], Any], threads: int = 8) -> list[Any]:
    """Run `work(n)` in `threads` threads started together; their results, or the first
    error any raised."""
    results: list[Any] = [None] * threads
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            results[n] = work(n)
        except BaseException as error:
            errors.append(error)

    started = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in started), "a racing thread never ended"
    if errors:
        raise errors[0]
    return results


def test_racing_orders_of_one_paid_step_complete_it_once_per_period(store_factory):
    store = store_factory()
    ladder = OfferChains(store).create_chain(
        offer_chain(recurrent_schedule=WEEKLY, steps=[paid(1, "sword"), paid(2, "shield")])
    )
    handles = [OfferChains(store_factory()) for _ in range(8)]
    ref = f"offer_chain:{ladder.chain_id}/step/1"
    for period, at in enumerate((AT, MONDAY)):
        start = threading.Barrier(8, timeout=120)

        def buy(
            n: int, at: datetime = at, period: int = period, start: threading.Barrier = start
        ) -> tuple[bool, str | None]:
            mine = handles[n]
            start.wait()
            made = order(mine, ladder.chain_id, 1, at, order_id=f"race-{period}-{n}")
            if not made.ok:
                return False, made.outcome.refusal.code
            paid_outcome = mine.pay(made, PLAYER, at)
            assert mine.pay(made.order_id, PLAYER, at).replayed  # retried: once
            return paid_outcome.ok, None

        results = _race(buy)
        assert sorted(ok for ok, _ in results) == [False] * 7 + [True], results
        assert {code for ok, code in results if not ok} <= {"step_in_payment", "step_claimed"}
        view = OfferChains(store).player_chain(ladder.chain_id, PLAYER, at)
        assert (view.progress.done, view.progress.held) == (step_ids(ladder, 1), frozenset())
        assert view.next_step_number == 2
        commits = ledger_events(store, "commit", ref)
        assert len(commits) == period + 1
        assert check_ledger(store) == []


def test_racing_claims_of_one_free_step_grant_it_once(store_factory):
    store = store_factory()
    ladder = OfferChains(store).create_chain(offer_chain())
    handles = [OfferChains(store_factory()) for _ in range(8)]
    start = threading.Barrier(8, timeout=120)

    def claim(n: int) -> Any:
        mine = handles[n]
        start.wait()
        return mine.claim(ladder.chain_id, 1, PLAYER, AT)

    results = _race(claim)
    assert sorted(outcome.ok for outcome in results) == [False] * 7 + [True]
    assert {o.refusal.code for o in results if not o.ok} == {"step_claimed"}
    ref = f"offer_chain:{ladder.chain_id}/step/1"
    assert len(ledger_events(store, "redeem", ref)) == 1
    view = OfferChains(store).player_chain(ladder.chain_id, PLAYER, AT)
    assert (view.progress.done, view.next_step_number) == (step_ids(ladder, 1), 2)
    assert check_ledger(store) == []
