"""`liveops-rules demo`: a short, self-contained walk through the library on sample data."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from liveops_rules.accounting import Accounting, Outcome, check_ledger
from liveops_rules.catalog import Catalog
from liveops_rules.chains.daily import DailyChains
from liveops_rules.chains.offer import OfferChains
from liveops_rules.chains.reward import RewardChains
from liveops_rules.checkout import Checkout
from liveops_rules.errors import ValidationError
from liveops_rules.evaluate import evaluate
from liveops_rules.models import (
    IntervalType,
    Promotion,
    PromotionKind,
    RecurrentSchedule,
    RewardItem,
    User,
    ValidityWindow,
)
from liveops_rules.models.cart import Cart
from liveops_rules.models.chains import (
    ChainReward,
    RewardChain,
    RewardChainStep,
    ValuePoint,
    ValuePointReward,
)
from liveops_rules.models.daily import DailyChain, DailyChainStep
from liveops_rules.models.offer import OfferChain, OfferChainStep, OfferItem
from liveops_rules.pricing import Pricing, promo_codes_of
from liveops_rules.stores import RedemptionStore, SQLiteStore
from liveops_rules.wire import (
    load_cart,
    load_catalog_codes,
    load_promotion,
    load_user,
    read_json_file,
)

__all__ = ["run_demo"]

DEMO_MOMENT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def run_demo(catalog_path: Path, user_path: Path, out: TextIO) -> None:
    """Print the demo: load, explain, query the catalog, and show a validation error."""

    def say(text: str = "") -> None:
        out.write(text + "\n")

    promotions, codes = load_catalog_codes(read_json_file(catalog_path))
    user = load_user(read_json_file(user_path))
    catalog = Catalog(promotions)
    at = DEMO_MOMENT
    say(f"Loaded {len(promotions)} promotions from {catalog_path.name}.")
    say(f"Player {user.id} with attributes {dict(user.attributes)}")
    say(f"Deciding at {at.isoformat()} (time is always an argument; the engine has no clock).")
    say()

    say("1. Every promotion, eligible or not, with its reasons:")
    for decision in catalog.evaluate_all(user, at):
        promotion = decision.promotion
        verdict = "eligible" if decision.eligible else "not eligible"
        say(f"   {promotion.kind.value:<21} {promotion.key or '':<13} {verdict}")
        for reason in decision.reasons:
            say(f"      - {reason.code}: {reason.message}")
    say()

    say("2. The indexed catalog answers the same question without scanning every promotion:")
    coupons = catalog.eligible(user, at, kinds=[PromotionKind.COUPON])
    say(f"   coupons: {[p.key for p in coupons]}")
    discounts = catalog.eligible(user, at, kinds=[PromotionKind.ITEM_DISCOUNT])
    say(f"   item discounts: {[p.key for p in discounts]}")
    say()

    say("3. Personalized catalog: items each player sees.")
    for who in (user, User(None)):
        items = [item.sku or str(item.item_id) for item in catalog.visible_items(who, at)]
        say(f"   {who.id or 'anonymous player'}: {items}")
    say()

    vip = catalog.get(PromotionKind.COUPON, "vip_welcome")
    if vip is not None:
        gold = User(user.id, {**user.attributes, "tier": "gold"})
        say("4. Change one attribute and ask again:")
        say(f"   tier=silver → {evaluate(vip, user, at).eligible}")
        say(f"   tier=gold   → {evaluate(vip, gold, at).eligible}")
        say()

    say("5. Invalid payloads are refused with every problem and its JSON path:")
    broken = {
        "external_id": "spring sale",
        "name": {"en-US": "Spring"},
        "date_start": "2026-03-01T00:00:00+00:00",
        "date_end": "2026-02-01T00:00:00+00:00",
        "redeem_user_limit": 0,
        "attribute_conditions": [
            {"attribute": "level", "type": "number", "operator": "er", "value": "5"}
        ],
    }
    try:
        load_promotion(PromotionKind.COUPON, broken)
    except ValidationError as error:
        for problem in error.problems:
            say(f"   {problem}")

    say()
    cart = load_cart(read_json_file(catalog_path.parent / "cart.json"))
    _redemptions(promotions, codes, user, at, cart, say)


def _redemptions(
    promotions: list[Promotion],
    codes: dict[tuple[PromotionKind, str], tuple[str, ...]],
    user: User,
    at: datetime,
    cart: Cart,
    say: Callable[[str], None],
) -> None:
    say("6. Redeeming codes against limits, on the embedded SQLite store:")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "promotions.db"
        store = SQLiteStore(path)
        try:
            accounting = Accounting(store)
            added = accounting.import_catalog(promotions, codes).codes_added
            say(f"   imported {len(promotions)} promotions and {added} codes into {path.name}")

            def show(label: str, outcome: Outcome, verb: str = "redeemed") -> None:
                if outcome.ok:
                    items = ", ".join(f"{i.quantity} x {i.sku}" for i in outcome.items)
                    again = " (the first result, replayed)" if outcome.replayed else ""
                    say(f"   {label}: {verb} {outcome.promotion}: {items}{again}")
                else:
                    assert outcome.refusal is not None
                    refusal = outcome.refusal
                    say(f"   {label}: refused [{int(refusal.error_code)}] {refusal.message}")

            show("WINTER2026", accounting.redeem("WINTER2026", user, at, idempotency_key="order-1"))
            show("retry    ", accounting.redeem("WINTER2026", user, at, idempotency_key="order-1"))
            show("SNOWFALL ", accounting.redeem("SNOWFALL", user, at))
            show("NOSUCH   ", accounting.redeem("NOSUCH", user, at))
            held = accounting.reserve(user, at, hold=timedelta(minutes=15), code="CREATOR42")
            show("reserve  ", held, "held for checkout")
            if held.operation_id is not None:
                accounting.commit(held.operation_id, at + timedelta(minutes=2))
                say("   commit   : the checkout paid, the hold is now a redemption")
            state = accounting.user_limit("coupon:winter_gift", user.id or "", at)
            say(f"   winter_gift for {user.id}: {state.available} of {state.total} uses left")
            problems = check_ledger(store)
            entries = len(store.ledger())
            say(f"   ledger: {entries} entries; counters agree with it: {not problems}")
            say("")
            _checkout(promotions, codes, user, at, cart, accounting, say)
        finally:
            store.close()


def _checkout(
    promotions: list[Promotion],
    codes: dict[tuple[PromotionKind, str], tuple[str, ...]],
    user: User,
    at: datetime,
    cart: Cart,
    accounting: Accounting,
    say: Callable[[str], None],
) -> None:
    say("7. Pricing a cart: discounts stack, one promo code, limits held at checkout:")
    pricing = Pricing(promotions, codes=promo_codes_of(promotions, codes))
    for typed in ("BLACKFRIDAY", "NOSUCH"):
        quote = pricing.quote(cart, user, at, promo_code=typed)
        say(f"   with code {typed}: {quote.total_before} -> {quote.total} {quote.currency}")
        for line in quote.lines:
            if line.final_price is None:
                assert line.virtual_price is not None
                price = line.virtual_price
                say(f"      {line.sku} x{line.quantity}: {price.amount} {price.currency} each")
                continue
            taken = ", ".join(f"{a.kind.value} {a.id} -{a.amount}" for a in line.applied)
            say(f"      {line.sku} x{line.quantity}: {line.price} -> {line.final_price} ({taken})")
        for entry in quote.not_applied:
            why = "; ".join(r.message for r in entry.reasons)
            code = f" [{int(entry.error_code)}]" if entry.kind is PromotionKind.PROMO_CODE else ""
            say(f"      not applied: {entry.kind.value} {entry.id}{code}: {why}")
    checkout = pricing.checkout(
        accounting, cart, user, at, hold=timedelta(minutes=15), promo_code="BLACKFRIDAY"
    )
    held = ", ".join(f"{r.kind.value} {r.id} x{r.quantity}" for r in checkout.reservations)
    say(f"   checkout holds: {held}; paid, so committed")
    checkout.commit(accounting, at + timedelta(minutes=2))
    state = accounting.user_limit("discount:102", user.id or "", at)
    say(f"   discount 102 for {user.id}: {state.available} of {state.total} units left this week")
    say("")
    _reward_chain(checkout, user, at, accounting.store, say)
    say("")
    _ladders(user, at, accounting.store, say)


def _reward_chain(
    checkout: Checkout,
    user: User,
    at: datetime,
    store: RedemptionStore,
    say: Callable[[str], None],
) -> None:
    say("8. A reward chain: the paid order earns value points, steps unlock at their price:")
    chains = RewardChains(store)
    chains.put_value_point(ValuePoint(sku="snowflake", name={"en": "Snowflakes"}))
    chains.set_value_point_rewards(
        "snowflake", [ValuePointReward("elven_sword", 60), ValuePointReward("elven_shield", 25)]
    )
    ladder = chains.create_chain(
        RewardChain(
            name={"en": "Winter ladder"},
            window=ValidityWindow(at - timedelta(days=7), at + timedelta(days=30)),
            enabled=True,
            value_point="snowflake",
            steps=[
                RewardChainStep(name={"en": "Sled"}, price=100, rewards=[ChainReward("sled")]),
                RewardChainStep(name={"en": "Crown"}, price=500, rewards=[ChainReward("crown")]),
            ],
            recurrent_schedule=RecurrentSchedule(IntervalType.WEEKLY, day_of_week=1, hour=0),
        )
    )
    chain_id = ladder.chain_id or 0
    report = chains.earn_quote("demo-order-1", checkout, user, at)
    say(f"   the order earned {report.earned.get('snowflake', 0)} snowflakes")
    for step_id in (1, 1, 2):
        outcome = chains.claim(chain_id, step_id, user, at)
        if outcome.ok:
            items = ", ".join(f"{i.quantity} x {i.sku}" for i in outcome.items)
            say(f"   claim step {step_id}: {items}")
        else:
            assert outcome.refusal is not None
            refusal = outcome.refusal
            say(f"   claim step {step_id}: refused [{int(refusal.error_code)}] {refusal.message}")
    views, _ = chains.player_chains(user, at)
    for view in views:
        reset = "never" if view.reset_at is None else view.reset_at.isoformat()
        say(
            f"   {view.chain.name.best()}: {view.balance} snowflakes, steps claimed "
            f"{sorted(view.claimed)}, starts anew {reset}"
        )


def _ladders(user: User, at: datetime, store: RedemptionStore, say: Callable[[str], None]) -> None:
    say("9. A daily login chain (one claim a day) and an offer chain (free, then paid):")
    daily = DailyChains(store)
    logins = daily.create_chain(
        DailyChain(
            name={"en": "Login week"},
            window=ValidityWindow(at - timedelta(hours=1), None),
            enabled=True,
            type="rolling",
            steps=[
                DailyChainStep(step_number=n, items=[RewardItem(f"login_gift_{n}")])
                for n in (1, 2, 3)
            ],
        )
    )
    for step, moment in ((1, at), (2, at + timedelta(hours=1)), (2, at + timedelta(days=1))):
        outcome = daily.claim(logins.chain_id or 0, step, user, moment)
        shown = (
            ", ".join(f"{i.quantity} x {i.sku}" for i in outcome.items)
            if outcome.ok
            else f"refused [{int(outcome.refusal.error_code)}] {outcome.refusal.message}"
            if outcome.refusal is not None
            else "refused"
        )
        say(f"   {moment.isoformat()} claim step {step}: {shown}")
    offers = OfferChains(store, value_points=RewardChains(store))
    ladder = offers.create_chain(
        OfferChain(
            name={"en": "Starter offers"},
            window=ValidityWindow(at - timedelta(hours=1), None),
            enabled=True,
            steps=[
                OfferChainStep(step_number=1, is_free=True, items=[OfferItem("elven_shield")]),
                OfferChainStep(step_number=2, is_free=False, items=[OfferItem("elven_sword", 2)]),
            ],
        )
    )
    chain_id = ladder.chain_id or 0
    prices = {"elven_sword": Decimal("9.99"), "elven_shield": Decimal("4.99")}
    say(f"   free step 1 claimed: {offers.claim(chain_id, 1, user, at).ok}")
    order = offers.order(
        chain_id, 2, user, at, prices=prices, currency="USD", hold=timedelta(minutes=15)
    )
    total = "-" if order.quote is None else f"{order.quote.total} {order.quote.currency}"
    say(f"   step 2 ordered: {total}, held until paid")
    paid = offers.pay(order, user, at + timedelta(minutes=1))
    say(f"   paid: {', '.join(f'{i.quantity} x {i.sku}' for i in paid.items)}")
    balance = RewardChains(store).balance(1, user, at)
    say(f"   the winter ladder's balance is now {balance} snowflakes (steps earn as purchases)")
    view = offers.player_chain(chain_id, user, at)
    say(f"   next step: {view.next_step_number or 'none, the chain is done'}")
