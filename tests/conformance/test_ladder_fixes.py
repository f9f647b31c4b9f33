"""Daily and offer chains: what a review of their first version found, each on every store
(or in the pure rules when no store is involved): paid steps never claimed for nothing, pay
grants what was ordered to whom ordered it, an order's checkout settled by the order's id,
checks before writes, stale handles, replays."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

from liveops_rules import (
    Accounting,
    AccountingError,
    DailyChain,
    DailyChains,
    DailyChainStep,
    OfferChains,
    Pricing,
    RewardItem,
    User,
    ValidationError,
    ValidityWindow,
    check_ledger,
)
from tests.conformance.test_offer_chains import (
    AT,
    HOLD,
    LIMITED,
    PLAYER,
    _ladder_id,
    _value_points,
    free,
    offer_chain,
    order,
    paid,
)
from tests.test_cli_chains import run

D = Decimal
DAY = timedelta(days=1)


def daily(kind: str, steps: int, **fields: Any) -> DailyChain:
    return DailyChain(
        name={"en": "Logins"},
        window=ValidityWindow(AT - timedelta(hours=1), None),
        enabled=True,
        type=kind,
        steps=[
            DailyChainStep(step_number=n, items=[RewardItem(f"gift{n}")])
            for n in range(1, steps + 1)
        ],
        **fields,
    )


# -- free or paid ---------------------------------------------------------------------------


def test_a_paid_step_is_never_claimed_without_its_price(store):
    chains = OfferChains(store)
    ladder = chains.create_chain(offer_chain(steps=[free(1, "coin"), paid(2, "sword")]))
    assert chains.claim(ladder.chain_id, 1, PLAYER, AT).ok
    for prices in (None, {}, {"coin": D(1)}):  # no price for the sword: not free
        refusal = chains.claim(ladder.chain_id, 2, PLAYER, AT, prices=prices).refusal
        assert refusal is not None
        assert refusal.code == "wrong_endpoint"
    assert chains.claim(ladder.chain_id, 2, PLAYER, AT, prices={"sword": D(0)}).ok  # priced 0
    with pytest.raises(ValidationError) as unpriced:  # an order needs every item's price
        order(chains, ladder.chain_id, 2, prices={"coin": D(1)})
    assert unpriced.value.problems[0].path == "prices['sword']"


def test_the_cli_claims_no_paid_step_without_prices(tmp_path):
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    catalog = tmp_path / "catalog.json"
    steps = [
        {"step_number": 1, "is_free": False, "items": [{"sku": "sword", "quantity": 1}]},
    ]
    ladder = {"name": {"en": "Paid"}, "date_start": "2026-11-01T00:00:00+00:00", "is_enabled": True}
    catalog.write_text(json.dumps({"offer_chains": [{**ladder, "steps": steps}]}))
    user = tmp_path / "user.json"
    user.write_text('{"id": "p1"}')
    assert run("offer-chains", "import", str(catalog), "--store", uri)[0] == 0
    player = ("--user", str(user), "--store", uri, "--at", AT.isoformat())
    status, out, _ = run("offer-chains", "claim", "1", "1", *player)
    assert status == 1
    assert "wrong_endpoint" in out
    status, out, _ = run("offer-chains", "show", "1", *player)
    assert "paid (no --price)" in out  # not shown free
    assert "free" not in out


@pytest.mark.parametrize(
    "prices",
    [{"sword": D("NaN")}, {"sword": D("sNaN")}, {"sword": "9.99"}, {"sword": 9.99}, ["sword"]],
)
def test_wrong_prices_are_refused_by_claims_orders_and_views(store, prices):
    chains = OfferChains(store)
    ladder = chains.create_chain(offer_chain(steps=[paid(1, "sword")]))
    with pytest.raises(ValidationError):
        chains.claim(ladder.chain_id, 1, PLAYER, AT, prices=prices)
    with pytest.raises(ValidationError):
        order(chains, ladder.chain_id, 1, prices=prices)
    view = chains.player_chain(ladder.chain_id, PLAYER, AT)
    with pytest.raises(ValidationError):
        view.to_dict(prices=prices, currency="USD")
    with pytest.raises(ValidationError):
        view.to_dict(currency="dollars")
    assert store.ledger() == []


# -- orders ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "currency"), [(D("0.001"), "USD"), (D("1.5"), "JPY"), (D("1e30"), "USD")]
)
def test_a_price_the_cart_refuses_fails_the_order_before_anything_is_held(store, price, currency):
    chains = OfferChains(store)
    ladder = chains.create_chain(offer_chain(steps=[paid(1, "sword")]))
    with pytest.raises(ValidationError):
        chains.order(
            ladder.chain_id, 1, PLAYER, AT, prices={"sword": price}, currency=currency,
            hold=HOLD, order_id="o-1",
        )  # fmt: skip
    assert store.ledger() == []
    made = order(chains, ladder.chain_id, 1, order_id="o-1")  # the order id is still free
    assert made.ok


def test_pay_grants_what_was_ordered_even_after_the_steps_change(store):
    chains = OfferChains(store)
    ladder = chains.create_chain(offer_chain(steps=[paid(1, "gem"), paid(2, "sword", 5)]))
    made = order(chains, ladder.chain_id, 1)
    chains.toggle_chain(ladder.chain_id)
    swapped = [
        attrs.evolve(ladder.steps[1], step_number=1),
        attrs.evolve(ladder.steps[0], step_number=2),
    ]
    chains.update_chain(attrs.evolve(ladder, enabled=False, steps=swapped))
    chains.toggle_chain(ladder.chain_id)
    paid_for = chains.pay(made, PLAYER, AT)
    assert list(paid_for.items) == [RewardItem("gem", 1)]
    # The gem's step (now number 2) is done; the sword's is the next.
    assert chains.player_chain(ladder.chain_id, PLAYER, AT).next_step_number == 1


def test_another_players_order_cannot_be_paid_or_abandoned(store):
    points = _value_points(store)
    chains = OfferChains(store, value_points=points)
    ladder = chains.create_chain(offer_chain(steps=[paid(1, "sword", 2)]))
    made = order(chains, ladder.chain_id, 1)
    other = User("p2")
    for settle in (chains.pay, chains.abandon):
        with pytest.raises(AccountingError):
            settle(made, other, AT)
    assert chains.player_chain(ladder.chain_id, PLAYER, AT).progress.held  # still held
    assert chains.pay(made, PLAYER, AT).ok
    assert points.balance(_ladder_id(points), PLAYER, AT) == 2 * 30
    assert points.balance(_ladder_id(points), other, AT) == 0


def test_pay_by_the_order_id_commits_the_orders_checkout(store_factory):
    store = store_factory()
    accounting = Accounting(store)
    accounting.import_catalog([LIMITED], {})
    chains = OfferChains(store)
    ladder = chains.create_chain(offer_chain(steps=[paid(1, "sword", 2), paid(2, "shield")]))
    prices = {"sword": D("10.00")}
    pricing = Pricing([LIMITED])
    made = order(chains, ladder.chain_id, 1, prices=prices, pricing=pricing, accounting=accounting)
    assert accounting.user_limit(LIMITED, PLAYER.id, AT).available == 1
    webhook = OfferChains(store_factory())  # another process, with the order's id alone
    with pytest.raises(ValidationError):
        webhook.pay(made.order_id, PLAYER, AT)  # its checkout needs the accounting
    other_accounting = Accounting(webhook.store)
    assert webhook.pay(made.order_id, PLAYER, AT, accounting=other_accounting).ok
    later = AT + 3 * HOLD
    assert accounting.user_limit(LIMITED, PLAYER.id, later).available == 1  # committed
    assert check_ledger(store) == []


def test_abandon_after_pay_answers_false_and_leaves_the_checkout_committed(store):
    accounting = Accounting(store)
    accounting.import_catalog([LIMITED], {})
    chains = OfferChains(store)
    ladder = chains.create_chain(offer_chain(steps=[paid(1, "sword", 2)]))
    made = order(
        chains, ladder.chain_id, 1, prices={"sword": D(10)}, pricing=Pricing([LIMITED]),
        accounting=accounting,
    )  # fmt: skip
    assert chains.pay(made, PLAYER, AT, accounting=accounting).ok
    assert chains.abandon(made, PLAYER, AT, accounting=accounting) is False
    assert accounting.user_limit(LIMITED, PLAYER.id, AT + 3 * HOLD).available == 1


def test_a_retried_order_answers_as_the_first_call(store):
    chains = OfferChains(store)
    ladder = chains.create_chain(offer_chain(reset_on_completion=True, steps=[paid(1, "sword")]))
    first = order(chains, ladder.chain_id, 1, order_id="o-1")
    retried = order(chains, ladder.chain_id, 1, at=AT + timedelta(minutes=5), order_id="o-1")
    assert retried.ok
    assert retried.expires_at == first.expires_at == AT + HOLD
    assert chains.pay(first, PLAYER, AT + timedelta(minutes=6)).ok
    # Paid, and the chain started again: a retry of the order still says it was made.
    again = order(chains, ladder.chain_id, 1, at=AT + timedelta(minutes=7), order_id="o-1")
    assert again.ok
    assert again.outcome.replayed
    assert chains.pay(again, PLAYER, AT + timedelta(minutes=7)).replayed


def test_a_retried_free_claim_earns_what_the_first_call_did_not(store, monkeypatch):
    points = _value_points(store)
    chains = OfferChains(store, value_points=points)
    ladder = chains.create_chain(offer_chain(steps=[free(1, "shield", 2)]))
    real_earn = points.steps.earn  # the chains earn through the reward chains' steps
    calls = {"n": 0}

    def failing_once(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("lost the store after counting")
        return real_earn(*args, **kwargs)

    monkeypatch.setattr(points.steps, "earn", failing_once)
    with pytest.raises(ConnectionError):
        chains.claim(ladder.chain_id, 1, PLAYER, AT, idempotency_key="k")
    retried = chains.claim(ladder.chain_id, 1, PLAYER, AT, idempotency_key="k")
    assert retried.ok
    assert retried.replayed
    assert points.balance(_ladder_id(points), PLAYER, AT) == 2 * 50
    chains.claim(ladder.chain_id, 1, PLAYER, AT, idempotency_key="k")
    assert points.balance(_ladder_id(points), PLAYER, AT) == 100  # once


# -- stale handles --------------------------------------------------------------------------


def test_a_stale_handle_answers_on_the_current_configuration(store_factory):
    admin, stale = OfferChains(store_factory()), OfferChains(store_factory())
    ladder = admin.create_chain(offer_chain(steps=[free(1, "coin")]))
    assert stale.claim(ladder.chain_id, 1, PLAYER, AT).ok  # the stale handle loads it

    def edit(steps: list[Any]) -> None:
        admin.toggle_chain(ladder.chain_id)
        admin.update_chain(attrs.evolve(ladder, enabled=True, steps=steps))

    edit([*admin.chain(ladder.chain_id).steps, free(2, "chest")])
    assert stale.claim(ladder.chain_id, 2, PLAYER, AT).ok  # not "step not found"
    edit([*admin.chain(ladder.chain_id).steps, paid(3, "sword")])
    assert order(stale, ladder.chain_id, 3).ok  # not "step not found" either
    edit([*admin.chain(ladder.chain_id).steps[:3], free(4, "gem")])
    assert stale.claim(ladder.chain_id, 4, PLAYER, AT).refusal.code == "not_next_step"
    priced = admin.create_chain(offer_chain(steps=[paid(1, "shield")]))
    assert stale.claim(priced.chain_id, 1, PLAYER, AT).refusal.code == "wrong_endpoint"
    admin.toggle_chain(priced.chain_id)
    admin.update_chain(attrs.evolve(priced, enabled=True, steps=[free(1, "shield")]))
    assert stale.claim(priced.chain_id, 1, PLAYER, AT).ok  # now free: claimed, not refused
    admin.delete_chain(ladder.chain_id, AT)
    with pytest.raises(AccountingError):
        stale.player_chain(ladder.chain_id, PLAYER, AT)


# -- daily chains ---------------------------------------------------------------------------


def test_a_daily_update_that_moves_the_grid_starts_progress_anew(store):
    chains = DailyChains(store)
    chain = chains.create_chain(daily("calendar_hard", 3, recurrent=True))
    assert chains.claim(chain.chain_id, 1, PLAYER, AT).ok
    chains.toggle_chain(chain.chain_id)
    renamed = chains.update_chain(attrs.evolve(chain, enabled=True, name={"en": "Renamed"}))
    view = chains.player_chain(chain.chain_id, PLAYER, AT)
    assert view.steps[0].status.value == "claimed"  # the same grid: progress kept
    chains.toggle_chain(chain.chain_id)
    more = [*renamed.steps, DailyChainStep(step_number=4, items=[RewardItem("gift4")])]
    chains.update_chain(attrs.evolve(renamed, enabled=True, steps=more))
    view = chains.player_chain(chain.chain_id, PLAYER, AT)
    assert view.steps[0].status.value == "claimable"  # other cycles: anew


def test_daily_chains_check_their_inputs_before_anything(store):
    chains = DailyChains(store)
    chain = chains.create_chain(daily("rolling", 2))
    for key in (["k"], "\ud800", ""):
        with pytest.raises(ValidationError):
            chains.claim(chain.chain_id, 1, PLAYER, AT, idempotency_key=key)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        chains.claim(chain.chain_id, 1, "p1", AT)  # type: ignore[arg-type]
    assert store.ledger() == []


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "right/UTC", "posix/Europe/Berlin"])
def test_a_day_zone_must_be_one_every_machine_knows(zone):
    with pytest.raises(ValidationError):
        daily("rolling", 1, day_zone=zone)


@pytest.mark.parametrize("steps", [5, 2.5, object()])
def test_steps_that_are_not_a_list_are_a_validation_error(steps):
    with pytest.raises(ValidationError):
        DailyChain(name={"en": "x"}, window=ValidityWindow(AT, None), type="rolling", steps=steps)
