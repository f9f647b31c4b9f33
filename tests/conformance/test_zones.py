"""Promotions whose per-user limits reset in an IANA zone, kept in every store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from liveops_rules import (
    Bonus,
    ItemDiscount,
    PromotionLimits,
    RecurrentSchedule,
    RewardItem,
    StringCondition,
    UniqueCatalogOffer,
    User,
    ValidationError,
)
from liveops_rules.accounting import Accounting, check_ledger, promotion_ref
from liveops_rules.wire import Form, dump_promotion
from tests.zone_clock import first_moment_clock_shows

HOLD = timedelta(minutes=10)
USER = User("u1")


def discount(schedule: RecurrentSchedule, per_user: int = 2) -> ItemDiscount:
    return ItemDiscount(
        promotion_id=7,
        enabled=True,
        discount_percent=10,
        limits=PromotionLimits(per_user=per_user, recurrent_schedule=schedule),
    )


def take_all(accounting: Accounting, promotion, at: datetime, uses: int) -> None:
    """Reserve and commit `uses` uses at `at`, then check the next one is refused."""
    for _ in range(uses):
        held = accounting.reserve(USER, at, hold=HOLD, promotion=promotion)
        assert held.ok, held
        assert accounting.commit(held.operation_id, at).ok
    refused = accounting.reserve(USER, at, hold=HOLD, promotion=promotion)
    assert refused.refusal is not None
    assert refused.refusal.limit == "per_user"


def test_a_zoned_discount_is_kept_counted_and_reset(store_factory):
    promotion = discount(RecurrentSchedule("daily", hour=3, zone="Europe/Berlin"))
    store = store_factory()
    accounting = Accounting(store)
    accounting.import_promotions([promotion])
    # Another handle, with nothing cached, reads the zone back from the store itself.
    assert Accounting(store_factory()).promotion(promotion_ref(promotion)) == promotion

    at = datetime(2026, 7, 1, 12, tzinfo=UTC)
    take_all(accounting, promotion, at, 2)
    state = accounting.user_limit(promotion, "u1", at)
    assert (state.total, state.available) == (2, 0)
    assert accounting.reset_user_limit(promotion, "u1", at) == 1
    assert accounting.user_limit(promotion, "u1", at).available == 2
    assert accounting.reserve(USER, at, hold=HOLD, promotion=promotion).ok
    assert check_ledger(store) == []


def test_a_zoned_bonus_is_counted_per_local_week(store):
    promotion = Bonus(
        promotion_id=9,
        enabled=True,
        bonus=[RewardItem("gem", 1)],
        limits=PromotionLimits(
            per_user=1,
            recurrent_schedule=RecurrentSchedule(
                "weekly", hour=0, day_of_week=1, zone="America/New_York"
            ),
        ),
    )
    accounting = Accounting(store)
    accounting.import_promotions([promotion])
    assert accounting.promotion(promotion_ref(promotion)) == promotion
    monday = first_moment_clock_shows(datetime(2026, 11, 2), ZoneInfo("America/New_York"))
    take_all(accounting, promotion, monday - timedelta(microseconds=1), 1)
    assert accounting.user_limit(promotion, "u1", monday).available == 1
    take_all(accounting, promotion, monday, 1)
    assert check_ledger(store) == []


@pytest.mark.parametrize(
    ("zone", "wall"),
    [
        ("Europe/Berlin", datetime(2026, 11, 23, 3)),  # an ordinary day, 02:00Z
        ("Antarctica/Troll", datetime(2026, 3, 29, 2)),  # skipped: as the gap ends, 01:00Z
        ("Pacific/Apia", datetime(2011, 12, 30, 3)),  # the skipped day: 2011-12-30 10:00Z
        ("Europe/Berlin", datetime(2026, 10, 25, 2)),  # repeated: the first, 00:00Z
    ],
)
def test_a_new_period_opens_where_the_zones_clock_reaches_the_reset_hour(store, zone, wall):
    promotion = discount(RecurrentSchedule("daily", hour=wall.hour, zone=zone), per_user=1)
    accounting = Accounting(store)
    accounting.import_promotions([promotion])
    reset = first_moment_clock_shows(wall, ZoneInfo(zone))
    take_all(accounting, promotion, reset - timedelta(microseconds=1), 1)
    assert accounting.user_limit(promotion, "u1", reset).available == 1
    take_all(accounting, promotion, reset, 1)
    assert check_ledger(store) == []


def test_documents_kept_before_the_extension_still_load(store):
    promotion = discount(RecurrentSchedule("daily", hour=0, utc_offset=timedelta(hours=3)))
    legacy = {"kind": "discount", "payload": dump_promotion(promotion, Form.RESPONSE)}
    store.put_promotion(promotion_ref(promotion), json.dumps(legacy, sort_keys=True))
    accounting = Accounting(store)
    assert accounting.promotion(promotion_ref(promotion)) == promotion
    take_all(accounting, promotion, datetime(2026, 11, 22, 12, tzinfo=UTC), 2)
    # Importing it again keeps the same document: its version does not change.
    before = store.promotion(promotion_ref(promotion))
    accounting.import_promotions([promotion])
    assert store.promotion(promotion_ref(promotion)) == before


def test_an_import_that_cannot_be_kept_keeps_nothing(store):
    kept = discount(RecurrentSchedule("daily", hour=3, zone="Europe/Berlin"))
    # LiveOps unique catalog offers carry no attribute conditions: this one cannot be dumped.
    offer = UniqueCatalogOffer(
        external_id="offer", conditions=[StringCondition("tier", "eq", "gold")]
    )
    with pytest.raises(ValidationError, match="conditions"):
        Accounting(store).import_promotions([kept, offer])
    assert store.promotion(promotion_ref(kept)) is None
