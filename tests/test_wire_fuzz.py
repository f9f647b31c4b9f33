"""The loaders only ever return a model or raise ValidationError, whatever they are given."""

from __future__ import annotations

import json
from contextlib import suppress
from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from liveops_rules import PromotionKind, ValidationError
from liveops_rules.wire import (
    PAYLOAD_KINDS,
    Form,
    dump_promotion,
    load_payload,
    load_promotion,
    parse_json,
)
from tests.strategies import full_promotions, writable

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(
        (
            "",
            "eq",
            "er",
            "string",
            "number",
            "date",
            "2026-01-01",
            "2026-01-01T00:00:00Z",
            "10.00",
            "-1",
            "daily",
            "weekly",
            "monthly",
            "02:00:00+03:00",
            "\u0663",
            "a\n",
        )
    ),
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                (
                    "external_id",
                    "name",
                    "id",
                    "rule_id",
                    "attribute_conditions",
                    "attribute",
                    "type",
                    "operator",
                    "value",
                    "can_be_missing",
                    "bonus",
                    "sku",
                    "quantity",
                    "discount",
                    "percent",
                    "limits",
                    "per_user",
                    "recurrent_schedule",
                    "interval_type",
                    "time",
                    "items",
                    "is_enabled",
                    "date_start",
                    "date_end",
                    "coupon_code",
                    "cart",
                    "count",
                    "user",
                    "available",
                    "attributes",
                    "coupons",
                    "discounts",
                    "x",
                )
            )
            | st.text(max_size=8),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)


def only_models_or_validation_errors(data: object) -> None:
    for kind in PAYLOAD_KINDS:
        with suppress(ValidationError):
            load_payload(kind, data)
    for promotion_kind in PromotionKind:
        for form in Form:
            with suppress(ValidationError):
                load_promotion(promotion_kind, data, form=form)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_arbitrary_json_values(data):
    only_models_or_validation_errors(data)


def mutate(document: object, data: st.DataObject) -> object:
    """Replace, drop or add one thing somewhere inside the document."""
    if isinstance(document, dict) and document:
        key = data.draw(st.sampled_from(sorted(document)))
        action = data.draw(st.sampled_from(("replace", "drop", "add", "descend")))
        changed = dict(document)
        if action == "replace":
            changed[key] = data.draw(json_values)
        elif action == "drop":
            del changed[key]
        elif action == "add":
            changed[data.draw(st.text(max_size=6))] = data.draw(json_values)
        else:
            changed[key] = mutate(document[key], data)
        return changed
    if isinstance(document, list) and document:
        index = data.draw(st.integers(0, len(document) - 1))
        changed_list = list(document)
        if data.draw(st.booleans()):
            changed_list[index] = mutate(document[index], data)
        else:
            changed_list.append(data.draw(json_values))
        return changed_list
    return data.draw(json_values)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(full_promotions(), st.sampled_from(Form), st.data())
def test_mutated_valid_payloads(promotion, form, data):
    if form is not Form.RESPONSE:
        assume(writable(promotion))
    document = json.loads(json.dumps(dump_promotion(promotion, form)))
    for _ in range(data.draw(st.integers(1, 3))):
        document = mutate(document, data)
    only_models_or_validation_errors(document)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_arbitrary_text_parses_or_raises_validation_error(text):
    with suppress(ValidationError):
        parse_json(text)


def test_decimal_and_float_inputs_are_handled():
    only_models_or_validation_errors({"count": Decimal("1E+999999")})
    only_models_or_validation_errors({"count": float("inf")})
