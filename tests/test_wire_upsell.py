"""Upsell in LiveOps JSON: the create/update examples of the OpenAPI description load and
dump back, dumps validate against the request schema, wrong bodies are refused at their JSON
paths, item catalogs load, and an offer page fits the client answer's schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from liveops_rules import (
    CatalogItem,
    ItemCatalog,
    ItemDiscount,
    Pricing,
    Upsell,
    UpsellConfig,
    User,
    ValidationError,
    ValidityWindow,
    dump_catalog_items,
    dump_upsell,
    error_envelope,
    load_catalog_items,
    load_upsell,
)
from liveops_rules.accounting import AccountingError
from liveops_rules.stores import InMemoryStore
from tests.spec.openapi import json_schema, spec
from tests.test_wire_chains import lenient

AT = datetime(2026, 11, 28, 12, tzinfo=UTC)


def schema(name: str) -> Any:
    return lenient(json_schema(spec()["components"]["schemas"][name]))


def body_examples() -> list[tuple[str, Any]]:
    found = []
    for name in ("create-upsell", "update-upsell"):
        body = spec()["components"]["requestBodies"][name]["content"]["application/json"]
        found += [(f"{name}:{key}", ex["value"]) for key, ex in body["examples"].items()]
    return found


@pytest.mark.parametrize(("name", "example"), body_examples())
def test_each_body_example_loads_dumps_back_and_validates(name, example):
    config = load_upsell(example)
    dumped = dump_upsell(config)
    assert dumped == {**example, "items": example["items"] if config.items else []}
    assert load_upsell(dumped) == config
    wanted = "Upsell-model" if config.type.value == "fixed_list" else "Upsell-model-not-fixed-list"
    jsonschema.validate(dumped, schema(wanted))


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"type": "fixed_list", "is_enabled": True}, "$.items"),
        ({"type": "fixed_list", "items": ["a"]}, "$.is_enabled"),
        ({"is_enabled": True, "items": []}, "$.type"),
        ({"type": "best", "is_enabled": True}, "$.type"),
        ({"type": "fixed_list", "is_enabled": "yes", "items": ["a"]}, "$.is_enabled"),
        ({"type": "fixed_list", "is_enabled": True, "items": "a"}, "$.items"),
        ({"type": "fixed_list", "is_enabled": True, "items": ["a", 3]}, "$.items[1]"),
        ({"type": "fixed_list", "is_enabled": True, "items": ["a", "a"]}, "$.items[1]"),
        ({"type": "fixed_list", "is_enabled": True, "items": []}, "$.items"),
        ({"type": "most_sellable", "is_enabled": True, "extra": 1}, "$.extra"),
        ([], "$"),
    ],
)
def test_a_wrong_body_is_refused_at_its_path(body, path):
    with pytest.raises(ValidationError) as refused:
        load_upsell(body)
    assert path in [problem.path for problem in refused.value.problems]


def test_the_admin_read_items_are_read_as_their_skus():
    read = {
        "type": "fixed_list",
        "is_enabled": True,
        "items": [{"item_id": 1, "sku": "a", "name": {"en": "A"}, "type": "virtual_good"}],
    }
    assert load_upsell(read).items == ("a",)


def test_unknown_skus_answer_as_liveops_does():
    upsell = Upsell(InMemoryStore())
    with pytest.raises(AccountingError) as refused:
        upsell.put(UpsellConfig(type="fixed_list", enabled=True, items=["sku1", "sku2"]), [])
    envelope = error_envelope(refused.value.error_code, detail=refused.value.message)
    assert envelope == {
        "statusCode": 404,
        "errorCode": 4001,
        "errorMessage": "[0401-4001]: Items weren't found: sku1, sku2",
    }


ITEM_JSON = st.fixed_dictionaries(
    {
        "sku": st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
        "name": st.just({"en": "Thing"}),
    },
    optional={
        "price": st.builds(
            lambda cents: {"amount": f"{cents // 100}.{cents % 100:02d}", "currency": "USD"},
            st.integers(0, 10**6),
        ),
        "virtual_prices": st.lists(
            st.fixed_dictionaries({"sku": st.just("gold"), "amount": st.integers(0, 10**6)}),
            max_size=2,
        ),
        "item_id": st.integers(1, 10**6),
        "is_free": st.booleans(),
        "image_url": st.just("https://cdn.example/x.png"),
    },
)


@given(st.lists(ITEM_JSON, max_size=5, unique_by=lambda item: item["sku"]))
def test_item_catalogs_round_trip(items):
    loaded = load_catalog_items(items)
    for given_item, dumped in zip(items, dump_catalog_items(loaded), strict=True):
        for field in ("sku", "name", "price", "item_id", "image_url"):
            assert dumped.get(field) == given_item.get(field)
        assert dumped.get("virtual_prices", []) == given_item.get("virtual_prices", [])
        assert dumped.get("is_free", False) == given_item.get("is_free", False)
    assert load_catalog_items(dump_catalog_items(loaded)) == loaded


@pytest.mark.parametrize(
    ("items", "path"),
    [
        ([{"sku": "a"}], "$[0].name"),
        ([{"name": "A"}], "$[0].sku"),
        (
            [{"sku": "a", "name": "A", "price": {"amount": "x", "currency": "USD"}}],
            "$[0].price.amount",
        ),
        ([{"sku": "a", "name": "A", "price": {"amount": "1"}}], "$[0].price.currency"),
        ([{"sku": "a", "name": "A", "color": "red"}], "$[0].color"),
        ([{"sku": "a", "name": "A"}, {"sku": "a", "name": "B"}], "$[1].sku"),
        ({"items": 3}, "$.items"),
    ],
)
def test_a_wrong_item_catalog_is_refused_at_its_path(items, path):
    with pytest.raises(ValidationError) as refused:
        load_catalog_items(items)
    assert path in [problem.path for problem in refused.value.problems]


def test_an_offer_page_fits_the_client_answers_schema():
    items = [
        CatalogItem(sku="sword", name={"en": "Sword"}, price=Decimal("9.99"), currency="USD"),
        CatalogItem(sku="gems", name={"en": "Gems"}, image_url="https://cdn.example/g.png"),
    ]
    discount = ItemDiscount(
        promotion_id=1,
        name={"en": "Sale"},
        discount_percent="10",
        items=["sword"],
        enabled=True,
        window=ValidityWindow(AT - timedelta(days=1), None),
    )
    catalog = ItemCatalog(items, Pricing([discount]))
    upsell = Upsell(InMemoryStore())
    upsell.put(UpsellConfig(type="fixed_list", enabled=True, items=["sword", "gems"]), catalog)
    shown = upsell.offer(User("p"), AT, catalog).to_dict()
    assert [item["sku"] for item in shown["items"]] == ["sword", "gems"]
    assert shown["items"][0]["price"] == {
        "amount": "8.99",
        "amount_without_discount": "9.99",
        "currency": "USD",
    }
    jsonschema.validate(shown, schema("Upsell_item-list"))


@pytest.mark.parametrize("kind", [[], {}, 3])
def test_a_type_of_the_wrong_json_type_is_refused_at_its_path(kind):
    with pytest.raises(ValidationError) as refused:
        load_upsell({"type": kind, "is_enabled": True, "items": []})
    assert "$.type" in [problem.path for problem in refused.value.problems]


def test_an_item_type_liveops_does_not_know_is_refused():
    with pytest.raises(ValidationError):
        load_catalog_items([{"sku": "a", "name": "A", "type": "weapon"}])
    with pytest.raises(ValidationError):
        dump_catalog_items([1])  # type: ignore[list-item]
