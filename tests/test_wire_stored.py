"""The document a store keeps for a promotion: LiveOps' response payload plus the library's
extensions (a schedule's IANA zone), read back exactly."""

from __future__ import annotations

import json
from datetime import timedelta

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveops_rules import (
    Bonus,
    Coupon,
    ItemDiscount,
    PromotionLimits,
    RecurrentSchedule,
    RewardItem,
    ValidationError,
    dump_stored_promotion,
    load_stored_promotion,
)
from liveops_rules.models.zones import is_known_zone
from liveops_rules.wire import Form, dump_promotion, load_promotion, parse_json
from tests.strategies import full_promotions, limits_or_none, schedules


def through_json(document: object) -> object:
    return parse_json(json.dumps(document))


@st.composite
def promotions_maybe_zoned(draw: st.DrawFn) -> object:
    """Any promotion; half the discounts and bonuses with a per-user limit reset in a zone."""
    promotion = draw(full_promotions())
    if not isinstance(promotion, ItemDiscount | Bonus) or not draw(st.booleans()):
        return promotion
    offset = draw(schedules)
    zoned = RecurrentSchedule(
        offset.interval,
        hour=offset.hour,
        day_of_week=offset.day_of_week,
        day_of_month=offset.day_of_month,
        zone=draw(st.timezone_keys().filter(is_known_zone)),  # what every machine knows
    )
    limits = PromotionLimits(per_user=draw(limits_or_none), recurrent_schedule=zoned)
    return attrs.evolve(promotion, limits=limits)


def zone_of(promotion: object) -> str | None:
    limits = getattr(promotion, "limits", None)
    schedule = None if limits is None else limits.recurrent_schedule
    return None if schedule is None else schedule.zone


@settings(max_examples=250, deadline=None)
@given(promotions_maybe_zoned())
def test_a_stored_promotion_loads_back_as_itself(promotion):
    document = dump_stored_promotion(promotion)
    assert load_stored_promotion(through_json(document)) == promotion
    zone = zone_of(promotion)
    if zone is None:
        # Exactly what was kept before the extension existed, so kept versions do not change.
        assert document == {
            "kind": promotion.kind.value,
            "payload": dump_promotion(promotion, Form.RESPONSE),
        }
    else:
        assert document["library_extensions"] == {"recurrent_schedule_zone": zone}
        # The payload is LiveOps' own: the plain loader reads it as the hour at +00:00.
        plain = load_promotion(promotion.kind, through_json(document["payload"]), form="response")
        assert plain.limits.recurrent_schedule == attrs.evolve(
            promotion.limits.recurrent_schedule, zone=None
        )
        assert attrs.evolve(plain, limits=promotion.limits) == promotion
        # The LiveOps dump itself still refuses what LiveOps cannot carry.
        with pytest.raises(ValidationError, match="time zone names"):
            dump_promotion(promotion, Form.RESPONSE)


ZONED = ItemDiscount(
    promotion_id=3,
    discount_percent=5,
    limits=PromotionLimits(
        per_user=1, recurrent_schedule=RecurrentSchedule("daily", hour=4, zone="Asia/Tokyo")
    ),
)


def stored(**changes: object) -> dict:
    document = json.loads(json.dumps(dump_stored_promotion(ZONED)))
    for key, value in changes.items():
        if value is None:
            del document[key]
        else:
            document[key] = value
    return document


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ([], "$"),
        (stored(kind=None), "$.kind"),
        (stored(payload=None), "$.payload"),
        (stored(kind=["discount"]), "$.kind"),
        (stored(kind="voucher"), "$.kind"),
        (stored(extra=1), "$.extra"),
        (stored(library_extensions=[]), "$.library_extensions"),
        (stored(library_extensions={"zone": "UTC"}), "$.library_extensions.zone"),
        (
            stored(library_extensions={"recurrent_schedule_zone": "Mars/Olympus"}),
            "$.library_extensions.recurrent_schedule_zone",
        ),
        (
            stored(library_extensions={"recurrent_schedule_zone": 9}),
            "$.library_extensions.recurrent_schedule_zone",
        ),
    ],
)
def test_a_broken_stored_document_names_the_faulty_field(document, path):
    with pytest.raises(ValidationError) as caught:
        load_stored_promotion(document)
    assert path in [problem.path for problem in caught.value.problems]


def test_a_zone_needs_a_schedule_to_belong_to_and_no_offset():
    coupon = Coupon(external_id="c", bonus=[RewardItem("gem", 1)])
    document = {
        **dump_stored_promotion(coupon),
        "library_extensions": {"recurrent_schedule_zone": "UTC"},
    }
    with pytest.raises(ValidationError, match="recurrent per-user limit"):
        load_stored_promotion(document)
    bonus = Bonus(
        promotion_id=1,
        bonus=[RewardItem("gem", 1)],
        limits=PromotionLimits(
            per_user=1,
            recurrent_schedule=RecurrentSchedule("daily", hour=4, utc_offset=timedelta(hours=1)),
        ),
    )
    document = {
        **dump_stored_promotion(bonus),
        "library_extensions": {"recurrent_schedule_zone": "UTC"},
    }
    with pytest.raises(ValidationError) as caught:
        load_stored_promotion(document)
    assert [p.path for p in caught.value.problems] == [
        "$.payload.limits.recurrent_schedule.per_user.time"
    ]
