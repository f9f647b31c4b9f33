"""Counting that cannot be beaten, on every store: each test here is a way an adversarial pass
over-redeemed, lost a count or got a raw exception, and what must happen instead."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from liveops_rules import (
    Bonus,
    Coupon,
    ItemDiscount,
    PromoCode,
    PromotionKind,
    PromotionLimits,
    RewardItem,
    StoreError,
    UniqueCatalogOffer,
    User,
    ValidationError,
)
from liveops_rules.accounting import Accounting, AccountingError, check_ledger

COUNT_MAX = 2**31 - 1  # the documented cap (liveops_rules.stores.bounds.COUNT_MAX)

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)
HOLD = timedelta(minutes=10)


def coupon(**fields):
    defaults = {"external_id": "winter", "enabled": True, "bonus": [RewardItem("gem", 2)]}
    return Coupon(**{**defaults, **fields})


@pytest.fixture
def accounting(store):
    return Accounting(store)


def setup(accounting, promotion, codes=("WINTER1",)):
    accounting.import_promotions([promotion])
    accounting.add_codes(promotion, list(codes))
    return promotion


def ledger_is_clean(store) -> None:
    assert check_ledger(store) == []


# -- resets forgive what they reset, and nothing twice -----------------------------------------


def test_a_refund_after_a_reset_gives_nothing_back_twice(accounting, store):
    promotion = setup(accounting, coupon(redeem_user_limit=1))
    buyer = User("buyer")
    first = accounting.redeem("WINTER1", buyer, AT)
    assert first.ok
    accounting.reset_user_limit(promotion, "buyer", AT)
    assert accounting.redeem("WINTER1", buyer, AT).ok  # the reset gave the use back
    accounting.cancel(first.operation_id, AT)  # refunds a use the reset already forgave
    third = accounting.redeem("WINTER1", buyer, AT)
    assert not third.ok
    assert third.refusal.limit == "per_user"
    assert accounting.user_limit(promotion, "buyer", AT).available == 0
    ledger_is_clean(store)


def test_a_refund_in_the_same_epoch_gives_its_use_back(accounting, store):
    promotion = setup(accounting, coupon(redeem_user_limit=1))
    first = accounting.redeem("WINTER1", User("buyer"), AT)
    accounting.cancel(first.operation_id, AT)
    assert accounting.user_limit(promotion, "buyer", AT).available == 1
    assert accounting.redeem("WINTER1", User("buyer"), AT).ok
    ledger_is_clean(store)


def test_a_reset_forgives_the_holds_in_flight_and_never_lets_them_pass_the_limit(accounting, store):
    promotion = setup(accounting, coupon(redeem_user_limit=3))
    buyer = User("buyer")
    holds = [accounting.reserve(buyer, AT, hold=HOLD, code="WINTER1")]
    accounting.set_user_limit(promotion, "buyer", 3, AT)  # extra 1 pays for the first hold
    ledger_is_clean(store)
    holds += [accounting.reserve(buyer, AT, hold=HOLD, code="WINTER1") for _ in range(3)]
    assert all(hold.ok for hold in holds)
    ledger_is_clean(store)
    accounting.reset_user_limit(promotion, "buyer", AT)
    ledger_is_clean(store)
    for hold in holds:
        accounting.commit(hold.operation_id, AT)
        ledger_is_clean(store)  # used + reserved <= limit + extra at every step
    state = store.counter("u|coupon:winter|buyer|", AT)
    assert state.used + state.reserved <= 3 + state.extra
    # The holds were made before the reset: they count on the total, not against the user.
    assert store.counter("t|coupon:winter", AT).used == 4
    assert accounting.user_limit(promotion, "buyer", AT).available == 3
    ledger_is_clean(store)


def test_a_hold_released_after_a_reset_changes_nothing_the_reset_forgave(accounting, store):
    promotion = setup(accounting, coupon(redeem_user_limit=2))
    buyer = User("buyer")
    hold = accounting.reserve(buyer, AT, hold=HOLD, code="WINTER1")
    accounting.reset_user_limit(promotion, "buyer", AT)
    assert accounting.redeem("WINTER1", buyer, AT).ok
    accounting.release(hold.operation_id, AT)
    assert store.counter("u|coupon:winter|buyer|", AT).reserved == 0
    assert accounting.user_limit(promotion, "buyer", AT).available == 1
    ledger_is_clean(store)


def test_a_hold_that_expires_after_a_reset_changes_nothing_the_reset_forgave(accounting, store):
    promotion = setup(accounting, coupon(redeem_user_limit=1))
    buyer = User("buyer")
    accounting.reserve(buyer, AT, hold=HOLD, code="WINTER1")
    accounting.reset_user_limit(promotion, "buyer", AT)
    assert accounting.reserve(buyer, AT, hold=HOLD * 3, code="WINTER1").ok
    later = AT + HOLD * 2  # the first hold expires, the second is still held
    assert accounting.user_limit(promotion, "buyer", later).available == 0
    assert store.counter("u|coupon:winter|buyer|", later).reserved == 1
    ledger_is_clean(store)


# -- admin changes validate before they write ---------------------------------------------------


def test_a_limit_increase_past_the_cap_is_refused_and_changes_nothing(accounting, store):
    promotion = setup(accounting, coupon(redeem_user_limit=2))
    with pytest.raises(AccountingError) as refused:
        accounting.change_user_limit(promotion, "buyer", COUNT_MAX, AT)
    assert refused.value.code == "limit_out_of_range"
    assert store.counter("u|coupon:winter|buyer|", AT).extra == 0
    assert accounting.user_limit(promotion, "buyer", AT).total == 2
    accounting.change_user_limit(promotion, "buyer", COUNT_MAX - 2, AT)  # exactly the cap
    assert accounting.user_limit(promotion, "buyer", AT).total == COUNT_MAX
    for _ in range(3):  # never past it, however often asked
        with pytest.raises(AccountingError):
            accounting.change_user_limit(promotion, "buyer", 1, AT)
    assert accounting.user_limit(promotion, "buyer", AT).total == COUNT_MAX
    ledger_is_clean(store)


def test_setting_more_available_uses_than_the_cap_allows_is_refused(accounting, store):
    promotion = setup(accounting, coupon(redeem_user_limit=2))
    assert accounting.redeem("WINTER1", User("buyer"), AT).ok
    with pytest.raises(AccountingError) as refused:
        accounting.set_user_limit(promotion, "buyer", COUNT_MAX, AT)  # total would be cap + 1
    assert refused.value.code == "limit_out_of_range"
    assert accounting.user_limit(promotion, "buyer", AT).total == 2
    accounting.set_user_limit(promotion, "buyer", COUNT_MAX - 1, AT)
    assert accounting.user_limit(promotion, "buyer", AT).total == COUNT_MAX
    ledger_is_clean(store)


# -- what no store can keep is refused before any I/O -------------------------------------------

BAD_MOMENTS = [
    datetime(1, 1, 1, 1, tzinfo=timezone(timedelta(hours=5))),  # year 0 in UTC
    datetime(9999, 12, 31, 22, tzinfo=timezone(timedelta(hours=-5))),  # year 10000 in UTC
    datetime(1, 1, 1, tzinfo=UTC),
]


@pytest.mark.parametrize("at", BAD_MOMENTS, ids=["year-0", "year-10000", "first-day"])
def test_moments_a_store_cannot_keep_are_refused_before_anything_is_written(accounting, store, at):
    promotion = setup(accounting, coupon(redeem_user_limit=2))
    before = store.ledger()
    for attempt in (
        lambda: accounting.redeem("WINTER1", User("buyer"), at),
        lambda: accounting.reserve(User("buyer"), at, hold=HOLD, code="WINTER1"),
        lambda: accounting.user_limit(promotion, "buyer", at),
        lambda: accounting.reset_user_limit(promotion, "buyer", at),
        lambda: accounting.commit("x", at),
    ):
        with pytest.raises(ValidationError, match="at: expected a moment from"):
            attempt()
    assert store.ledger() == before
    ledger_is_clean(store)


@pytest.mark.parametrize(
    ("at", "hold"),
    [
        (AT, timedelta(days=3e6)),
        (datetime(9999, 12, 29, 23, tzinfo=UTC), timedelta(days=1)),
        (AT, timedelta(0)),
        (AT, 600),
    ],
    ids=["overflowing-hold", "expiry-after-9999-12-30", "empty-hold", "seconds-not-timedelta"],
)
def test_holds_that_end_where_no_store_can_keep_them_are_refused(accounting, store, at, hold):
    setup(accounting, coupon())
    with pytest.raises(ValidationError, match="hold: expected"):
        accounting.reserve(User("buyer"), at, hold=hold, code="WINTER1")
    assert [e.event for e in store.ledger()] == []


def test_a_hold_ending_late_in_the_calendar_commits_until_its_last_microsecond(accounting, store):
    setup(accounting, coupon())
    # Far enough that microseconds since 1970 pass 2**53 (doubles round them).
    at = datetime(2300, 6, 1, 12, 0, 0, 1, tzinfo=UTC)
    committed = 0
    for step in range(16):
        hold = timedelta(minutes=10, microseconds=step)
        outcome = accounting.reserve(User(f"u{step}"), at, hold=hold, code="WINTER1")
        accounting.commit(outcome.operation_id, at + hold - timedelta(microseconds=1))
        committed += 1
    late = accounting.reserve(User("late"), at, hold=HOLD, code="WINTER1")
    with pytest.raises(AccountingError) as expired:
        accounting.commit(late.operation_id, at + HOLD)  # the very moment it expires
    assert expired.value.code == "reservation_expired"
    assert committed == 16
    assert store.counter("t|coupon:winter", at + HOLD).used == 16
    ledger_is_clean(store)


TEXTS = {
    "lone-surrogate": "buyer\ud800",
    "nul": "buy\x00er",
    "too-long": "x" * 257,
    "empty": "",
}


@pytest.mark.parametrize("text", TEXTS.values(), ids=TEXTS.keys())
def test_user_ids_keys_and_operation_ids_no_store_can_keep_are_refused(accounting, store, text):
    promotion = setup(accounting, coupon(redeem_user_limit=2))
    attempts = [
        lambda: accounting.redeem("WINTER1", User("buyer"), AT, idempotency_key=text),
        lambda: accounting.commit(text, AT),
        lambda: accounting.cancel(text, AT),
        lambda: accounting.user_limit(promotion, text, AT),
        lambda: accounting.reset_user_limit(promotion, text, AT),
    ]
    if text:  # User refuses an empty id itself
        attempts.append(lambda: accounting.redeem("WINTER1", User(text), AT))
    for attempt in attempts:
        with pytest.raises(ValidationError):
            attempt()
    assert [e.event for e in store.ledger()] == []
    # 256 characters of any plane are fine everywhere.
    longest = "\U0001f600" * 256
    assert accounting.redeem("WINTER1", User(longest), AT, idempotency_key=longest).ok
    assert accounting.user_limit(promotion, longest, AT).available == 1
    ledger_is_clean(store)


@pytest.mark.parametrize("key", [7, ["x"], b"x", 7.0], ids=["int", "list", "bytes", "float"])
def test_idempotency_keys_must_be_text(accounting, store, key):
    setup(accounting, coupon())
    with pytest.raises(ValidationError, match="idempotency_key: expected a string"):
        accounting.redeem("WINTER1", User("buyer"), AT, idempotency_key=key)
    assert [e.event for e in store.ledger()] == []


@pytest.mark.parametrize("promotion", [["coupon:winter"], 7, None], ids=["list", "int", "none"])
def test_a_promotion_that_is_neither_a_model_nor_a_ref_is_a_validation_error(accounting, promotion):
    setup(accounting, coupon(redeem_user_limit=2))
    with pytest.raises(ValidationError, match="promotion"):
        accounting.user_limit(promotion, "buyer", AT)


# -- operation ids --------------------------------------------------------------------------


def test_an_operation_id_used_twice_is_an_error_never_a_replay(store):
    accounting = Accounting(store, new_id=lambda: "same-id")
    setup(accounting, coupon(redeem_total_limit=5))
    assert accounting.redeem("WINTER1", User("a"), AT).ok
    with pytest.raises(StoreError, match="already the id of another operation"):
        accounting.redeem("WINTER1", User("a"), AT)  # the very same request, too
    with pytest.raises(StoreError, match="already the id of another operation"):
        accounting.reserve(User("b"), AT, hold=HOLD, code="WINTER1")
    assert store.counter("t|coupon:winter", AT).used == 1
    assert store.counter("t|coupon:winter", AT).reserved == 0
    ledger_is_clean(store)


# -- what a code is for ---------------------------------------------------------------------

DISCOUNT = ItemDiscount(
    promotion_id=11, discount_percent="10", items=["sword"], enabled=True,
    limits=PromotionLimits(per_user=2),
)  # fmt: skip
BONUS = Bonus(promotion_id=12, bonus=[RewardItem("gem")], enabled=True)


@pytest.mark.parametrize("promotion", [DISCOUNT, BONUS], ids=["discount", "bonus"])
def test_promotions_without_codes_cannot_be_given_any(accounting, store, promotion):
    accounting.import_promotions([promotion])
    for attempt in (
        lambda: accounting.add_codes(promotion, ["ABC"]),
        lambda: accounting.generate_codes(promotion, 1),
        lambda: accounting.import_catalog([promotion], {(promotion.kind, promotion.key): ["ABC"]}),
    ):
        with pytest.raises(AccountingError) as refused:
            attempt()
        assert refused.value.code == "no_codes"
    assert store.code_owner("ABC") is None


def test_a_promo_code_is_not_redeemed_on_its_own(accounting, store):
    code = PromoCode(external_id="five", discount_percent="5", enabled=True)
    setup(accounting, code, ["FIVE"])
    outcome = accounting.redeem("FIVE", User("buyer"), AT)
    assert not outcome.ok
    assert outcome.refusal.code == "not_redeemable"
    assert int(outcome.refusal.error_code) == 9807
    assert [e.event for e in store.ledger()] == []
    # A checkout reserves it: that is how a promo code is consumed.
    assert accounting.reserve(User("buyer"), AT, hold=HOLD, code="FIVE").ok


def test_a_unique_catalog_offer_code_is_redeemed_for_the_items_it_unlocks(accounting):
    offer = UniqueCatalogOffer(external_id="offer", items=["sword"], enabled=True)
    setup(accounting, offer, ["OFFER1"])
    outcome = accounting.redeem("OFFER1", User("buyer"), AT)
    assert outcome.ok
    assert outcome.items == (RewardItem("sword"),)


def test_generating_codes_in_a_full_code_space_ends_with_an_error(accounting, store):
    promotion = setup(accounting, coupon(), [])
    # 2**10 = 1,024 codes of length 10 over "AB": take them all first.
    every = [format(n, "010b").replace("0", "A").replace("1", "B") for n in range(1024)]
    accounting.add_codes(promotion, every)
    with pytest.raises(AccountingError) as full:
        accounting.generate_codes(promotion, 1, alphabet="AB", length=10)
    assert full.value.code == "code_space_full"
    assert len(store.codes("coupon:winter")) == 1024


# -- imports ----------------------------------------------------------------------------------


def test_two_imports_racing_for_the_same_codes_leave_one_owner_and_tell_the_other(store_factory):
    codes = [f"RACE{n:03d}" for n in range(200)]
    first = coupon(external_id="first")
    second = coupon(external_id="second")
    for trial in range(5):
        batch = [f"T{trial}{code}" for code in codes]
        start = threading.Barrier(2, timeout=120)  # bounded: a thread that failed ends it
        outcomes: dict[str, object] = {}
        accountings = {p.key: Accounting(store_factory()) for p in (first, second)}

        def load(promotion, batch=batch, start=start, outcomes=outcomes, mine=accountings):
            accounting = mine[promotion.key]
            start.wait()
            try:
                report = accounting.import_catalog(
                    [promotion], {(PromotionKind.COUPON, promotion.key): batch}
                )
                outcomes[promotion.key] = report.codes_added
            except AccountingError as error:
                outcomes[promotion.key] = error.code

        threads = [threading.Thread(target=load, args=(p,)) for p in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        store = store_factory()
        owners = {store.code_owner(code) for code in batch}
        assert len(owners) == 1, owners  # every code has the same single owner
        winner = owners.pop().split(":")[1]
        loser = "second" if winner == "first" else "first"
        assert outcomes[winner] == 200
        assert outcomes[loser] == "code_exists"
        assert not any(code in batch for code in store.codes(f"coupon:{loser}"))


# -- the ledger check reads one snapshot ------------------------------------------------------


def test_the_ledger_check_is_clean_while_others_are_counting(store_factory):
    accounting = Accounting(store_factory())
    setup(accounting, coupon(redeem_total_limit=10_000, redeem_user_limit=10_000))
    stop = threading.Event()
    errors: list[BaseException] = []

    def redeem(worker: int) -> None:
        mine = Accounting(store_factory())
        try:
            n = 0
            while not stop.is_set() and n < 2_000:
                n += 1
                held = mine.reserve(User(f"w{worker}"), AT, hold=HOLD, code="WINTER1")
                mine.commit(held.operation_id, AT)
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=redeem, args=(n,)) for n in range(3)]
    for worker in workers:
        worker.start()
    checker = store_factory()
    try:
        for _ in range(15):
            assert check_ledger(checker) == []
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert not errors, errors
    assert check_ledger(checker) == []


def test_a_lowered_limit_is_no_false_over_limit_in_the_ledger_check(accounting, store):
    setup(accounting, coupon(redeem_total_limit=5))
    for user in ("a", "b", "c"):
        assert accounting.redeem("WINTER1", User(user), AT).ok
    accounting.import_promotions([coupon(redeem_total_limit=2)])
    refused = accounting.redeem("WINTER1", User("d"), AT)
    assert refused.refusal.limit == "total"
    ledger_is_clean(store)
