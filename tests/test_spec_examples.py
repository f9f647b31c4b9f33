"""Every example of LiveOps' promotion operations (the OpenAPI description beside the
project): each one valid against its own schema loads in its kind and form, dumps back equal
up to the README's documented normalizations, and each request dump validates against its
operation's request schema."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import jsonschema
import pytest

from liveops_rules import PromotionKind, ValidationError
from liveops_rules.wire import Form, dump_payload, dump_promotion, load_payload, load_update
from liveops_rules.wire._detect import detect_kinds
from tests.spec.openapi import Example, examples, json_schema, request_schema

# What each operation's bodies are, by operation id: the request's payload kind (with its
# form for promotions) and the success answer's.
_CODE_KINDS = {
    "coupon": PromotionKind.COUPON,
    "promo-code": PromotionKind.PROMO_CODE,
    "promocode": PromotionKind.PROMO_CODE,
    "unique-catalog-offer": PromotionKind.UNIQUE_CATALOG_OFFER,
}
REQUESTS: dict[str, tuple[str, Form | None]] = {
    "create-filter-rule": ("personalized_rule", Form.REQUEST),
    "update-filter-rule-by-id": ("personalized_rule", Form.UPDATE),
    "patch-filter-rule-by-id": ("personalized_rule_patch", None),
    "admin-create-coupon": ("coupon", Form.REQUEST),
    "update-coupon-promotion": ("coupon", Form.UPDATE),
    "create-promo-code": ("promocode", Form.REQUEST),
    "update-promo-code": ("promocode", Form.UPDATE),
    "admin-create-unique-catalog-offer": ("unique_catalog_offer", Form.REQUEST),
    "update-unique-catalog-offer-promotion": ("unique_catalog_offer", Form.UPDATE),
    "create-item-promotion": ("discount", Form.REQUEST),
    "update-item-promotion": ("discount", Form.UPDATE),
    "create-bonus-promotion": ("bonus", Form.REQUEST),
    "update-bonus-promotion": ("bonus", Form.UPDATE),
    "redeem-coupon": ("coupon_redeem_request", None),
    "redeem-promo-code": ("promocode_redeem_request", None),
    "remove-cart-promo-code": ("promocode_remove_request", None),
    "reset-all-user-promotions-limit": ("user_limit_reset", None),
    "reset-user-promotion-limit": ("user_limit_reset", None),
}
ANSWERS: dict[str, tuple[str, Form | None]] = {
    "get-filter-rules": ("personalized_rule_list", None),
    "get-all-filter-rules": ("personalized_rule_list", None),
    "get-filter-rule-by-id": ("personalized_rule", Form.RESPONSE),
    "get-promotion-list": ("promotion_list", None),
    "redeem-coupon": ("redeem_response", None),
    "get-coupon-rewards-by-code": ("code_rewards", None),
    "get-promo-code-rewards-by-code": ("code_rewards", None),
    "verify-promotion-code": ("code_verification", None),
    "redeem-promo-code": ("promocode_redeem_response", None),
    "remove-cart-promo-code": ("promocode_redeem_response", None),
    "get-coupons": ("coupon_list", None),
    "get-promo-codes": ("promocode_list", None),
    "get-unique-catalog-offers": ("unique_catalog_offer_list", None),
    "get-item-promotion-list": ("discount_list", None),
    "get-bonus-promotion-list": ("bonus_list", None),
    "get-coupon": ("coupon", Form.RESPONSE),
    "get-promo-code": ("promocode", Form.RESPONSE),
    "get-unique-catalog-offer": ("unique_catalog_offer", Form.RESPONSE),
    "get-item-promotion": ("discount", Form.RESPONSE),
    "get-bonus-promotion": ("bonus", Form.RESPONSE),
    "get-promo-code-code-limit": ("code_limits", None),
    "get-coupon-code-limit": ("code_limits", None),
}
for _noun in ("coupon", "promo-code", "unique-catalog-offer"):
    _code_noun = "promocode" if _noun == "promo-code" else _noun
    ANSWERS[f"create-{_noun}-code"] = ("code_response", None)
    ANSWERS[f"get-{_code_noun}-codes"] = ("code_list", None)
    ANSWERS[f"generate-{_noun}-codes"] = ("code_generation_response", None)
    REQUESTS[f"create-{_noun}-code"] = ("code_request", None)
    REQUESTS[f"generate-{_noun}-codes"] = ("code_generation_request", None)
for _created in (
    "create-filter-rule",
    "admin-create-coupon",
    "create-promo-code",
    "admin-create-unique-catalog-offer",
    "create-item-promotion",
    "create-bonus-promotion",
):
    ANSWERS[_created] = ("created", None)
for _verb, _name in (("add", "increase"), ("set", "set"), ("remove", "decrease")):
    for _which in (
        "user-promotion-limit",
        "promo-code-user-promotion-limit",
        "coupon-user-promotion-limit",
    ):
        REQUESTS[f"{_verb}-{_which}"] = (f"user_limit_{_name}", None)
        ANSWERS[f"{_verb}-{_which}"] = ("user_limit_response", None)
for _which in ("user-promotion-limit", "promo-code-user-limit", "coupon-user-limit"):
    ANSWERS[f"get-{_which}"] = ("user_limit_response", None)
ANSWERS["get-redeemable-promotion-by-code"] = ("", Form.RESPONSE)  # kind by example, below

# -- the README's documented normalizations ------------------------------------------------

_READ_ONLY = {
    "total_limit_state",
    "per_item",
    "reset_next_date",
    "displayable_reset_start_date",
    "displayable_reset_next_date",
}
_DESCRIPTION = {
    "name",
    "type",
    "description",
    "long_description",
    "image_url",
    "media_list",
    "unit_items",
    "inventory_options",
    "bundle_type",
    "content",
    "virtual_item_type",
    "groups",
    "attributes",
    "virtual_prices",
    "can_be_bought",
    "vp_rewards",
    "limits",
    "periods",
    "order",
}


def normalized(value: Any, key: str = "") -> Any:
    """`value` as the library writes it back: null fields, empty lists and
    `can_be_missing: false` left out, `Z` as `+00:00`, reward quantities spelled out,
    catalog descriptions of items and read-only state dropped, nested condition lists of an
    item discount body read flat."""
    if isinstance(value, dict):
        if key == "item":  # a catalog item (or code promotion) named in a list
            value = {k: v for k, v in value.items() if k in ("sku", "external_id")}
        elif "sku" in value:
            value = {k: v for k, v in value.items() if k not in _DESCRIPTION}
            if value.get("price") == []:  # LiveOps' price of a line without one
                del value["price"]
        found = {}
        for k, v in value.items():
            if k in _READ_ONLY or v is None or v == [] or (k == "can_be_missing" and v is False):
                continue
            found[k] = normalized(v, k)
        if key in ("bonus",) and "sku" in found and "quantity" not in found:
            found["quantity"] = 1
        if key == "discount" and found == {}:
            return None
        return {k: v for k, v in found.items() if v is not None}
    if isinstance(value, list):
        if key == "attribute_conditions" and value and all(isinstance(v, list) for v in value):
            value = [c for group in value for c in group]
        items = [normalized(v, "item" if key == "item" else key) for v in value]
        if key == "bonus":
            items = [
                {**i, "quantity": i.get("quantity", 1)} if isinstance(i, dict) and "sku" in i else i
                for i in items
            ]
        return items
    if isinstance(value, str) and value.endswith("Z") and "T" in value:
        return value[:-1] + "+00:00"
    return value


def _kind_and_form(example: Example) -> tuple[str, Form | None] | None:
    if example.where not in ("request", "200", "201"):
        return ("error_response", None)  # every failure answer is LiveOps' error envelope
    table = REQUESTS if example.where == "request" else ANSWERS
    found = table.get(example.operation)
    if found and found[0] == "":
        kind = "promocode" if "Promo" in example.name else "coupon"
        return kind, found[1]
    return found


def _spec_valid(example: Example) -> bool:
    validator = jsonschema.Draft7Validator(json_schema(example.schema))
    return not list(validator.iter_errors(example.value))


_PATH_KEYS: dict[str, str | int] = {"external_id": "example_id", "promotion_id": 1, "rule_id": 1}


def _load(example: Example, kind: str, form: Form | None) -> Any:
    if form is Form.UPDATE:
        parameter = next(p for p in _PATH_KEYS if "{" + p + "}" in example.path)
        return load_update(kind, _PATH_KEYS[parameter], example.value)
    return load_payload(kind, example.value, form=form)


def _dump(value: Any, form: Form | None) -> Any:
    if form is not None:
        return dump_promotion(value, form)
    return dump_payload(value)


WALKED = examples()


def _label(example: Example) -> str:
    return example.label


def test_every_promotion_operation_body_has_a_payload_kind():
    missing = [e.label for e in WALKED if _kind_and_form(e) is None]
    assert missing == []


@pytest.mark.parametrize("example", WALKED, ids=_label)
def test_each_example_loads_and_dumps_back(example: Example):
    kind, form = _kind_and_form(example)  # type: ignore[misc]
    if not _spec_valid(example):
        # Not valid against its own schema: it loads, or is refused (a ValidationError).
        with contextlib.suppress(ValidationError):
            _load(example, kind, form)
        return
    loaded = _load(example, kind, form)
    dumped = json.loads(json.dumps(_dump(loaded, form)))
    expected = example.value
    if kind == "redeem_response":  # its items keep their SKU and quantity only
        expected = {
            "items": [{"sku": i["sku"], "quantity": i["quantity"]} for i in expected["items"]]
        }
    assert normalized(dumped) == normalized(expected)
    if example.where == "request":
        jsonschema.validate(dumped, request_schema(example.operation))


def test_the_walk_counts():
    """The numbers the closing note of issue 12 gives: bodies and success answers, then
    error answers; all but two valid against their own schemas."""
    valid = [e for e in WALKED if _spec_valid(e)]
    assert len([e for e in WALKED if e.where in ("request", "200", "201")]) == 105
    assert len(WALKED) == 277
    assert len(valid) == 275


@pytest.mark.parametrize("example", WALKED, ids=_label)
def test_validate_guesses_each_examples_kind(example: Example):
    kind, _ = _kind_and_form(example)  # type: ignore[misc]
    assert kind in detect_kinds(example.value)
