"""What every store must do, through the accounting engine: run over every store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from liveops_rules import (
    Coupon,
    ErrorCode,
    ItemDiscount,
    NumberCondition,
    PromotionLimits,
    RecurrentSchedule,
    RewardItem,
    User,
    ValidationError,
    ValidityWindow,
    normalize_code,
)
from liveops_rules.accounting import Accounting, AccountingError, check_ledger

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


def test_a_redemption_grants_the_items_and_counts_every_limit(accounting, store):
    setup(accounting, coupon(redeem_total_limit=10, redeem_user_limit=2, redeem_code_limit=5))
    outcome = accounting.redeem("WINTER1", User("u1"), AT)
    assert outcome.ok
    assert outcome.promotion == "coupon:winter"
    assert outcome.items == (RewardItem("gem", 2),)
    counters = store.counters()
    assert {key: state.used for key, state in counters.items()} == {
        "t|coupon:winter": 1,
        "u|coupon:winter|u1|": 1,
        "c|coupon:winter|WINTER1": 1,
    }
    assert check_ledger(store) == []


@pytest.mark.parametrize(
    ("limits", "users", "codes", "limit", "message"),
    [
        (
            {"redeem_user_limit": 1},
            ["u1", "u1"],
            ["A1", "A1"],
            "per_user",
            "per-user limit 1 of 1 used",
        ),
        (
            {"redeem_total_limit": 2},
            ["u1", "u2", "u3"],
            ["A1", "A1", "A1"],
            "total",
            "promotion limit 2 of 2 used",
        ),
        (
            {"redeem_code_limit": 1},
            ["u1", "u2"],
            ["A1", "A1"],
            "per_code",
            "per-code limit 1 of 1 used",
        ),
    ],
)
def test_each_limit_refuses_past_its_value(accounting, limits, users, codes, limit, message):
    setup(accounting, coupon(**limits), codes=("A1", "B1"))
    outcomes = [
        accounting.redeem(code, User(user), AT) for user, code in zip(users, codes, strict=True)
    ]
    assert all(o.ok for o in outcomes[:-1])
    refusal = outcomes[-1].refusal
    assert refusal is not None
    assert (refusal.code, refusal.limit, refusal.message) == ("limit_reached", limit, message)
    assert refusal.error_code is ErrorCode.LIMIT_REACHED


def test_no_partial_counting_when_one_limit_refuses(accounting, store):
    setup(accounting, coupon(redeem_total_limit=1, redeem_user_limit=5), codes=("A1", "B1"))
    assert accounting.redeem("A1", User("u1"), AT).ok
    before = store.counters()
    outcome = accounting.redeem("B1", User("u2"), AT)
    assert outcome.refusal is not None
    assert outcome.refusal.limit == "total"
    after = store.counters()
    assert {k: v.used for k, v in after.items() if v.used} == {
        k: v.used for k, v in before.items() if v.used
    }
    assert check_ledger(store) == []


def test_unknown_malformed_and_inapplicable_codes(accounting):
    setup(accounting, coupon(window=ValidityWindow(AT - timedelta(days=2), AT - timedelta(days=1))))
    assert accounting.redeem("NOPE", User("u"), AT).refusal.error_code is ErrorCode.CODE_NOT_FOUND
    assert accounting.redeem("no pe", User("u"), AT).refusal.error_code is ErrorCode.INVALID_CODE
    ended = accounting.redeem("WINTER1", User("u"), AT).refusal
    assert ended.code == "ended"
    assert ended.error_code is ErrorCode.EXPIRED


def test_conditions_are_checked_with_the_failing_ones_reported(accounting):
    setup(accounting, coupon(conditions=[NumberCondition("level", "ge", 10)]))
    refusal = accounting.redeem("WINTER1", User("u", {"level": "3"}), AT).refusal
    assert refusal.code == "condition_failed"
    assert refusal.reasons[0]["attribute"] == "level"
    assert accounting.redeem("WINTER1", User("u", {"level": "12"}), AT).ok


def test_codes_are_case_sensitive_unless_normalized(store):
    accounting = Accounting(store)
    setup(accounting, coupon(), codes=("WINTER1",))
    assert accounting.redeem("winter1", User("u"), AT).refusal.code == "unknown_code"
    lenient = Accounting(store, code_normalizer=normalize_code)
    assert lenient.redeem(" winter1 ", User("u"), AT).ok


def test_idempotent_retries_count_once_and_replay_the_first_result(accounting, store):
    setup(accounting, coupon(redeem_total_limit=5))
    first = accounting.redeem("WINTER1", User("u"), AT, idempotency_key="order-1")
    again = accounting.redeem(
        "WINTER1", User("u"), AT + timedelta(hours=1), idempotency_key="order-1"
    )
    assert again.replayed
    assert again.operation_id == first.operation_id
    assert store.counters()["t|coupon:winter"].used == 1
    with pytest.raises(AccountingError) as caught:
        accounting.redeem("WINTER1", User("someone-else"), AT, idempotency_key="order-1")
    assert caught.value.code == "idempotency_conflict"


def test_a_refusal_is_replayed_too(accounting):
    setup(accounting, coupon(conditions=[NumberCondition("level", "ge", 10)]))
    first = accounting.redeem("WINTER1", User("u", {"level": "3"}), AT, idempotency_key="k")
    assert not first.ok
    # Same request (code, user, promotion, quantity): the first answer stands.
    again = accounting.redeem("WINTER1", User("u", {"level": "30"}), AT, idempotency_key="k")
    assert again.replayed
    assert not again.ok


def test_reserve_commit_release_cancel(accounting, store):
    setup(accounting, coupon(redeem_total_limit=2))
    first = accounting.reserve(User("u1"), AT, hold=HOLD, code="WINTER1")
    second = accounting.reserve(User("u2"), AT, hold=HOLD, code="WINTER1")
    assert first.ok
    assert second.ok
    assert accounting.reserve(User("u3"), AT, hold=HOLD, code="WINTER1").refusal.limit == "total"
    assert accounting.release(second.operation_id, AT).ok
    assert accounting.release(second.operation_id, AT).ok  # idempotent
    assert accounting.commit(first.operation_id, AT).ok
    assert accounting.commit(first.operation_id, AT).ok  # idempotent
    total = store.counter("t|coupon:winter", AT)
    assert (total.used, total.reserved) == (1, 0)
    with pytest.raises(AccountingError) as caught:
        accounting.commit(second.operation_id, AT)
    assert caught.value.code == "wrong_state"
    assert accounting.cancel(first.operation_id, AT).ok
    assert store.counter("t|coupon:winter", AT).used == 0
    with pytest.raises(AccountingError, match="no reservation"):
        accounting.commit("missing", AT)
    assert check_ledger(store) == []


def test_expired_holds_give_their_capacity_back(accounting, store):
    setup(accounting, coupon(redeem_total_limit=1))
    held = accounting.reserve(User("u1"), AT, hold=HOLD, code="WINTER1")
    assert accounting.redeem("WINTER1", User("u2"), AT + HOLD - timedelta(seconds=1)).refusal
    later = AT + HOLD
    assert accounting.redeem("WINTER1", User("u2"), later).ok
    with pytest.raises(AccountingError) as caught:
        accounting.commit(held.operation_id, later)
    assert caught.value.code == "reservation_expired"
    assert accounting.release(held.operation_id, later).ok
    assert [e.event for e in store.ledger()] == ["reserve", "expire", "redeem"]
    assert check_ledger(store) == []


def test_expired_holds_are_reclaimed_on_each_counter_that_needs_them(accounting, store):
    # Two different expired holds fill two different counters of the next redemption.
    setup(accounting, coupon(redeem_user_limit=1, redeem_code_limit=1), codes=["CODEA", "CODEB"])
    assert accounting.reserve(User("ann"), AT, hold=HOLD, code="CODEB").ok  # ann's only use
    assert accounting.reserve(User("bob"), AT, hold=HOLD, code="CODEA").ok  # CODEA's only use
    assert accounting.redeem("CODEA", User("ann"), AT + HOLD - timedelta(seconds=1)).refusal
    assert accounting.redeem("CODEA", User("ann"), AT + HOLD).ok
    assert [e.event for e in store.ledger()] == [
        "reserve",
        "reserve",
        "expire",
        "expire",
        "redeem",
    ]
    assert check_ledger(store) == []


def test_an_expired_hold_cannot_be_committed_even_if_nobody_reclaimed_it(accounting, store):
    setup(accounting, coupon(redeem_total_limit=5))
    held = accounting.reserve(User("u1"), AT, hold=HOLD, code="WINTER1")
    with pytest.raises(AccountingError, match="expired"):
        accounting.commit(held.operation_id, AT + HOLD)
    assert store.counter("t|coupon:winter", AT + HOLD).reserved == 0
    assert check_ledger(store) == []


def test_recurrent_per_user_limits_count_per_period(accounting, store):
    discount = ItemDiscount(
        promotion_id=7,
        enabled=True,
        discount_percent=10,
        limits=PromotionLimits(
            per_user=2,
            recurrent_schedule=RecurrentSchedule("daily", hour=0, utc_offset=timedelta(hours=3)),
        ),
    )
    accounting.import_promotions([discount])
    user = User("u1")
    morning = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)  # 23:00 at +03:00
    for _ in range(2):
        assert accounting.reserve(user, morning, hold=HOLD, promotion=discount).ok
    assert (
        accounting.reserve(user, morning, hold=HOLD, promotion=discount).refusal.limit == "per_user"
    )
    next_day = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)  # 00:00 at +03:00: a new period
    assert accounting.reserve(user, next_day, hold=HOLD, promotion=discount).ok
    assert accounting.user_limit(discount, "u1", next_day).available == 1


def test_admin_user_limits(accounting, store):
    promotion = setup(accounting, coupon(redeem_user_limit=3))
    assert accounting.redeem("WINTER1", User("u1"), AT).ok
    state = accounting.user_limit(promotion, "u1", AT)
    assert (state.total, state.available) == (3, 2)
    assert accounting.change_user_limit(promotion, "u1", 2, AT).available == 4
    assert accounting.change_user_limit(promotion, "u1", -4, AT).available == 0
    with pytest.raises(AccountingError) as caught:
        accounting.change_user_limit(promotion, "u1", -1, AT)
    assert caught.value.error_code is ErrorCode.LIMIT_OUT_OF_RANGE
    assert accounting.redeem("WINTER1", User("u1"), AT).refusal.limit == "per_user"
    assert accounting.set_user_limit(promotion, "u1", 1, AT).available == 1
    assert accounting.redeem("WINTER1", User("u1"), AT).ok
    with pytest.raises(AccountingError):
        accounting.set_user_limit(promotion, "u1", -1, AT)
    assert accounting.reset_user_limit(promotion, "u1", AT) == 1
    assert accounting.user_limit(promotion, "u1", AT).available == 3
    assert accounting.redeem("WINTER1", User("u2"), AT).ok
    assert accounting.reset_all_user_limits(promotion, AT) == 1
    assert accounting.user_limit(promotion, "u2", AT).available == 3
    assert check_ledger(store) == []


def test_user_ids_that_share_a_prefix_are_reset_apart(accounting):
    promotion = setup(accounting, coupon(redeem_user_limit=1))
    for user in ("a", "a|b", "a%"):
        assert accounting.redeem("WINTER1", User(user), AT).ok
    accounting.reset_user_limit(promotion, "a", AT)
    assert accounting.user_limit(promotion, "a", AT).available == 1
    assert accounting.user_limit(promotion, "a|b", AT).available == 0
    assert accounting.user_limit(promotion, "a%", AT).available == 0


def test_promotions_without_user_limits_say_so(accounting):
    promotion = setup(accounting, coupon())
    with pytest.raises(AccountingError) as caught:
        accounting.user_limit(promotion, "u1", AT)
    assert caught.value.error_code is ErrorCode.NO_USER_LIMITS


def test_codes_are_unique_across_promotions(accounting):
    first = setup(accounting, coupon(), codes=("SHARED1",))
    second = coupon(external_id="spring")
    accounting.import_promotions([second])
    with pytest.raises(AccountingError) as caught:
        accounting.add_codes(second, ["SHARED1"])
    assert caught.value.error_code is ErrorCode.CODE_ALREADY_EXISTS
    with pytest.raises(ValidationError):
        accounting.add_codes(second, ["bad code"])
    with pytest.raises(ValidationError):
        accounting.add_codes(second, ["TWICE", "TWICE"])
    assert accounting.store.codes("coupon:winter") == ["SHARED1"]
    assert first


def test_generated_codes_are_unique_and_follow_the_alphabet(accounting, store):
    promotion = setup(accounting, coupon(), codes=())
    seen: list[int] = []
    codes = accounting.generate_codes(promotion, 2_000, length=8, progress=seen.append)
    assert len(codes) == len(set(codes)) == 2_000
    assert all(len(c) == 8 and set(c) <= set("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for c in codes)
    assert seen[-1] == 2_000
    assert len(store.codes("coupon:winter")) == 2_000
    with pytest.raises(ValidationError, match="length"):
        accounting.generate_codes(promotion, 1_000, length=2)
    with pytest.raises(ValidationError, match="count"):
        accounting.generate_codes(promotion, 100_001)


def test_code_usage_counts(accounting):
    promotion = setup(accounting, coupon(redeem_code_limit=5), codes=("A1", "B1"))
    accounting.redeem("A1", User("u1"), AT)
    accounting.redeem("A1", User("u2"), AT)
    usage = accounting.code_usage(promotion, AT)
    assert {code: state.used for code, state in usage.items()} == {"A1": 2, "B1": 0}


def test_everything_survives_reopening(store_factory):
    first = Accounting(store_factory())
    setup(first, coupon(redeem_total_limit=2))
    assert first.redeem("WINTER1", User("u1"), AT).ok
    second = Accounting(store_factory())
    assert second.redeem("WINTER1", User("u2"), AT).ok
    assert second.redeem("WINTER1", User("u3"), AT).refusal.limit == "total"
    assert check_ledger(second.store) == []


def test_naive_moments_and_bad_arguments_are_refused(accounting):
    setup(accounting, coupon())
    with pytest.raises(ValidationError):
        accounting.redeem("WINTER1", User("u"), datetime(2026, 1, 1))
    with pytest.raises(ValidationError):
        accounting.reserve(User("u"), AT, hold=timedelta(0), code="WINTER1")
    with pytest.raises(ValidationError):
        accounting.reserve(User("u"), AT, hold=HOLD, code="WINTER1", quantity=0)


def test_a_promotion_changed_elsewhere_takes_effect_at_the_next_redeem(store_factory):
    here, elsewhere = Accounting(store_factory()), Accounting(store_factory())
    setup(here, coupon(redeem_total_limit=10))
    assert here.redeem("WINTER1", User("u1"), AT).ok  # `here` now holds this version
    elsewhere.import_promotions([coupon(redeem_total_limit=1)])
    refused = here.redeem("WINTER1", User("u2"), AT)
    assert refused.refusal is not None
    assert refused.refusal.limit == "total"
    elsewhere.import_promotions([coupon(redeem_total_limit=10, enabled=False)])
    refused = here.redeem("WINTER1", User("u3"), AT)
    assert refused.refusal is not None
    assert refused.refusal.code == "disabled"
    elsewhere.import_promotions([coupon(redeem_total_limit=10)])
    assert here.redeem("WINTER1", User("u4"), AT).ok
    assert here.store.counter("t|coupon:winter", AT).used == 2
    assert check_ledger(here.store) == []


def test_a_code_moved_elsewhere_is_held_for_its_new_promotion(store_factory):
    """The code's owner cached by one Accounting goes out of date when another moves the
    code: holding it for the promotion that now owns it asks the store again."""
    here, elsewhere = Accounting(store_factory()), Accounting(store_factory())
    first = setup(here, coupon(external_id="first"), codes=("MOVE2",))
    second = coupon(external_id="second")
    here.import_promotions([second])
    assert here.verify("MOVE2", User("u1"), AT).promotion == first  # the owner is cached
    elsewhere.remove_codes(first, ["MOVE2"])
    elsewhere.add_codes(second, ["MOVE2"])
    held = here.reserve(User("u1"), AT, hold=HOLD, code="MOVE2", promotion=second)
    assert held.ok
    assert held.promotion == "coupon:second"
    # And the old owner no longer takes it.
    refused = here.reserve(User("u2"), AT, hold=HOLD, code="MOVE2", promotion=first)
    assert refused.refusal.code == "unknown_code"
    assert check_ledger(here.store) == []
