"""The direct loader of plain promotion payloads builds exactly what the detailed path does.

`load_promotion` tries `direct_promotion` first and falls back to the payload classes and
`_translate` (the detailed path, which reports every problem). These tests generate payloads
of every kind, valid and broken field by field, and load each twice: with the direct loader
and with it switched off. Whatever the direct loader builds must be what the detailed path
builds, value for value (repr and the compiled `gate` included); whatever the detailed path
refuses, the direct loader must leave to it. And the direct loader must take the plain
payloads it exists for, or it saves nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveops_rules import Promotion, PromotionKind, User, ValidationError
from liveops_rules import wire as wire_module
from liveops_rules.wire import (
    CATALOG_SECTIONS,
    Form,
    dump_promotion,
    load_catalog,
    load_promotion,
    load_user,
)
from liveops_rules.wire._direct import direct_promotion, direct_user

from .strategies import full_promotions


@contextmanager
def detailed_only() -> Iterator[None]:
    """`load_promotion` without its direct loader: every payload through the detailed path."""
    with mock.patch.object(wire_module, "direct_promotion", return_value=None):
        yield


def detailed(kind: PromotionKind, data: object, form: Form | None) -> Promotion | ValidationError:
    with detailed_only():
        try:
            return load_promotion(kind, data, "$", form)
        except ValidationError as error:
            return error


def assert_same(built: Promotion, expected: Promotion | ValidationError) -> None:
    assert not isinstance(expected, ValidationError), expected
    assert type(built) is type(expected)
    assert built == expected
    assert repr(built) == repr(expected)  # Decimal text, offsets: nothing only equal
    assert built.gate == expected.gate
    assert [c.check for c in built.conditions] == [c.check for c in expected.conditions]


MOMENTS = [
    None,
    "2026-11-01T00:00:00+00:00",
    "2026-12-01T10:30:00+03:00",
    "2026-11-01T00:00:00Z",
    "2026-11-01T00:00:00",
    "2026-11-01",
    "2026-13-01T00:00:00+00:00",
    "soon",
    5,
]
CONDITION_VALUES: dict[str, list[Any]] = {
    "attribute": ["level", "tier", "bad attribute", "", 5, None],
    "type": ["string", "number", "date", "bool", 1],
    "operator": ["eq", "ne", "gt", "le", "er", "EQ", None],
    "value": ["10", "-2.5", "gold", "2026-01-31", "2026-01-31T00:00:00+00:00", "1e5", "", 10],
    "can_be_missing": [True, False, None, 1, 0, "true", Decimal(1)],
    "extra": [1],
}


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    fields = draw(
        st.sets(st.sampled_from(sorted(CONDITION_VALUES))).map(
            lambda keys: keys | ({"attribute", "type", "operator", "value"} if keys else set())
        )
    )
    drop = draw(st.sampled_from([None, "attribute", "type", "operator", "value"]))
    return {
        key: draw(st.sampled_from(CONDITION_VALUES[key]))
        for key in sorted(fields)
        if (key != drop and key != "extra") or (key == "extra" and draw(st.booleans()))
    }


def condition_lists() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.lists(conditions(), max_size=4),
        st.lists(st.lists(conditions(), min_size=1, max_size=2), min_size=1, max_size=2),
        st.sampled_from(["level", 5, {"attribute": "level"}]),
    )


def items_of(values: list[Any], max_size: int = 3) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.lists(st.sampled_from(values), max_size=max_size))


REWARDS = [
    {"sku": "chest", "quantity": 2},
    {"sku": "chest"},
    {"sku": "gem", "quantity": None},
    {"sku": "gem", "quantity": 0},
    {"sku": "gem", "quantity": Decimal(2)},
    {"sku": "gem", "quantity": Decimal("2.5")},
    {"sku": "gem", "quantity": True},
    {"sku": "bad sku", "quantity": 1},
    {"sku": 7},
    {"sku": "gem", "colour": "red"},
    "gem",
]
PRICES = [
    {"operator": "gt", "value": "10"},
    {"operator": "le", "value": "9.99"},
    {"operator": "ge", "value": "1.23456"},
    {"operator": "er", "value": "1"},
    {"operator": "gt", "value": 10},
    {"operator": None, "value": "1"},
    {"value": "1"},
    {"operator": "gt", "value": "1", "currency": "USD"},
]
SKUS = [{"sku": "sword"}, {"sku": "bad sku"}, {"sku": 1}, {}, {"sku": "a", "x": 1}, "sword"]
SHOWN = [
    {"sku": "sword"},
    {"item_id": 3},
    {"sku": "sword", "item_id": 3},
    {},
    {"item_id": 0},
    {"sku": "sword", "name": "Sword"},
    {"sku": None, "item_id": None},
]
DISCOUNTS = [
    None,
    {"percent": "10.00"},
    {"percent": "100"},
    {"percent": "0"},
    {"percent": "101"},
    {"percent": 10},
    {"percent": None},
    {},
    {"percent": "5", "amount": "1"},
    "10",
]
SCHEDULE = {"interval_type": "weekly", "day_of_week": 1, "time": "02:00:00+03:00"}
LIMITS = [
    None,
    {},
    {"per_user": 5},
    {"per_user": None},
    {"per_user": 0},
    {"per_user": True},
    {"per_user": {"total": 5}},
    {"per_user": {"total": None}},
    {"per_user": {}},
    {"per_user": {"total": 5, "left": 1}},
    {"per_user": 3, "per_item": 2},
    {"per_user": 3, "recurrent_schedule": {"per_user": SCHEDULE}},
    {"per_user": "5"},
    [5],
]
STATES = [None, {"available": 1, "used": 0}, {"reserved": True}, {"left": 1}, 5]

COMMON: dict[str, st.SearchStrategy[Any]] = {
    "name": st.sampled_from(
        [
            {"en": "Winter"},
            {"en-US": "Winter", "de": "Winter"},
            {},
            {"english": "W"},
            {"en": 5},
            {"en": None},
            "Winter",
            None,
        ]
    ),
    "date_start": st.sampled_from(MOMENTS),
    "date_end": st.sampled_from(MOMENTS),
    "promotion_periods": st.sampled_from([None, [], [{"date_from": "2026-11-01T00:00:00+00:00"}]]),
    "is_enabled": st.sampled_from([True, False, None, 1, "yes"]),
    "attribute_conditions": condition_lists(),
    "unknown": st.just(1),
}
IDS = st.sampled_from(["winter", "w.1-x_2", "", "bad id", 5, None, "x" * 256])
NUMBERS = st.sampled_from([1, 500, 0, -1, 2**31, True, Decimal(2), Decimal("2.5"), "3", None])
CODE_LIMITS: dict[str, st.SearchStrategy[Any]] = {
    "external_id": IDS,
    "redeem_total_limit": NUMBERS,
    "redeem_user_limit": NUMBERS,
    "redeem_code_limit": NUMBERS,
    "total_limit_state": st.sampled_from(STATES),
}
CART_RULES: dict[str, st.SearchStrategy[Any]] = {
    "price_conditions": items_of(PRICES),
    "excluded_promotions": st.one_of(
        st.none(), st.lists(st.sampled_from([1, 7, 0, True, "1", Decimal(3)]), max_size=3)
    ),
}
FIELDS: dict[PromotionKind, dict[str, st.SearchStrategy[Any]]] = {
    PromotionKind.COUPON: {**COMMON, **CODE_LIMITS, "bonus": items_of(REWARDS)},
    PromotionKind.PROMO_CODE: {
        **COMMON,
        **CODE_LIMITS,
        **CART_RULES,
        "bonus": items_of(REWARDS),
        "discount": st.sampled_from(DISCOUNTS),
        "discounted_items": st.sampled_from(
            [None, [], [{"sku": "sword", "discount": {"percent": "5"}}]]
        ),
        "item_price_conditions": items_of(PRICES),
    },
    PromotionKind.ITEM_DISCOUNT: {
        **COMMON,
        **CART_RULES,
        "id": NUMBERS,
        "discount": st.sampled_from(DISCOUNTS),
        "items": items_of(SKUS),
        "limits": st.sampled_from(LIMITS),
    },
    PromotionKind.BONUS: {
        **COMMON,
        **CART_RULES,
        "id": NUMBERS,
        "bonus": items_of(REWARDS),
        "condition": items_of(SKUS),
        "limits": st.sampled_from(LIMITS),
    },
    PromotionKind.UNIQUE_CATALOG_OFFER: {
        **COMMON,
        **CODE_LIMITS,
        "items": items_of(["sword", "shield", "bad sku", 1]),
    },
    PromotionKind.PERSONALIZED_RULE: {
        "name": st.sampled_from(["Rule", " Rule", "", 5, None, {"en": "Rule"}]),
        "rule_id": NUMBERS,
        "is_enabled": COMMON["is_enabled"],
        "is_satisfied_for_unauth": COMMON["is_enabled"],
        "attribute_conditions": condition_lists(),
        "items": items_of(SHOWN),
        "unknown": st.just(1),
    },
}
# What a plain, valid payload of each kind holds, before the fields drawn above replace some.
BASES: dict[PromotionKind, dict[str, Any]] = {
    PromotionKind.COUPON: {"external_id": "winter", "name": {"en": "Winter"}},
    PromotionKind.PROMO_CODE: {"external_id": "winter", "name": {"en": "Winter"}},
    PromotionKind.ITEM_DISCOUNT: {"id": 3, "name": {"en": "Sale"}, "discount": {"percent": "5"}},
    PromotionKind.BONUS: {"id": 4, "name": {"en": "Gift"}, "bonus": [{"sku": "chest"}]},
    PromotionKind.UNIQUE_CATALOG_OFFER: {"external_id": "offer", "name": {"en": "Offer"}},
    PromotionKind.PERSONALIZED_RULE: {"rule_id": 5, "name": "Rule"},
}


@st.composite
def payloads(draw: st.DrawFn) -> tuple[PromotionKind, dict[str, Any], Form | None]:
    kind = draw(st.sampled_from(list(PromotionKind)))
    fields = FIELDS[kind]
    data = dict(BASES[kind])
    for key in draw(st.sets(st.sampled_from(sorted(fields)), max_size=3)):
        data[key] = draw(fields[key])
    for key in draw(st.sets(st.sampled_from(sorted(data)), max_size=1)):
        del data[key]
    form = draw(st.sampled_from([None, Form.REQUEST, Form.RESPONSE]))
    return kind, data, form


@settings(max_examples=1500)
@given(payloads())
def test_what_the_direct_loader_builds_is_what_the_detailed_path_builds(
    case: tuple[PromotionKind, dict[str, Any], Form | None],
) -> None:
    kind, data, form = case
    expected = detailed(kind, data, form)
    built = direct_promotion(kind, data, form)
    if built is not None:
        assert_same(built, expected)
    # And load_promotion answers as the detailed path, whichever path it took.
    try:
        loaded: Promotion | ValidationError = load_promotion(kind, data, "$", form)
    except ValidationError as error:
        loaded = error
    assert type(loaded) is type(expected)
    if isinstance(expected, ValidationError):
        assert isinstance(loaded, ValidationError)
        assert loaded.problems == expected.problems
    else:
        assert loaded == expected
        assert repr(loaded) == repr(expected)


@settings(max_examples=300)
@given(full_promotions())
def test_dumped_promotions_load_directly_when_plain(promotion: Promotion) -> None:
    """Any promotion dumped by this library loads back through the direct loader unless it
    has one of the parts the direct loader leaves to the detailed path."""
    for form in (Form.RESPONSE, Form.REQUEST):
        try:
            document = dump_promotion(promotion, form)
        except ValidationError:  # what a form cannot carry (a rule written without items)
            continue
        expected = detailed(promotion.kind, document, form)
        built = direct_promotion(promotion.kind, document, form)
        limits = document.get("limits") or {}
        conditions = document.get("attribute_conditions") or []
        detailed_parts = (
            "promotion_periods" in document
            or "discounted_items" in document
            or bool(limits.keys() - {"per_user"})
            or any(isinstance(c, list) for c in conditions)
            or any(not isinstance(r.get("quantity", 1), int) for r in document.get("bonus") or [])
        )
        if built is None:
            assert detailed_parts, document
        else:
            assert_same(built, expected)


@pytest.mark.parametrize("kind", list(PromotionKind))
def test_plain_payloads_of_every_kind_load_directly(kind: PromotionKind) -> None:
    data = {
        **BASES[kind],
        "attribute_conditions": [
            {"attribute": "tier", "type": "string", "operator": "eq", "value": "gold"},
            {"attribute": "level", "type": "number", "operator": "ge", "value": "10.5"},
            {
                "attribute": "joined",
                "type": "date",
                "operator": "lt",
                "value": "2026-01-31",
                "can_be_missing": True,
            },
        ],
    }
    if kind is not PromotionKind.PERSONALIZED_RULE:
        data["date_start"] = "2026-11-01T00:00:00+03:00"
        data["is_enabled"] = True
    if kind is PromotionKind.UNIQUE_CATALOG_OFFER:
        del data["attribute_conditions"]
    for form in (None, Form.RESPONSE):
        built = direct_promotion(kind, data, form)
        assert built is not None
        assert_same(built, detailed(kind, data, form))


def test_a_catalog_loads_alike_with_and_without_the_direct_loader() -> None:
    catalog = {
        section: [
            {**BASES[kind], "is_enabled": True}
            if kind is PromotionKind.PERSONALIZED_RULE
            else {**BASES[kind], "is_enabled": True, "date_end": "2027-01-01T00:00:00Z"}
        ]
        for section, kind in CATALOG_SECTIONS.items()
    }
    catalog["coupons"].append({**BASES[PromotionKind.COUPON], "redeem_user_limit": True})
    with detailed_only(), pytest.raises(ValidationError) as expected:
        load_catalog(catalog)
    with pytest.raises(ValidationError) as found:
        load_catalog(catalog)
    assert found.value.problems == expected.value.problems
    catalog["coupons"].pop()
    with detailed_only():
        expected_promotions = load_catalog(catalog)
    assert load_catalog(catalog) == expected_promotions


GOLD = {"attribute": "tier", "type": "string", "operator": "eq", "value": "gold"}
TRICKY: list[tuple[PromotionKind, dict[str, Any], Form | None]] = [
    # A condition seen before, then the same with 1 for true: equal keys, refused values.
    (
        PromotionKind.COUPON,
        {**BASES[PromotionKind.COUPON], "attribute_conditions": [{**GOLD, "can_be_missing": True}]},
        None,
    ),
    (
        PromotionKind.COUPON,
        {**BASES[PromotionKind.COUPON], "attribute_conditions": [{**GOLD, "can_be_missing": 1}]},
        None,
    ),
    (
        PromotionKind.COUPON,
        {
            **BASES[PromotionKind.COUPON],
            "attribute_conditions": [{**GOLD, "can_be_missing": Decimal(0)}],
        },
        None,
    ),
    # limits.per_user: an int as written, {total} as read; either when no form is named.
    *(
        (kind, {**BASES[kind], "limits": limits}, form)
        for kind in (PromotionKind.ITEM_DISCOUNT, PromotionKind.BONUS)
        for limits in ({"per_user": 5}, {"per_user": {"total": 5}}, {"per_user": None})
        for form in (None, Form.REQUEST, Form.RESPONSE)
    ),
    # The same without the response's `id`: a request body (create), so the direct loader's
    # request branch is reached.
    *(
        (kind, {k: v for k, v in BASES[kind].items() if k != "id"} | {"limits": limits}, form)
        for kind in (PromotionKind.ITEM_DISCOUNT, PromotionKind.BONUS)
        for limits in ({"per_user": 5}, {"per_user": {"total": 5}}, {"per_user": None})
        for form in (None, Form.REQUEST, Form.RESPONSE)
    ),
    # Fields of the other form.
    (PromotionKind.COUPON, {**BASES[PromotionKind.COUPON], "is_enabled": True}, Form.REQUEST),
    (
        PromotionKind.COUPON,
        {**BASES[PromotionKind.COUPON], "total_limit_state": {"used": 1}},
        Form.REQUEST,
    ),
    (PromotionKind.ITEM_DISCOUNT, BASES[PromotionKind.ITEM_DISCOUNT], Form.REQUEST),
    (PromotionKind.PERSONALIZED_RULE, BASES[PromotionKind.PERSONALIZED_RULE], Form.REQUEST),
    # An external id: required in a body, even as null; absent from an update's only.
    (PromotionKind.COUPON, {"name": {"en": "W"}}, None),
    (PromotionKind.COUPON, {"name": {"en": "W"}, "external_id": None}, None),
    # Empty lists, each as LiveOps and the detailed path read them.
    (PromotionKind.ITEM_DISCOUNT, {**BASES[PromotionKind.ITEM_DISCOUNT], "items": []}, None),
    (PromotionKind.BONUS, {**BASES[PromotionKind.BONUS], "condition": []}, None),
    (PromotionKind.BONUS, {**BASES[PromotionKind.BONUS], "bonus": []}, None),
    (PromotionKind.PROMO_CODE, {**BASES[PromotionKind.PROMO_CODE], "price_conditions": []}, None),
    (PromotionKind.PROMO_CODE, {**BASES[PromotionKind.PROMO_CODE], "discount": {}}, None),
    (PromotionKind.COUPON, {**BASES[PromotionKind.COUPON], "attribute_conditions": []}, None),
    (
        PromotionKind.COUPON,
        {**BASES[PromotionKind.COUPON], "attribute_conditions": [GOLD] * 101},
        None,
    ),
    (
        PromotionKind.COUPON,
        {**BASES[PromotionKind.COUPON], "attribute_conditions": [GOLD] * 100},
        None,
    ),
]


@pytest.mark.parametrize("case", TRICKY, ids=lambda case: repr(case)[:90])
def test_edge_cases_are_loaded_or_refused_as_the_detailed_path_does(
    case: tuple[PromotionKind, dict[str, Any], Form | None],
) -> None:
    kind, data, form = case
    expected = detailed(kind, data, form)
    built = direct_promotion(kind, data, form)
    if built is None:
        assert isinstance(expected, ValidationError)  # each valid case here is plain
    else:
        assert_same(built, expected)


# -- users ---------------------------------------------------------------------------------

ATTRIBUTE_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.sampled_from(["10", "2026-01-31", "gold", "x" * 300, "\ud800"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)
ATTRIBUTE_NAMES = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["level", "tier", "bad name", "", "x" * 300]),
    st.integers(),
    st.none(),
)


@st.composite
def user_documents(draw: st.DrawFn) -> object:
    if draw(st.integers(0, 20)) == 0:
        return draw(st.one_of(st.none(), st.integers(), st.text(max_size=3), st.lists(st.none())))
    document: dict[Any, Any] = {}
    if draw(st.booleans()):
        document["id"] = draw(
            st.one_of(st.none(), st.text(max_size=8), st.integers(), st.booleans(), st.just(""))
        )
    if draw(st.booleans()):
        document["attributes"] = draw(
            st.one_of(
                st.none(),
                st.dictionaries(ATTRIBUTE_NAMES, ATTRIBUTE_VALUES, max_size=4),
                st.lists(st.integers(), max_size=2),
                st.text(max_size=2),
            )
        )
    if draw(st.integers(0, 9)) == 0:
        document[draw(st.sampled_from(["name", "extra", 5]))] = 1
    return document


def _detailed_user(data: object) -> User | ValidationError:
    with mock.patch.object(wire_module, "direct_user", return_value=None):
        try:
            return load_user(data)
        except ValidationError as error:
            return error


@settings(max_examples=1000)
@given(user_documents())
def test_a_user_is_loaded_directly_as_the_detailed_path_loads_it(data: object) -> None:
    expected = _detailed_user(data)
    built = direct_user(data)
    if built is None:  # left to the detailed path, which must then be what load_user gives
        try:
            loaded: User | ValidationError = load_user(data)
        except ValidationError as error:
            loaded = error
        if isinstance(expected, ValidationError):
            assert isinstance(loaded, ValidationError)
            assert loaded.problems == expected.problems
        else:
            assert loaded == expected
        return
    assert not isinstance(expected, ValidationError), expected
    assert built == expected
    assert repr(built) == repr(expected)
    assert dict(built.attributes) == dict(expected.attributes)


def test_plain_users_load_directly() -> None:
    for document in (
        {
            "id": "u1",
            "attributes": {"level": "42", "tier": "gold", "spent": Decimal("10.5"), "vip": True},
        },
        {"id": None, "attributes": {}},
        {"attributes": {"level": 3}},
        {"id": "u2"},
        {},
    ):
        assert direct_user(document) == _detailed_user(document), document
