"""Dump and load are inverse: load(dump(m)) == m, and dump(load(x)) == x up to defaults."""

from __future__ import annotations

import json
import random

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from liveops_rules import (
    Bonus,
    Coupon,
    PersonalizedCatalogRule,
    PromotionKind,
    RewardItem,
    StringCondition,
    UniqueCatalogOffer,
    ValidationError,
    ValidityWindow,
)
from liveops_rules.wire import (
    Form,
    dump_catalog,
    dump_promotion,
    load_catalog,
    load_promotion,
    load_update,
    parse_json,
)
from liveops_rules.wire._forms import FIELDS
from tests.strategies import BASE, full_promotions, writable


def through_json(document: object) -> object:
    return parse_json(json.dumps(document))


def without_server_fields(promotion):
    """What a request form carries: no LiveOps-assigned ids, no is_enabled where LiveOps
    switches it with activate/deactivate."""
    changes = {}
    if promotion.kind in (
        PromotionKind.COUPON,
        PromotionKind.PROMO_CODE,
        PromotionKind.UNIQUE_CATALOG_OFFER,
        PromotionKind.ITEM_DISCOUNT,
        PromotionKind.BONUS,
    ):
        changes["enabled"] = False
    if promotion.kind in (PromotionKind.ITEM_DISCOUNT, PromotionKind.PERSONALIZED_RULE):
        changes["promotion_id"] = None
    return attrs.evolve(promotion, **changes)


@settings(max_examples=400, deadline=None)
@given(full_promotions())
def test_load_of_a_response_dump_is_the_model(promotion):
    document = dump_promotion(promotion, Form.RESPONSE)
    assert load_promotion(promotion.kind, through_json(document), form=Form.RESPONSE) == promotion


@settings(max_examples=400, deadline=None)
@given(full_promotions())
def test_load_of_a_request_dump_is_the_model_without_server_fields(promotion):
    assume(writable(promotion))
    document = dump_promotion(promotion, Form.REQUEST)
    loaded = load_promotion(promotion.kind, through_json(document), form=Form.REQUEST)
    assert loaded == without_server_fields(promotion)


@settings(max_examples=200, deadline=None)
@given(full_promotions())
def test_load_update_of_an_update_dump_is_the_model_under_its_path_id(promotion):
    assume(writable(promotion) and promotion.key is not None)
    document = dump_promotion(promotion, Form.UPDATE)
    assert "external_id" not in document
    key = promotion.external_id or promotion.promotion_id
    loaded = load_update(promotion.kind, key, through_json(document), current=promotion)
    expected = without_server_fields(promotion)
    assert loaded == attrs.evolve(
        expected,
        enabled=promotion.enabled,
        external_id=promotion.external_id,
        promotion_id=promotion.promotion_id,
    )


def add_documented_defaults(document: dict, rng: random.Random) -> dict:
    """The same payload written with defaults spelled out: null for absent optional fields,
    `can_be_missing: false`, empty lists, `+00:00` as `Z`."""
    noisy = json.loads(json.dumps(document))
    optional_nulls = (
        "date_start",
        "date_end",
        "redeem_total_limit",
        "redeem_user_limit",
        "redeem_code_limit",
        "attribute_conditions",
        "price_conditions",
        "item_price_conditions",
        "discounted_items",
        "discount",
        "condition",
        "limits",
    )
    for key in optional_nulls:
        if key not in noisy and rng.random() < 0.5:
            noisy[key] = None
    for key in ("excluded_promotions", "bonus", "items"):
        if key not in noisy and rng.random() < 0.5:
            noisy[key] = []
    conditions = noisy.get("attribute_conditions") or []
    if conditions and isinstance(conditions[0], list):  # an item discount body's groups
        conditions = [c for group in conditions for c in group]
    for condition in conditions:
        if condition.get("can_be_missing") is False and rng.random() < 0.5:
            del condition["can_be_missing"]
    for key in ("date_start", "date_end"):
        value = noisy.get(key)
        if isinstance(value, str) and value.endswith("+00:00") and rng.random() < 0.5:
            noisy[key] = value[: -len("+00:00")] + "Z"
    limits = noisy.get("limits")
    if isinstance(limits, dict):
        for key in ("per_user", "recurrent_schedule"):
            if key not in limits and rng.random() < 0.5:
                limits[key] = None
    return noisy


@settings(max_examples=400, deadline=None)
@given(full_promotions(), st.sampled_from(Form), st.randoms(use_true_random=False))
def test_dump_of_a_load_is_the_payload_up_to_documented_defaults(promotion, form, rng):
    assume(form is Form.RESPONSE or writable(promotion))
    canonical = dump_promotion(promotion, form)
    written = add_documented_defaults(canonical, rng)
    fields = FIELDS[promotion.kind][form]
    written = {key: value for key, value in written.items() if key in fields}
    loaded = load_promotion(promotion.kind, through_json(written), form=form)
    assert dump_promotion(loaded, form) == canonical


def test_catalogs_round_trip():
    coupon = Coupon(external_id="c", enabled=True, name={"en": "C"})
    bonus = Bonus(promotion_id=4, bonus=[RewardItem("gem", 2)])
    assert load_catalog(through_json(dump_catalog([coupon, bonus]))) == [coupon, bonus]


def test_what_liveops_cannot_carry_is_refused_not_dropped():
    offer = UniqueCatalogOffer(external_id="o", conditions=[StringCondition("a", "eq", "b")])
    with pytest.raises(ValidationError, match="conditions"):
        dump_promotion(offer)
    rule = PersonalizedCatalogRule(name="r", window=ValidityWindow(BASE))
    with pytest.raises(ValidationError, match="window"):
        dump_promotion(rule)


def test_numbers_are_written_as_plain_decimal_text():
    from decimal import Decimal

    from liveops_rules import NumberCondition, PriceCondition, PromoCode

    code = PromoCode(
        external_id="P",
        discount_percent=Decimal("1E+1"),
        price_conditions=[PriceCondition("ge", Decimal("1E+3"))],
        conditions=[NumberCondition("level", "ge", Decimal("2E+2"))],
    )
    document = dump_promotion(code)
    assert document["discount"] == {"percent": "10"}
    assert document["price_conditions"] == [{"operator": "ge", "value": "1000"}]
    assert document["attribute_conditions"][0]["value"] == "200"


def test_a_response_dump_at_a_moment_carries_the_reset_fields():
    from datetime import UTC, datetime, timedelta

    from liveops_rules import ItemDiscount, PromotionLimits, RecurrentSchedule

    discount = ItemDiscount(
        promotion_id=3,
        discount_percent=10,
        limits=PromotionLimits(
            per_user=2,
            recurrent_schedule=RecurrentSchedule(
                "weekly", hour=0, day_of_week=1, utc_offset=timedelta(hours=3)
            ),
        ),
    )
    at = datetime(2026, 11, 25, 12, tzinfo=UTC)  # a Wednesday
    schedule = dump_promotion(discount, Form.RESPONSE, at=at)["limits"]["recurrent_schedule"]
    assert schedule["per_user"]["displayable_reset_start_date"] == "2026-11-23T00:00:00+03:00"
    assert schedule["per_user"]["displayable_reset_next_date"] == "2026-11-30T00:00:00+03:00"
    assert schedule["per_user"]["reset_next_date"] == int(
        datetime(2026, 11, 29, 21, tzinfo=UTC).timestamp()
    )
    assert (
        load_promotion(
            "discount",
            through_json(dump_promotion(discount, Form.RESPONSE, at=at)),
            form=Form.RESPONSE,
        )
        == discount
    )
