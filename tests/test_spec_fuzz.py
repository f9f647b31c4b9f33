"""Payloads generated from LiveOps' request schemas: each loads in its kind and form, or is
refused with a ValidationError, never another exception; and the library's own request
dumps validate against those schemas."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from liveops_rules import PromotionKind, ValidationError
from liveops_rules.wire import Form, dump_promotion, load_payload, load_update, parse_json
from tests.spec.generate import values
from tests.spec.openapi import request_schema
from tests.strategies import full_promotions, writable
from tests.test_spec_examples import REQUESTS

OPERATIONS = sorted(REQUESTS)


def _load(operation: str, data: object) -> object:
    kind, form = REQUESTS[operation]
    if form is Form.UPDATE:
        key: str | int = 1 if kind in ("discount", "bonus", "personalized_rule") else "key"
        return load_update(kind, key, data)
    return load_payload(kind, data, form=form)


@pytest.mark.parametrize("operation", OPERATIONS)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_payloads_from_request_schemas_load_or_raise_validation_error(operation, data):
    payload = data.draw(values(request_schema(operation)))
    document = parse_json(json.dumps(payload))  # as a server reads it: floats as Decimals
    with contextlib.suppress(ValidationError):
        _load(operation, document)
    with contextlib.suppress(ValidationError):
        _load(operation, payload)  # floats as a json.loads gives them


_USUAL_OPERATORS = ["eq", "ne", "gt", "ge", "lt", "le"]


def mixed_types_allowed(schema: Any) -> Any:
    """The schema with the two readings the README documents. LiveOps' schemas write
    `attribute_conditions` as one of three arrays, each of one condition type, which forbids
    mixing types in one list (its own item discount example and its servers mix them): read
    as an array of any of the three items. Their number and date operators list
    `eq ne er lt ee le`: read as the usual `eq ne gt ge lt le` (the library's, see README)."""
    if isinstance(schema, list):
        return [mixed_types_allowed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "er" in schema.get("enum", ()):
        return {**schema, "enum": _USUAL_OPERATORS}
    options = schema.get("oneOf")
    if options and all(isinstance(o, dict) and o.get("type") == "array" for o in options):
        return {
            "type": "array",
            "minItems": 1,
            "maxItems": 100,
            "items": {"oneOf": [mixed_types_allowed(o["items"]) for o in options]},
        }
    return {k: mixed_types_allowed(v) for k, v in schema.items()}


_CREATE = {
    PromotionKind.COUPON: ("admin-create-coupon", "update-coupon-promotion"),
    PromotionKind.PROMO_CODE: ("create-promo-code", "update-promo-code"),
    PromotionKind.UNIQUE_CATALOG_OFFER: (
        "admin-create-unique-catalog-offer",
        "update-unique-catalog-offer-promotion",
    ),
    PromotionKind.ITEM_DISCOUNT: ("create-item-promotion", "update-item-promotion"),
    PromotionKind.BONUS: ("create-bonus-promotion", "update-bonus-promotion"),
    PromotionKind.PERSONALIZED_RULE: ("create-filter-rule", "update-filter-rule-by-id"),
}


@settings(max_examples=200, deadline=None)
@given(full_promotions(), st.sampled_from((Form.REQUEST, Form.UPDATE)))
def test_every_request_dump_validates_against_its_operations_schema(promotion, form):
    assume(writable(promotion))
    create, update = _CREATE[promotion.kind]
    schema = mixed_types_allowed(request_schema(create if form is Form.REQUEST else update))
    document = json.loads(json.dumps(dump_promotion(promotion, form)))
    jsonschema.validate(document, schema)
