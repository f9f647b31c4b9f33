"""The loaders only ever return a model or raise ValidationError, whatever they are given."""

from __future__ import annotations

import json
import re
from contextlib import suppress
from decimal import Decimal

import pytest
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


def json_paths(document: object, path: str = "$") -> set[str]:
    """Every path into `document`, written as the library writes them (object keys as `.key`
    and, for the keys of localized names, `['key']`)."""
    found = {path}
    if isinstance(document, dict):
        for key, value in document.items():
            found |= json_paths(value, f"{path}.{key}")
            found.add(f"{path}[{key!r}]")
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found |= json_paths(value, f"{path}[{index}]")
    return found


_MISSING_FIELD = re.compile(r"\.([A-Za-z_]+)$")


def assert_paths_name_the_json(data: object, error: ValidationError) -> None:
    """Each problem is at a place of the JSON sent, or at a field missing from an object
    there: never at a name of the library's own models."""
    paths = json_paths(data)
    for problem in error.problems:
        missing = _MISSING_FIELD.search(problem.path)
        parent = problem.path[: missing.start()] if missing else None
        assert problem.path in paths or parent in paths, problem


def only_models_or_validation_errors(data: object) -> None:
    for kind in PAYLOAD_KINDS:
        try:
            load_payload(kind, data)
        except ValidationError as error:
            assert_paths_name_the_json(data, error)
    for promotion_kind in PromotionKind:
        for form in Form:
            try:
                load_promotion(promotion_kind, data, form=form)
            except ValidationError as error:
                assert_paths_name_the_json(data, error)


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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


def test_a_bad_locale_is_reported_where_the_json_has_it():
    # Was `$.pairs['english']`, the name of LocalizedName's own attribute.
    only_models_or_validation_errors({"external_id": "c", "name": {"english": "x"}})
    with pytest.raises(ValidationError) as caught:
        load_promotion("coupon", {"external_id": "c", "name": {"english": "x"}})
    assert [p.path for p in caught.value.problems] == ["$.name['english']"]
