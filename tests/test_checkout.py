"""Checkout failure paths and the negative control for its race (the store-independent part
of checkout runs over every store in tests/conformance/test_checkout.py)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveops_rules import (
    Accounting,
    AccountingError,
    Bonus,
    Cart,
    CartLine,
    InMemoryStore,
    ItemDiscount,
    Pricing,
    PromoCode,
    PromotionKind,
    PromotionLimits,
    RewardItem,
    StoreError,
    User,
    check_ledger,
)
from liveops_rules.stores import CountRequest, CountResult
from tests.naive_store import NaiveStore

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)
HOLD = timedelta(minutes=10)
D = Decimal
ONE_EACH = PromotionLimits(per_user=1)
DISCOUNT = ItemDiscount(
    promotion_id=1, discount_percent="10", items=["a"], limits=ONE_EACH, enabled=True
)
GIFT = Bonus(promotion_id=2, bonus=[RewardItem("gem")], limits=ONE_EACH, enabled=True)
CART = Cart(currency="USD", lines=[CartLine(sku="a", price="10.00")])


class FailingSecondCount(InMemoryStore):
    """Counts once, then fails as a lost server would."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def count(self, request: CountRequest) -> CountResult:
        self.calls += 1
        if self.calls == 2:
            raise StoreError("connection lost")
        return super().count(request)


def test_a_failing_reservation_releases_the_holds_already_made():
    store = FailingSecondCount()
    accounting = Accounting(store)
    with pytest.raises(StoreError, match="connection lost"):
        Pricing([DISCOUNT, GIFT]).checkout(accounting, CART, User("u"), AT, hold=HOLD)
    assert store.calls == 2
    assert all(state.reserved == 0 for state in store.counters().values())
    assert accounting.user_limit(DISCOUNT, "u", AT).available == 1


def test_an_anonymous_checkout_reserves_nothing_per_user():
    accounting = Accounting(InMemoryStore())
    code = PromoCode(external_id="once", discount_percent="5", redeem_user_limit=1, enabled=True)
    accounting.import_catalog([code], {(PromotionKind.PROMO_CODE, "once"): ["ONCE"]})
    checkout = Pricing([DISCOUNT, GIFT]).checkout(
        accounting, CART, User(None), AT, hold=HOLD, promo_code="ONCE"
    )
    assert checkout.reservations == ()
    assert {n.id: n.reasons[0].code for n in checkout.quote.not_applied} == {
        "1": "sign_in_required",
        "2": "sign_in_required",
        "once": "sign_in_required",
    }


def test_a_coupon_code_is_not_a_promo_code():
    from liveops_rules import Coupon

    accounting = Accounting(InMemoryStore())
    coupon = Coupon(external_id="gift", bonus=[RewardItem("gem")], enabled=True)
    accounting.import_catalog([coupon], {(PromotionKind.COUPON, "gift"): ["GIFT"]})
    checkout = Pricing([]).checkout(accounting, CART, User("u"), AT, hold=HOLD, promo_code="GIFT")
    assert checkout.quote.promo_code_refusal.reasons[0].code == "unknown_code"
    assert checkout.reservations == ()


def test_the_naive_store_over_applies_a_code_under_the_same_race():
    store = NaiveStore()
    setup = Accounting(store)
    code = PromoCode(external_id="race", discount_percent="10", redeem_total_limit=10, enabled=True)
    setup.import_catalog([code], {(PromotionKind.PROMO_CODE, "race"): ["RACE"]})
    start = threading.Barrier(8, timeout=120)
    applied: list[bool] = []

    def shop(worker: int) -> None:
        accounting = Accounting(store)
        start.wait()
        for attempt in range(50):
            checkout = Pricing([]).checkout(
                accounting, CART, User(f"u{worker}-{attempt}"), AT, hold=HOLD, promo_code="RACE"
            )
            applied.append(checkout.quote.promo_code_applied)

    threads = [threading.Thread(target=shop, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(applied) > 10


operations = st.lists(
    st.one_of(
        st.tuples(st.just("checkout"), st.sampled_from(("a", "b")), st.integers(1, 3)),
        st.tuples(st.just("commit"), st.integers(0, 20), st.just(0)),
        st.tuples(st.just("release"), st.integers(0, 20), st.just(0)),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(operations)
def test_checkouts_hold_exactly_what_a_model_of_the_limits_allows(steps):
    """A per-user limit of 3 units on a discount and a total limit of 2 on a code, against a
    model that counts used and held units: every checkout applies the discount and the code
    exactly when the model has room, and the counters end equal to the model and the ledger."""
    discount = ItemDiscount(
        promotion_id=1,
        discount_percent="10",
        items=["a"],
        limits=PromotionLimits(per_user=3),
        enabled=True,
    )
    code = PromoCode(external_id="two", discount_percent="5", redeem_total_limit=2, enabled=True)
    store = InMemoryStore()
    accounting = Accounting(store)
    accounting.import_catalog([discount, code], {(PromotionKind.PROMO_CODE, "two"): ["TWO"]})
    pricing = Pricing([discount])
    checkouts: list[tuple[str, int, object]] = []
    state: list[str] = []  # per checkout: held, committed or released
    units = {"a": 0, "b": 0}  # held or used, per user
    code_uses = 0
    for action, who, quantity in steps:
        if action == "checkout":
            cart = Cart(currency="USD", lines=[CartLine(sku="a", price="10.00", quantity=quantity)])
            checkout = pricing.checkout(
                accounting, cart, User(who), AT, hold=HOLD, promo_code="TWO"
            )
            room = units[who] + quantity <= 3
            applied = {a.kind for a in checkout.quote.applied}
            assert (PromotionKind.ITEM_DISCOUNT in applied) == room
            assert (PromotionKind.PROMO_CODE in applied) == (code_uses < 2)
            units[who] += quantity if room else 0
            code_uses += 1 if code_uses < 2 else 0
            checkouts.append((who, quantity if room else 0, checkout))
            state.append("held")
        elif checkouts:
            index = who % len(checkouts)
            owner, held, checkout = checkouts[index]
            if action == "commit" and state[index] == "held":
                checkout.commit(accounting, AT)
                state[index] = "committed"
            elif action == "release" and state[index] == "held":
                checkout.release(accounting, AT)
                units[owner] -= held
                if any(r.kind is PromotionKind.PROMO_CODE for r in checkout.reservations):
                    code_uses -= 1
                state[index] = "released"
    for who in ("a", "b"):
        assert accounting.user_limit(discount, who, AT).available == 3 - units[who]
    assert check_ledger(store) == []


class FailingFourthRecall(InMemoryStore):
    """Answers three idempotency lookups, then fails as a lost server would."""

    def __init__(self) -> None:
        super().__init__()
        self.recalls = 0

    def recall(self, key: str, fingerprint: str) -> str | None:
        self.recalls += 1
        if self.recalls == 4:
            raise StoreError("connection lost")
        return super().recall(key, fingerprint)


def test_a_failed_retry_of_an_order_leaves_the_first_checkouts_holds():
    store = FailingFourthRecall()
    accounting = Accounting(store)
    pricing = Pricing([DISCOUNT, GIFT])
    first = pricing.checkout(accounting, CART, User("u"), AT, hold=HOLD, order_id="order-1")
    assert len(first.reservations) == 2
    with pytest.raises(StoreError):  # replays the discount's hold, then loses the server
        pricing.checkout(accounting, CART, User("u"), AT, hold=HOLD, order_id="order-1")
    first.commit(accounting, AT)  # the first checkout's holds are intact
    assert accounting.user_limit(DISCOUNT, "u", AT).available == 0


def test_a_retry_that_changes_the_order_is_a_conflict():
    accounting = Accounting(InMemoryStore())
    pricing = Pricing([DISCOUNT, GIFT])
    pricing.checkout(accounting, CART, User("u"), AT, hold=HOLD, order_id="order-1")
    bigger = Cart(currency="USD", lines=[CartLine(sku="a", price="10.00", quantity=2)])
    with pytest.raises(AccountingError) as caught:
        pricing.checkout(accounting, bigger, User("u"), AT, hold=HOLD, order_id="order-1")
    assert caught.value.code == "idempotency_conflict"


def test_a_promotion_pushed_out_and_back_during_a_checkout_keeps_a_live_hold():
    """A code excludes X, X excludes Z. With the code used up, X comes back and pushes Z out;
    with X's own limit used up, Z comes back. Z's hold must still be live (it was released
    and then replayed under the order's key before)."""
    x = ItemDiscount(
        promotion_id=1,
        discount_percent="10",
        items=["a"],
        limits=ONE_EACH,
        excluded_promotions=[2],
        enabled=True,
    )
    z = ItemDiscount(
        promotion_id=2, discount_percent="20", items=["a"], limits=ONE_EACH, enabled=True
    )
    code = PromoCode(
        external_id="c",
        discount_percent="5",
        redeem_total_limit=1,
        excluded_promotions=[1],
        enabled=True,
    )
    store = InMemoryStore()
    accounting = Accounting(store)
    accounting.import_catalog([x, z, code], {(PromotionKind.PROMO_CODE, "c"): ["CODE"]})
    pricing = Pricing([x, z])
    pricing.checkout(accounting, CART, User("u"), AT, hold=HOLD).commit(accounting, AT)  # x
    other = pricing.checkout(accounting, CART, User("o"), AT, hold=HOLD, promo_code="CODE")
    other.commit(accounting, AT)  # the code's one use
    checkout = pricing.checkout(
        accounting, CART, User("u"), AT, hold=HOLD, promo_code="CODE", order_id="order-1"
    )
    assert checkout.quote.total == D("8.00")
    assert [r.id for r in checkout.reservations] == ["2"]
    checkout.commit(accounting, AT)
    assert accounting.user_limit(z, "u", AT).available == 0
    assert check_ledger(store) == []
