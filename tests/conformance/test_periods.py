"""LiveOps v3 periods in every store: a new period is not a reset. Limits count across all
of a promotion's periods (unless a recurrent schedule resets them), and the gap between two
periods refuses with `between_periods`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from liveops_rules import (
    Coupon,
    ErrorCode,
    ItemDiscount,
    Period,
    PromotionLimits,
    RewardItem,
    User,
    ValidityWindow,
)
from liveops_rules.accounting import Accounting, check_ledger

DAY = datetime(2026, 11, 1, tzinfo=UTC)
HOLD = timedelta(minutes=10)
PERIODS = ValidityWindow.of_periods(
    [Period(DAY, DAY + timedelta(days=1)), Period(DAY + timedelta(days=7), DAY + timedelta(days=8))]
)
FIRST, GAP, SECOND = (
    DAY + timedelta(hours=1),
    DAY + timedelta(days=3),
    DAY + timedelta(days=7, hours=1),
)


def test_code_limits_count_across_periods(store, store_factory):
    accounting = Accounting(store)
    coupon = Coupon(
        external_id="weekends",
        enabled=True,
        window=PERIODS,
        bonus=[RewardItem("gem")],
        redeem_user_limit=1,
        redeem_total_limit=3,
    )
    accounting.import_promotions([coupon])
    accounting.add_codes(coupon, ["WEEKEND1"])
    assert accounting.redeem("WEEKEND1", User("u1"), FIRST).ok
    between = accounting.redeem("WEEKEND1", User("u2"), GAP).refusal
    assert between.code == "between_periods"
    assert between.error_code is ErrorCode.INVALID_CODE
    # A reopened store (another process) reads the periods back and still counts u1's use.
    again = Accounting(store_factory())
    refused = again.redeem("WEEKEND1", User("u1"), SECOND).refusal
    assert refused.code == "limit_reached"
    assert refused.limit == "per_user"
    assert again.redeem("WEEKEND1", User("u2"), SECOND).ok
    assert again.redeem("WEEKEND1", User("u3"), SECOND).ok
    assert again.redeem("WEEKEND1", User("u4"), SECOND).refusal.limit == "total"
    assert check_ledger(store) == []


def test_per_user_limits_of_discounts_count_across_periods(store):
    accounting = Accounting(store)
    discount = ItemDiscount(
        promotion_id=9,
        enabled=True,
        window=PERIODS,
        discount_percent=10,
        limits=PromotionLimits(per_user=2),
    )
    accounting.import_promotions([discount])
    user = User("u1")
    hold = accounting.reserve(user, FIRST, hold=HOLD, promotion=discount, quantity=2)
    assert hold.ok
    assert hold.operation_id is not None
    accounting.commit(hold.operation_id, FIRST + timedelta(minutes=1))  # paid: a use
    assert accounting.user_limit(discount, "u1", SECOND).available == 0
    refused = accounting.reserve(user, SECOND, hold=HOLD, promotion=discount).refusal
    assert refused.limit == "per_user"
