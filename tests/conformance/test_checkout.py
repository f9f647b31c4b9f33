"""Checkout quotes on every store: the limits of applied promotions are held, refused ones
drop out of the price, and holds commit or release with the order."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest

from liveops_rules import (
    Accounting,
    AccountingError,
    Cart,
    CartLine,
    ErrorCode,
    ItemDiscount,
    Pricing,
    PromoCode,
    PromotionKind,
    PromotionLimits,
    User,
    ValidationError,
    check_ledger,
)

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)
HOLD = timedelta(minutes=10)
D = Decimal

LIMITED = ItemDiscount(
    promotion_id=7,
    discount_percent="20",
    items=["sword"],
    limits=PromotionLimits(per_user=3),
    enabled=True,
)
SAVE = PromoCode(external_id="save", discount_percent="10", redeem_total_limit=1, enabled=True)


def swords(quantity: int) -> Cart:
    return Cart(currency="USD", lines=[CartLine(sku="sword", price="10.00", quantity=quantity)])


@pytest.fixture
def accounting(store):
    accounting = Accounting(store)
    accounting.import_catalog([LIMITED, SAVE], {(PromotionKind.PROMO_CODE, "save"): ["SAVE10"]})
    return accounting


@pytest.fixture
def pricing():
    return Pricing([LIMITED])


def test_a_limited_discount_is_held_for_the_units_it_discounts(accounting, pricing, store):
    buyer = User("buyer")
    first = pricing.checkout(accounting, swords(2), buyer, AT, hold=HOLD)
    assert first.quote.total == D("16.00")
    assert [(r.id, r.quantity) for r in first.reservations] == [("7", 2)]
    assert first.expires_at == AT + HOLD
    assert accounting.user_limit(LIMITED, "buyer", AT).available == 1

    second = pricing.checkout(accounting, swords(2), buyer, AT, hold=HOLD)
    assert second.quote.total == D("20.00")  # 2 more units would pass the limit of 3
    assert second.reservations == ()
    (refused,) = second.quote.not_applied
    assert refused.reasons[0].code == "limit_reached"
    assert refused.reasons[0].limit == "per_user"

    first.release(accounting, AT)
    third = pricing.checkout(accounting, swords(3), buyer, AT, hold=HOLD)
    assert third.quote.total == D("24.00")
    third.commit(accounting, AT)
    third.commit(accounting, AT)  # idempotent
    assert accounting.user_limit(LIMITED, "buyer", AT).available == 0
    assert check_ledger(store) == []


def test_a_promo_code_is_reserved_and_a_refused_code_leaves_the_cart_priced(accounting, store):
    pricing = Pricing([])
    held = pricing.checkout(accounting, swords(1), User("a"), AT, hold=HOLD, promo_code="SAVE10")
    assert held.quote.total == D("9.00")
    assert [r.kind for r in held.reservations] == [PromotionKind.PROMO_CODE]

    late = pricing.checkout(accounting, swords(1), User("b"), AT, hold=HOLD, promo_code="SAVE10")
    assert late.quote.total == D("10.00")
    refusal = late.quote.promo_code_refusal
    assert refusal is not None
    assert refusal.error_code is ErrorCode.LIMIT_REACHED
    assert late.reservations == ()

    held.release(accounting, AT)
    again = pricing.checkout(accounting, swords(1), User("b"), AT, hold=HOLD, promo_code="SAVE10")
    assert again.quote.total == D("9.00")
    again.commit(accounting, AT)
    assert check_ledger(store) == []


def test_codes_the_store_does_not_know_are_refused_like_liveops(accounting):
    pricing = Pricing([LIMITED])
    for typed, error in (("NOPE", ErrorCode.CODE_NOT_FOUND), ("no pe", ErrorCode.INVALID_CODE)):
        checkout = pricing.checkout(
            accounting, swords(1), User("a"), AT, hold=HOLD, promo_code=typed
        )
        assert checkout.quote.promo_code_refusal.error_code is error
        assert checkout.quote.total == D("8.00")
        checkout.release(accounting, AT)


def test_a_discount_the_refused_code_excluded_applies_and_is_held(accounting, store):
    greedy = PromoCode(
        external_id="greedy",
        discount_percent="5",
        redeem_total_limit=1,
        excluded_promotions=[7],
        enabled=True,
    )
    accounting.import_catalog([greedy], {(PromotionKind.PROMO_CODE, "greedy"): ["GREEDY"]})
    pricing = Pricing([LIMITED])
    first = pricing.checkout(accounting, swords(1), User("a"), AT, hold=HOLD, promo_code="GREEDY")
    assert first.quote.total == D("9.50")
    assert [r.id for r in first.reservations] == ["greedy"]

    second = pricing.checkout(accounting, swords(1), User("b"), AT, hold=HOLD, promo_code="GREEDY")
    assert second.quote.total == D("8.00")  # code refused: the discount it excluded is back
    assert [r.id for r in second.reservations] == ["7"]
    assert second.quote.promo_code_refusal.reasons[0].code == "limit_reached"


def test_a_retried_checkout_of_one_order_holds_nothing_twice(accounting, pricing):
    buyer = User("buyer")
    first = pricing.checkout(accounting, swords(2), buyer, AT, hold=HOLD, order_id="order-1")
    again = pricing.checkout(accounting, swords(2), buyer, AT, hold=HOLD, order_id="order-1")
    assert again.operation_ids == first.operation_ids
    assert accounting.user_limit(LIMITED, "buyer", AT).available == 1


def test_an_expired_hold_cannot_be_committed(accounting, pricing):
    checkout = pricing.checkout(accounting, swords(1), User("buyer"), AT, hold=HOLD)
    with pytest.raises(AccountingError) as caught:
        checkout.commit(accounting, AT + HOLD)
    assert caught.value.code == "reservation_expired"
    assert "discount 7" in caught.value.message
    checkout.release(accounting, AT + HOLD)  # already free: fine


def test_checkout_arguments_are_checked(accounting, pricing):
    for bad in ({"hold": timedelta(0)}, {"hold": 5}, {"hold": HOLD, "order_id": ""}):
        with pytest.raises(ValidationError):
            pricing.checkout(accounting, swords(1), User("b"), AT, **bad)


def test_concurrent_checkouts_hold_a_code_exactly_as_often_as_its_limit(store_factory):
    setup = Accounting(store_factory())
    limited = PromoCode(
        external_id="race", discount_percent="10", redeem_total_limit=10, enabled=True
    )
    setup.import_catalog([limited], {(PromotionKind.PROMO_CODE, "race"): ["RACE"]})
    pricing = Pricing([])
    start = threading.Barrier(8, timeout=120)
    applied: list[bool] = []

    def shop(worker: int) -> None:
        accounting = Accounting(store_factory())
        start.wait()
        for attempt in range(5):
            checkout = pricing.checkout(
                accounting,
                swords(1),
                User(f"u{worker}-{attempt}"),
                AT,
                hold=HOLD,
                promo_code="RACE",
            )
            applied.append(checkout.quote.promo_code_applied)
            assert checkout.quote.total == (D("9.00") if applied[-1] else D("10.00"))

    threads = [threading.Thread(target=shop, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(applied) == 40
    assert sum(applied) == 10


def test_a_catalog_discount_the_store_never_imported_is_held_too(store):
    accounting = Accounting(store)
    fresh = attrs.evolve(
        LIMITED, promotion_id=8, discount_percent="50", limits=PromotionLimits(per_user=1)
    )
    checkout = Pricing([fresh]).checkout(accounting, swords(1), User("u"), AT, hold=HOLD)
    assert checkout.quote.total == D("5.00")
    checkout.commit(accounting, AT)
    again = Pricing([fresh]).checkout(accounting, swords(1), User("u"), AT, hold=HOLD)
    assert again.quote.total == D("10.00")
    assert accounting.user_limit(fresh, "u", AT).available == 0


def test_a_checkout_prices_and_holds_the_code_as_the_store_keeps_it_now(store_factory):
    machine_a, machine_b = Accounting(store_factory()), Accounting(store_factory())
    five = PromoCode(external_id="five", discount_percent="5", redeem_total_limit=10, enabled=True)
    machine_a.import_catalog([five], {(PromotionKind.PROMO_CODE, "five"): ["FIVE"]})
    pricing = Pricing([])
    warm = pricing.checkout(machine_b, swords(1), User("a"), AT, hold=HOLD, promo_code="FIVE")
    assert warm.quote.total == D("9.50")  # machine B now holds FIVE at 5% in its cache
    warm.release(machine_b, AT)
    machine_a.import_promotions([attrs.evolve(five, discount_percent="50")])
    held = pricing.checkout(machine_b, swords(1), User("a"), AT, hold=HOLD, promo_code="FIVE")
    assert held.quote.total == D("5.00")  # priced as the store keeps it, not as B remembered
    held.commit(machine_b, AT)
    assert check_ledger(store_factory()) == []


def test_a_checkout_never_holds_a_promotion_changed_in_the_store_since_pricing(store_factory):
    machine_a, machine_b = Accounting(store_factory()), Accounting(store_factory())
    machine_a.import_promotions([LIMITED])
    pricing = Pricing([LIMITED])  # machine B's catalog, built before the change
    first = pricing.checkout(machine_b, swords(1), User("a"), AT, hold=HOLD)
    assert [r.id for r in first.reservations] == ["7"]
    first.release(machine_b, AT)
    machine_a.import_promotions([attrs.evolve(LIMITED, enabled=False)])  # disabled elsewhere
    with pytest.raises(AccountingError) as stale:
        pricing.checkout(machine_b, swords(1), User("a"), AT, hold=HOLD)
    assert stale.value.code == "stale_promotion"
    assert "build the Pricing again" in stale.value.message
    store = store_factory()
    assert store.counter("t|discount:7", AT).reserved == 0  # nothing is held
    assert check_ledger(store) == []
    # A Pricing of the store's own promotions checks out again.
    fresh = Pricing([machine_b.promotion("discount:7")])
    assert fresh.checkout(machine_b, swords(1), User("a"), AT, hold=HOLD).reservations == ()
