"""The LiveOps wire format of daily chains and offer chains: every example of the offer chain
admin operations in the OpenAPI description loads, dumps valid against its schema and loads
back equal (or, where the example breaks a documented rule, is refused there); the error
examples are what the loaders raise for the matching bodies; daily chain bodies written from
chains.md load as the models they describe; wrong inputs are refused at their JSON paths;
catalogs carry both kinds of chain; models round-trip through every form."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import liveops_rules
from liveops_rules import (
    ChainConfigError,
    DailyChain,
    DailyChainStep,
    DailyChainType,
    OfferChain,
    OfferChainStep,
    OfferItem,
    RecurrentSchedule,
    RewardItem,
    StringCondition,
    ValidationError,
    ValidityWindow,
    chain_config_envelope,
    validation_envelope,
)
from liveops_rules.models.ladder_answers import (
    CreatedDailyChain,
    CreatedOfferChain,
    DailyChainPage,
    OfferChainPage,
    OfferChainSummary,
)
from liveops_rules.wire import (
    PAYLOAD_KINDS,
    ChainCatalog,
    Form,
    dump_catalog,
    dump_daily_chain,
    dump_offer_chain,
    dump_payload,
    load_catalog,
    load_chain_catalog,
    load_daily_chain,
    load_daily_chain_update,
    load_offer_chain,
    load_offer_chain_update,
    load_payload,
)
from liveops_rules.wire._detect import detect_kinds
from tests.spec.openapi import PREFIX, Example, _examples_of, json_schema, resolve, spec
from tests.strategies import full_conditions
from tests.test_wire_chains import lenient
from tests.test_wire_fuzz import assert_paths_name_the_json, mutate

# -- the walk of the offer chain admin operations ------------------------------------------

KINDS: dict[str, dict[str, tuple[str, Form | None]]] = {
    "admin-get-offer-chains": {"200": ("offer_chain_list", None)},
    "admin-create-offer-chain": {
        "request": ("offer_chain", Form.REQUEST),
        "201": ("offer_chain_created", None),
    },
    "admin-get-offer-chain": {"200": ("offer_chain", Form.RESPONSE)},
    "admin-update-offer-chain": {"request": ("offer_chain", Form.UPDATE)},
    "admin-delete-offer-chain": {},
    "admin-toggle-offer-chain": {},
}
_ADMIN = "/admin/offer_chain"


def _offer_examples() -> list[Example]:
    found = []
    for path, methods in spec()["paths"].items():
        if _ADMIN not in path:
            continue
        for method, operation in methods.items():
            if not isinstance(operation, dict):
                continue
            bodies = []
            if "requestBody" in operation:
                bodies.append(("request", resolve(operation["requestBody"])))
            bodies += [(status, resolve(a)) for status, a in operation["responses"].items()]
            for where, body in bodies:
                for content in body.get("content", {}).values():
                    for name, value in _examples_of(content):
                        found.append(
                            Example(
                                method,
                                path.removeprefix(PREFIX),
                                operation["operationId"],
                                where,
                                name,
                                value,
                                content.get("schema", {}),
                            )
                        )
    return found


WALKED = _offer_examples()
BODIES = [e for e in WALKED if e.where in ("request", "200", "201")]
AUTH = [e for e in WALKED if e.where == "401"]
ERRORS = [e for e in WALKED if e.where not in ("request", "200", "201", "401")]

# Examples of the OpenAPI file that break rules its own documentation states, each with the
# refusal the loader gives: the create example sells one SKU at steps 1 and 4 ("an SKU can't
# be at two steps"), the read example has two items in step 1 (6301: "only one item per
# step is allowed") and one SKU at three steps.
BROKEN = {
    ("admin-create-offer-chain", "request", "default"): (None, ["$.steps[3].items"]),
    ("admin-get-offer-chain", "200", "response"): (6301, ["$.steps[0].items"]),
}


def _kind(example: Example) -> tuple[str, Form | None]:
    return KINDS[example.operation][example.where]


def _key(example: Example) -> tuple[str, str, str]:
    return (example.operation, example.where, example.name)


def _valid(schema: Any, value: Any) -> bool:
    validator = jsonschema.Draft7Validator(lenient(json_schema(schema)))
    return not list(validator.iter_errors(value))


def _validate(value: Any, schema: Any) -> None:
    jsonschema.validate(value, lenient(json_schema(schema)))


def _example(operation: str, where: str, name: str) -> Any:
    found = [e for e in WALKED if _key(e) == (operation, where, name)]
    assert len(found) == 1
    return copy.deepcopy(found[0].value)


def _schema(operation: str, where: str) -> Any:
    return next(e.schema for e in WALKED if (e.operation, e.where) == (operation, where))


def _component(name: str) -> Any:
    return {"$ref": f"#/components/schemas/{name}"}


def test_the_walk_finds_every_offer_chain_admin_operation():
    operations = {
        op["operationId"]
        for path, methods in spec()["paths"].items()
        if _ADMIN in path
        for op in methods.values()
        if isinstance(op, dict)
    }
    assert operations == set(KINDS)
    assert len(BODIES) == 7
    assert len(ERRORS) >= 15
    assert len(AUTH) == len(KINDS)
    assert all(_kind(e)[0] in PAYLOAD_KINDS for e in BODIES)
    assert set(BROKEN) <= {_key(e) for e in BODIES}


@pytest.mark.parametrize(
    "example", [e for e in BODIES if _key(e) not in BROKEN], ids=lambda e: e.label
)
def test_each_example_loads_dumps_valid_and_loads_back_equal(example: Example):
    kind, form = _kind(example)
    loaded = load_payload(kind, example.value, form=form)
    dumped = json.loads(json.dumps(dump_payload(loaded, form or Form.REQUEST)))
    assert _valid(example.schema, example.value)
    assert _valid(example.schema, dumped), dumped
    assert load_payload(kind, dumped, form=form) == loaded


@pytest.mark.parametrize("example", BODIES, ids=lambda e: e.label)
def test_validate_guesses_each_examples_kind(example: Example):
    assert detect_kinds(example.value)[0] == _kind(example)[0]


@pytest.mark.parametrize("key", sorted(BROKEN), ids=":".join)
def test_an_example_breaking_a_documented_rule_is_refused_there(key):
    code, paths = BROKEN[key]
    kind, form = KINDS[key[0]][key[1]]
    with pytest.raises(ValidationError) as caught:
        load_payload(kind, _example(*key), form=form)
    assert [p.path for p in caught.value.problems] == paths
    if code is None:
        assert not isinstance(caught.value, ChainConfigError)
    else:
        assert isinstance(caught.value, ChainConfigError)
        assert caught.value.error_code == code


def test_the_create_example_with_one_sku_a_step_loads_and_dumps_valid():
    document = _example("admin-create-offer-chain", "request", "default")
    for step in document["steps"]:
        step["items"][0]["sku"] += f"_at_{step['step_number']}"
    chain = load_offer_chain(document, form=Form.REQUEST)
    assert [s.is_free for s in chain.steps] == [False, False, False, True, True, True]
    assert chain.steps[3].items == (OfferItem("vg_enabled_shown_in_store_1_at_4", 1),)
    assert chain.enabled
    assert chain.window.end is None
    dumped = dump_offer_chain(chain, Form.REQUEST)
    _validate(dumped, _schema("admin-create-offer-chain", "request"))
    assert dumped["steps"][3] == {
        "step_number": 4,
        "is_free": True,
        "items": [{"sku": "vg_enabled_shown_in_store_1_at_4", "quantity": 1}],
    }


def test_the_read_example_with_one_item_a_step_loads_as_its_fields_say():
    document = _example("admin-get-offer-chain", "200", "response")
    document["steps"][0]["items"].pop()  # the health potion: a step holds one item
    for step in document["steps"]:
        step["items"][0]["sku"] = f"telescope_{step['step_number']}"
    chain = load_offer_chain(document, form=Form.RESPONSE)
    assert chain.chain_id == 3
    assert [s.step_id for s in chain.steps] == [7, 6, 5]
    assert [s.items for s in chain.steps] == [
        (OfferItem("telescope_1", 1, 1),),
        (OfferItem("telescope_2", 5, 0),),
        (OfferItem("telescope_3", 2, 0),),
    ]
    assert chain.name["ru"] == "Цепочка"
    assert chain.window == ValidityWindow(
        datetime(2023, 4, 15, 18, 16, tzinfo=timezone(timedelta(hours=5))),
        datetime(2025, 4, 25, 18, 16, tzinfo=timezone(timedelta(hours=5))),
    )
    dumped = json.loads(json.dumps(dump_offer_chain(chain, Form.RESPONSE)))
    _validate(dumped, _schema("admin-get-offer-chain", "200"))
    assert dumped["steps"][1] == {
        "step_id": 6,
        "step_number": 2,
        "is_free": False,
        "step_price": None,
        "items": [{"sku": "telescope_2", "quantity": 5, "order": 0}],
    }
    assert load_offer_chain(dumped, form=Form.RESPONSE) == chain
    # Its create and update bodies are valid against their own schemas.
    _validate(dump_offer_chain(chain, Form.REQUEST), _schema("admin-create-offer-chain", "request"))
    _validate(dump_offer_chain(chain, Form.UPDATE), _schema("admin-update-offer-chain", "request"))


def test_the_list_example_reads_as_summaries_and_its_reset_fields_are_recomputed():
    page = load_payload("offer_chain_list", _example("admin-get-offer-chains", "200", "response"))
    assert isinstance(page, OfferChainPage)
    assert page.has_more is False
    assert page.total_count is None
    assert [c.chain_id for c in page.chains] == [1, 2, 3]
    weekly, monthly, plain = page.chains
    assert weekly.recurrent_schedule == RecurrentSchedule(
        "weekly", 7, timedelta(hours=3), day_of_week=3
    )
    assert monthly.recurrent_schedule == RecurrentSchedule(
        "monthly", 15, timedelta(hours=8), day_of_month=28
    )
    assert plain.recurrent_schedule is None
    assert plain.enabled
    # LiveOps' own reset_next_date values: the next Wednesday 07:00 at +03:00 after
    # 2018-12-04, and 28 May 2025 15:00 at +08:00.
    before = datetime(2018, 12, 4, 12, tzinfo=timezone(timedelta(hours=3)))
    read = dump_offer_chain(weekly, Form.RESPONSE, at=before)["recurrent_schedule"]
    assert read["reset_next_date"] == 1543982400
    assert read["displayable_reset_next_date"] == "2018-12-05T07:00:00+03:00"
    read = dump_offer_chain(monthly, Form.RESPONSE, at=datetime(2025, 5, 1, tzinfo=UTC))
    assert read["recurrent_schedule"]["reset_next_date"] == 1748415600
    _validate(read, _component("admin-offer-chain-short-model"))


def test_a_read_schedules_reset_next_date_may_be_seconds_or_milliseconds():
    document = _example("admin-get-offer-chains", "200", "response")["items"][0]
    seconds = load_payload("offer_chain_list", {"items": [document]})
    document["recurrent_schedule"]["reset_next_date"] = 1711904400000  # LiveOps' ms example
    assert load_payload("offer_chain_list", {"items": [document]}) == seconds
    document["recurrent_schedule"]["reset_next_date"] = "1711904400"
    with pytest.raises(ValidationError) as caught:
        load_payload("offer_chain_list", {"items": [document]})
    assert [p.path for p in caught.value.problems] == [
        "$.items[0].recurrent_schedule.reset_next_date"
    ]


def test_the_created_answer_loads_and_dumps_back():
    answer = load_payload("offer_chain_created", {"offer_chain_id": 10})
    assert answer == CreatedOfferChain(10)
    assert dump_payload(answer) == {"offer_chain_id": 10}
    daily = load_payload("daily_chain_created", {"daily_chain_id": 4})
    assert daily == CreatedDailyChain(4)
    assert dump_payload(daily) == {"daily_chain_id": 4}
    assert detect_kinds({"daily_chain_id": 4}) == ("daily_chain_created",)
    for kind, document in (
        ("offer_chain_created", {"offer_chain_id": 0}),
        ("offer_chain_created", {"offer_chain_id": "10"}),
        ("daily_chain_created", {"daily_chain_id": 1, "x": 1}),
    ):
        with pytest.raises(ValidationError) as caught:
            load_payload(kind, document)
        assert len(caught.value.problems) == 1
        assert caught.value.problems[0].path.startswith("$.")


# -- LiveOps' error examples are what the loaders raise ------------------------------------


def _offer_body(steps: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {
        "name": {"en": "Chain"},
        "date_start": "2023-04-15T18:16:00+05:00",
        "is_enabled": False,
        "steps": steps,
        **fields,
    }


def _offer_step(number: int, items: int = 1, step_id: int | None = None) -> dict[str, Any]:
    step: dict[str, Any] = {
        "step_number": number,
        "is_free": False,
        "items": [{"sku": f"item_{number}_{n}", "quantity": 1} for n in range(items)],
    }
    if step_id is not None:
        step["step_id"] = step_id
    return step


def _steps(*numbers: int) -> list[dict[str, Any]]:
    return [
        _offer_step(n) | {"items": [{"sku": f"s{i}", "quantity": 1}]} for i, n in enumerate(numbers)
    ]


def _too_many_steps() -> Any:
    return load_offer_chain(_offer_body([_offer_step(n) for n in range(1, 32)]), form="request")


def _bad_numbers() -> Any:
    return load_offer_chain(_offer_body(_steps(1, 2, 2, 7, 7, 8)), form="request")


def _too_many_items() -> Any:
    steps = [_offer_step(1, items=2), _offer_step(2), _offer_step(3), _offer_step(4, items=3)]
    return load_offer_chain(_offer_body(steps), form="request")


def _bad_dates() -> Any:
    body = _offer_body(
        [_offer_step(1)], date_start="2023-04-15 17:16:00Z", date_end="2025-04-25 19:16:00Z"
    )
    return load_offer_chain_update(body, 1)


def _bad_period() -> Any:
    body = _offer_body(
        [_offer_step(1)],
        date_start="2025-04-25T18:16:00+05:00",
        date_end="2023-04-15T18:16:00+05:00",
    )
    return load_offer_chain_update(body, 1)


def _other_id() -> Any:
    return load_offer_chain_update(_offer_body([_offer_step(1)], id=2), 1)


def _twice_ids() -> Any:
    steps = [_offer_step(n, step_id=8 + (n - 1) // 2) for n in range(1, 7)]
    return load_offer_chain_update(_offer_body(steps), 3)


# Each load-time error example, with a body that breaks the same rule.
RAISED = {
    "too-many-steps-error": (_too_many_steps, ["$.steps"]),
    "incorrect-steps-order-error": (_bad_numbers, ["$.steps"]),
    "item-limit-exceeded": (_too_many_items, ["$.steps[0].items"]),
    "invalid-dates": (_bad_dates, ["$.date_start", "$.date_end"]),
    "incorrect-period": (_bad_period, ["$.date_end"]),
    "chain-id-mismatch": (_other_id, ["$.id"]),
    "chain-step-ids-duplication": (_twice_ids, ["$.steps"]),
}
# What a loader cannot know: the store's items, step ids and chains.
NOT_AT_LOAD = {"incorrect-items", "invalid-chain-step-ids", "active-offer-chain", "not-found"}


@pytest.mark.parametrize("example", AUTH, ids=lambda e: e.label)
def test_an_authentication_error_example_loads_and_dumps_back(example: Example):
    answer = load_payload("error_response", example.value)
    assert answer.error_code == 1020
    assert dump_payload(answer) == example.value


def test_every_error_example_is_a_load_time_code_or_the_stores():
    assert {e.name for e in ERRORS} == set(RAISED) | NOT_AT_LOAD


@pytest.mark.parametrize("name", sorted(RAISED))
def test_an_error_example_is_what_the_loader_raises(name):
    raise_it, paths = RAISED[name]
    with pytest.raises(ChainConfigError) as caught:
        raise_it()
    envelope = chain_config_envelope(caught.value)
    for example in (e for e in ERRORS if e.name == name):
        expected = dict(example.value["errorMessageExtended"])
        for server_only in ("project_id", "chain_id"):
            expected.pop(server_only, None)
        assert envelope["errorMessageExtended"] == expected
        assert envelope["errorCode"] == example.value["errorCode"]
        assert envelope["statusCode"] == example.value["statusCode"]
        assert _valid(example.schema, envelope)
    assert [p.path for p in caught.value.problems] == paths


# -- daily chains, as chains.md writes them ------------------------------------------------

PLUS3 = timezone(timedelta(hours=3))

DAILY_CREATE: dict[str, Any] = {
    "name": {"en": "Daily login", "de": "Täglich"},
    "description": {"en": "Come back every day"},
    "order": 1,
    "date_start": "2026-03-01T00:00:00+03:00",
    "date_end": "2026-04-01T00:00:00+03:00",
    "is_enabled": False,
    "type": "calendar_hard",
    "is_recurrent": True,
    "steps": [
        {"step_number": 1, "items": [{"sku": "gold", "quantity": 100}]},
        {
            "step_number": 2,
            "items": [{"sku": "gold", "quantity": 200}, {"sku": "chest_small", "quantity": 1}],
        },
        {"step_number": 3, "items": [{"sku": "chest_big", "quantity": 1}]},
    ],
}
DAILY_UPDATE: dict[str, Any] = {
    "id": 12,
    "name": {"en": "Daily login"},
    "date_start": "2026-03-01T00:00:00+03:00",
    "is_enabled": False,
    "type": "rolling",
    "steps": [
        {"step_id": None, "step_number": 2, "items": [{"sku": "chest_big", "quantity": 1}]},
        {"step_id": 31, "step_number": 1, "items": [{"sku": "gold", "quantity": 100}]},
    ],
}
DAILY_READ: dict[str, Any] = {
    "id": 12,
    "name": {"en": "Daily login"},
    "description": {"en": "Come back every day"},
    "order": 1,
    "date_start": "2026-03-01T00:00:00+03:00",
    "date_end": None,
    "is_enabled": True,
    "type": "rolling",
    "is_recurrent": False,
    "number_of_steps": 2,
    "steps": [
        {
            "step_id": 31,
            "step_number": 1,
            "items": [
                {
                    "item_id": 9010,
                    "sku": "gold",
                    "name": {"en": "Gold"},
                    "type": "virtual_currency",
                    "description": {"en": "Shiny"},
                    "quantity": 100,
                }
            ],
        },
        {
            "step_id": 32,
            "step_number": 2,
            "items": [
                {
                    "item_id": 9012,
                    "sku": "chest_big",
                    "name": {"en": "Big chest"},
                    "type": "bundle",
                    "description": None,
                    "quantity": 1,
                }
            ],
        },
    ],
}


def test_a_daily_create_body_loads_as_the_chain_it_describes():
    chain = load_daily_chain(DAILY_CREATE, form=Form.REQUEST)
    assert chain == DailyChain(
        name={"en": "Daily login", "de": "Täglich"},
        description={"en": "Come back every day"},
        order=1,
        window=ValidityWindow(
            datetime(2026, 3, 1, tzinfo=PLUS3), datetime(2026, 4, 1, tzinfo=PLUS3)
        ),
        enabled=False,
        type=DailyChainType.CALENDAR_HARD,
        recurrent=True,
        steps=[
            DailyChainStep(step_number=1, items=[RewardItem("gold", 100)]),
            DailyChainStep(
                step_number=2, items=[RewardItem("gold", 200), RewardItem("chest_small", 1)]
            ),
            DailyChainStep(step_number=3, items=[RewardItem("chest_big", 1)]),
        ],
    )
    assert dump_daily_chain(chain, Form.REQUEST) == DAILY_CREATE
    assert detect_kinds(DAILY_CREATE) == ("daily_chain",)


def test_a_daily_update_body_keeps_its_ids_and_sorts_its_steps():
    chain = load_daily_chain_update(DAILY_UPDATE, 12)
    assert chain.chain_id == 12
    assert chain.type is DailyChainType.ROLLING
    assert not chain.recurrent
    assert [(s.step_number, s.step_id) for s in chain.steps] == [(1, 31), (2, None)]
    assert load_payload("daily_chain", DAILY_UPDATE, form=Form.UPDATE) == chain
    without_id = {k: v for k, v in DAILY_UPDATE.items() if k != "id"}
    assert load_daily_chain_update(without_id, 12) == chain
    assert load_daily_chain(without_id, form=Form.UPDATE).chain_id is None
    assert dump_daily_chain(chain, Form.UPDATE) == {
        "id": 12,
        "name": {"en": "Daily login"},
        "date_start": "2026-03-01T00:00:00+03:00",
        "is_enabled": False,
        "type": "rolling",
        "is_recurrent": False,
        "steps": [
            {"step_id": 31, "step_number": 1, "items": [{"sku": "gold", "quantity": 100}]},
            {"step_number": 2, "items": [{"sku": "chest_big", "quantity": 1}]},
        ],
    }


def test_a_daily_read_drops_the_items_descriptions_and_counts_its_steps():
    chain = load_daily_chain(DAILY_READ, form=Form.RESPONSE)
    assert chain.chain_id == 12
    assert chain.enabled
    assert chain.window == ValidityWindow(datetime(2026, 3, 1, tzinfo=PLUS3))
    assert [s.step_id for s in chain.steps] == [31, 32]
    assert chain.steps[0].items == (RewardItem("gold", 100),)
    assert chain.day_zone is None
    expected = copy.deepcopy(DAILY_READ)
    del expected["date_end"]
    for step in expected["steps"]:
        step["items"] = [{"sku": i["sku"], "quantity": i["quantity"]} for i in step["items"]]
    assert dump_daily_chain(chain, Form.RESPONSE) == expected
    assert load_daily_chain(DAILY_READ) == chain  # either form
    assert detect_kinds(DAILY_READ) == ("daily_chain",)


def test_the_daily_admin_list_holds_reads():
    document = {"has_more": False, "total_items_count": 1, "items": [DAILY_READ]}
    page = load_payload("daily_chain_list", document)
    assert isinstance(page, DailyChainPage)
    assert page.chains == (load_daily_chain(DAILY_READ, form=Form.RESPONSE),)
    assert page.total_count == 1
    assert detect_kinds(document) == ("daily_chain_list",)
    assert load_payload("daily_chain_list", dump_payload(page)) == page
    with pytest.raises(ValidationError) as caught:
        load_payload("daily_chain_list", {"items": [DAILY_READ, {**DAILY_READ, "order": -1}]})
    assert [p.path for p in caught.value.problems] == ["$.items[1].order"]


def test_day_zone_is_not_liveops_and_travels_only_as_a_library_extension():
    chain = attrs.evolve(load_daily_chain(DAILY_CREATE), day_zone="Europe/Berlin")
    for form in Form:
        assert "library_extensions" not in dump_daily_chain(chain, form)
        assert "day_zone" not in json.dumps(dump_daily_chain(chain, form))
    extended = dump_daily_chain(chain, Form.REQUEST, extensions=True)
    assert extended["library_extensions"] == {"day_zone": "Europe/Berlin"}
    assert load_daily_chain(extended, form=Form.REQUEST, extensions=True) == chain
    with pytest.raises(ValidationError) as caught:
        load_daily_chain(extended, form=Form.REQUEST)  # a LiveOps body has no such field
    assert [p.path for p in caught.value.problems] == ["$.library_extensions"]
    for extensions, path in (
        ({"day_zone": "Mars/Olympus"}, "$.library_extensions.day_zone"),
        ({"day_zone": 3}, "$.library_extensions.day_zone"),
        ({"zone": "UTC"}, "$.library_extensions.zone"),
        ([], "$.library_extensions"),
    ):
        with pytest.raises(ValidationError) as caught:
            load_daily_chain({**DAILY_CREATE, "library_extensions": extensions}, extensions=True)
        assert [p.path for p in caught.value.problems] == [path]


# -- wrong inputs, each refused at its path ------------------------------------------------

OFFER_CREATE = ("admin-create-offer-chain", "request", "recurrent")
OFFER_UPDATE = ("admin-update-offer-chain", "request", "default")
OFFER_UPDATE_ID = ("admin-update-offer-chain", "request", "recurrent")
OFFER_LIST = ("admin-get-offer-chains", "200", "response")


def _read_example() -> dict[str, Any]:
    document = _example("admin-get-offer-chain", "200", "response")
    document["steps"][0]["items"].pop()
    for step in document["steps"]:
        step["items"][0]["sku"] = f"telescope_{step['step_number']}"
    document["steps"][0]["step_price"] = {"amount": 99.99, "currency": "USD"}
    return document


def _set(document: Any, path: str, value: Any) -> None:
    parts: list[str | int] = [
        int(p) if p.isdigit() else p for p in path.replace("]", "").replace("[", ".").split(".")
    ]
    for part in parts[:-1]:
        document = document[part]
    if value is _DELETE:
        del document[parts[-1]]
    else:
        document[parts[-1]] = value


_DELETE = object()

WRONG: list[tuple[str, Any, Form | None, str, Any, str]] = [
    ("daily_chain", DAILY_CREATE, Form.REQUEST, "surprise", 1, "$.surprise"),
    ("daily_chain", DAILY_CREATE, Form.REQUEST, "name", _DELETE, "$.name"),
    ("daily_chain", DAILY_CREATE, Form.REQUEST, "name", {}, "$.name"),
    ("daily_chain", DAILY_CREATE, Form.REQUEST, "name", {"english": "a"}, "$.name['english']"),
    ("daily_chain", DAILY_CREATE, Form.REQUEST, "date_start", _DELETE, "$.date_start"),
    ("daily_chain", DAILY_CREATE, Form.REQUEST, "date_start", 17, "$.date_start"),
    ("daily_chain", DAILY_CREATE, Form.REQUEST, "is_enabled", _DELETE, "$.is_enabled"),
    ("daily_chain", DAILY_CREATE, Form.REQUEST, "is_enabled", "yes", "$.is_enabled"),
    ("daily_chain", DAILY_CREATE, Form.REQUEST, "type", _DELETE, "$.type"),
    ("daily_chain", DAILY_CREATE, Form.REQUEST, "type", "weekly", "$.type"),
    ("daily_chain", DAILY_CREATE, Form.REQUEST, "is_recurrent", 1, "$.is_recurrent"),
    ("daily_chain", DAILY_CREATE, Form.REQUEST, "order", -1, "$.order"),
    ("daily_chain", DAILY_CREATE, Form.REQUEST, "order", 1.5, "$.order"),
    ("daily_chain", DAILY_CREATE, Form.REQUEST, "steps", _DELETE, "$.steps"),
    ("daily_chain", DAILY_CREATE, Form.REQUEST, "steps", [], "$.steps"),
    ("daily_chain", DAILY_CREATE, Form.REQUEST, "steps", {}, "$.steps"),
    ("daily_chain", DAILY_CREATE, Form.REQUEST, "id", 3, "$.id"),
    ("daily_chain", DAILY_CREATE, Form.REQUEST, "number_of_steps", 3, "$.number_of_steps"),
    ("daily_chain", DAILY_CREATE, Form.REQUEST, "steps[0].step_id", 1, "$.steps[0].step_id"),
    (
        "daily_chain",
        DAILY_CREATE,
        Form.REQUEST,
        "steps[0].step_number",
        0,
        "$.steps[0].step_number",
    ),
    ("daily_chain", DAILY_CREATE, Form.REQUEST, "steps[1].items", [], "$.steps[1].items"),
    ("daily_chain", DAILY_CREATE, Form.REQUEST, "steps[1].odd", 1, "$.steps[1].odd"),
    (
        "daily_chain",
        DAILY_CREATE,
        Form.REQUEST,
        "steps[1].items[1].quantity",
        _DELETE,
        "$.steps[1].items[1].quantity",
    ),
    (
        "daily_chain",
        DAILY_CREATE,
        Form.REQUEST,
        "steps[1].items[1].quantity",
        0,
        "$.steps[1].items[1].quantity",
    ),
    (
        "daily_chain",
        DAILY_CREATE,
        Form.REQUEST,
        "steps[0].items[0].sku",
        "a b",
        "$.steps[0].items[0].sku",
    ),
    (
        "daily_chain",
        DAILY_CREATE,
        Form.REQUEST,
        "steps[0].items[0].item_id",
        9,
        "$.steps[0].items[0].item_id",
    ),
    ("daily_chain", DAILY_UPDATE, Form.UPDATE, "steps[1].step_id", 0, "$.steps[1].step_id"),
    ("daily_chain", DAILY_UPDATE, Form.UPDATE, "number_of_steps", 2, "$.number_of_steps"),
    ("daily_chain", DAILY_UPDATE, Form.UPDATE, "id", "12", "$.id"),
    ("daily_chain", DAILY_READ, Form.RESPONSE, "number_of_steps", 3, "$.number_of_steps"),
    (
        "daily_chain",
        DAILY_READ,
        Form.RESPONSE,
        "steps[0].items[0].surprise",
        1,
        "$.steps[0].items[0].surprise",
    ),
    ("offer_chain", OFFER_CREATE, Form.REQUEST, "surprise", "x", "$.surprise"),
    ("offer_chain", OFFER_CREATE, Form.REQUEST, "description", {"en": 3}, "$.description.en"),
    (
        "offer_chain",
        OFFER_CREATE,
        Form.REQUEST,
        "description",
        {"english": "x"},
        "$.description['english']",
    ),
    ("offer_chain", OFFER_CREATE, Form.REQUEST, "is_enabled", _DELETE, "$.is_enabled"),
    ("offer_chain", OFFER_CREATE, Form.REQUEST, "steps", _DELETE, "$.steps"),
    ("offer_chain", OFFER_CREATE, Form.REQUEST, "id", 1, "$.id"),
    ("offer_chain", OFFER_CREATE, Form.REQUEST, "steps[0].step_id", 1, "$.steps[0].step_id"),
    ("offer_chain", OFFER_CREATE, Form.REQUEST, "steps[0].is_free", _DELETE, "$.steps[0].is_free"),
    ("offer_chain", OFFER_CREATE, Form.REQUEST, "steps[0].is_free", 0, "$.steps[0].is_free"),
    (
        "offer_chain",
        OFFER_CREATE,
        Form.REQUEST,
        "steps[0].step_price",
        None,
        "$.steps[0].step_price",
    ),
    (
        "offer_chain",
        OFFER_CREATE,
        Form.REQUEST,
        "steps[1].items[0].order",
        -1,
        "$.steps[1].items[0].order",
    ),
    (
        "offer_chain",
        OFFER_CREATE,
        Form.REQUEST,
        "steps[1].items[0].type",
        "bundle",
        "$.steps[1].items[0].type",
    ),
    (
        "offer_chain",
        OFFER_CREATE,
        Form.REQUEST,
        "steps[1].items[0].quantity",
        _DELETE,
        "$.steps[1].items[0].quantity",
    ),
    (
        "offer_chain",
        OFFER_CREATE,
        Form.REQUEST,
        "steps[1].items[0].sku",
        "",
        "$.steps[1].items[0].sku",
    ),
    ("offer_chain", OFFER_CREATE, Form.REQUEST, "steps[1].items", [], "$.steps[1].items"),
    (
        "offer_chain",
        OFFER_CREATE,
        Form.REQUEST,
        "recurrent_schedule.time",
        "07:30:00+03:00",
        "$.recurrent_schedule.time",
    ),
    (
        "offer_chain",
        OFFER_CREATE,
        Form.REQUEST,
        "recurrent_schedule",
        {"interval_type": "daily", "time": "07:00:00+03:00"},
        "$.recurrent_schedule.interval_type",
    ),
    (
        "offer_chain",
        OFFER_CREATE,
        Form.REQUEST,
        "recurrent_schedule.reset_next_date",
        1,
        "$.recurrent_schedule.reset_next_date",
    ),
    ("offer_chain", OFFER_CREATE, Form.REQUEST, "is_always_visible", "no", "$.is_always_visible"),
    ("offer_chain", OFFER_CREATE, Form.REQUEST, "is_reset_on_completion", None, None),
    (
        "offer_chain",
        OFFER_CREATE,
        Form.REQUEST,
        "is_reset_on_completion",
        1,
        "$.is_reset_on_completion",
    ),
    (
        "offer_chain",
        OFFER_CREATE,
        Form.REQUEST,
        "attribute_conditions",
        [],
        "$.attribute_conditions",
    ),
    (
        "offer_chain",
        OFFER_CREATE,
        Form.REQUEST,
        "attribute_conditions",
        [{"attribute": "tier", "type": "colour", "operator": "eq", "value": "gold"}],
        "$.attribute_conditions[0].type",
    ),
    ("offer_chain", OFFER_UPDATE, Form.UPDATE, "steps[2].step_id", 0, "$.steps[2].step_id"),
    (
        "offer_chain",
        OFFER_UPDATE,
        Form.UPDATE,
        "steps[4].items[0].sku",
        "vg_enabled_shown_in_store_1",
        "$.steps[4].items",
    ),
    (
        "offer_chain",
        "read",
        Form.RESPONSE,
        "steps[0].step_price.amount",
        "99.99",
        "$.steps[0].step_price.amount",
    ),
    (
        "offer_chain",
        "read",
        Form.RESPONSE,
        "steps[0].step_price",
        {"amount": 1},
        "$.steps[0].step_price.currency",
    ),
    ("offer_chain", "read", Form.RESPONSE, "steps[0].items[0].image_url", 5, None),
    ("offer_chain", "read", Form.RESPONSE, "id", 0, "$.id"),
    ("offer_chain", "read", Form.RESPONSE, "steps", _DELETE, "$.steps"),
    ("offer_chain_list", OFFER_LIST, None, "items[0].steps", [], "$.items[0].steps"),
    ("offer_chain_list", OFFER_LIST, None, "items[1].name", _DELETE, "$.items[1].name"),
    ("offer_chain_list", OFFER_LIST, None, "items[2].surprise", 1, "$.items[2].surprise"),
    ("offer_chain_list", OFFER_LIST, None, "has_more", "no", "$.has_more"),
    ("offer_chain_list", OFFER_LIST, None, "items", {}, "$.items"),
]


def _source(source: Any) -> Any:
    if source == "read":
        return _read_example()
    if isinstance(source, tuple):
        return _example(*source)
    return copy.deepcopy(source)


@pytest.mark.parametrize(("kind", "source", "form", "where", "value", "path"), WRONG)
def test_a_wrong_input_is_refused_at_its_path_and_only_there(
    kind, source, form, where, value, path
):
    document = _source(source)
    load_payload(kind, document, form=form)
    _set(document, where, value)
    if path is None:  # accepted: a null or any JSON where the library reads past
        load_payload(kind, document, form=form)
        return
    with pytest.raises(ValidationError) as caught:
        load_payload(kind, document, form=form)
    assert [p.path for p in caught.value.problems] == [path]
    assert not isinstance(caught.value, ChainConfigError)
    envelope = validation_envelope(caught.value)
    assert envelope["errorCode"] == 1102
    assert envelope["errorMessageExtended"][0]["path"] == path


def test_every_problem_is_reported_at_once():
    # The shape first (every fault of it), then the values (every fault of them); the
    # chain's own fields, which its model checks, once its steps are right.
    document = copy.deepcopy(DAILY_READ)
    document["order"] = -1
    document["number_of_steps"] = 5
    document["steps"][0]["items"][0]["quantity"] = 0
    document["steps"][1]["items"][0]["sku"] = "a b"
    document["surprise"] = True
    document["steps"][1]["step_number"] = "2"
    with pytest.raises(ValidationError) as caught:
        load_daily_chain(document, form=Form.RESPONSE)
    assert sorted(p.path for p in caught.value.problems) == ["$.steps[1].step_number", "$.surprise"]
    del document["surprise"]
    document["steps"][1]["step_number"] = 2
    with pytest.raises(ValidationError) as caught:
        load_daily_chain(document, form=Form.RESPONSE)
    assert sorted(p.path for p in caught.value.problems) == [
        "$.number_of_steps",
        "$.steps[0].items[0].quantity",
        "$.steps[1].items[0].sku",
    ]
    document["number_of_steps"] = 2
    document["steps"][0]["items"][0]["quantity"] = 1
    document["steps"][1]["items"][0]["sku"] = "chest"
    document["name"] = {}
    with pytest.raises(ValidationError) as caught:
        load_daily_chain(document, form=Form.RESPONSE)
    assert sorted(p.path for p in caught.value.problems) == ["$.name", "$.order"]


# -- LiveOps' chain configuration codes ----------------------------------------------------


def _daily(steps: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {**copy.deepcopy(DAILY_CREATE), "steps": steps, **fields}


def _daily_step(number: int, items: int = 1, step_id: int | None = None) -> dict[str, Any]:
    step: dict[str, Any] = {
        "step_number": number,
        "items": [{"sku": f"i{n}", "quantity": 1} for n in range(items)],
    }
    if step_id is not None:
        step["step_id"] = step_id
    return step


CODES: list[tuple[str, Any, int, list[str], dict[str, Any]]] = [
    (
        "31 daily steps",
        lambda: load_daily_chain(_daily([_daily_step(n) for n in range(1, 32)])),
        6203,
        ["$.steps"],
        {"step_count": 31, "max_steps": 30},
    ),
    (
        "11 items in a daily step, given third",
        lambda: load_daily_chain(_daily([_daily_step(3), _daily_step(1), _daily_step(2, 11)])),
        6301,
        ["$.steps[2].items"],
        {"max_items": 10, "steps_exceeded_limits": [{"step_number": 2, "items_count": 11}]},
    ),
    (
        "daily step numbers 1, 3",
        lambda: load_daily_chain(_daily([_daily_step(1), _daily_step(3)])),
        6302,
        ["$.steps"],
        {"incorrect_step_numbers": {"duplicates": [], "out_of_range": [3], "missing": [2]}},
    ),
    (
        "a daily step id twice",
        lambda: load_daily_chain_update(
            _daily([_daily_step(1, step_id=4), _daily_step(2, step_id=4)]), 12
        ),
        6207,
        ["$.steps"],
        {"chain_step_id_list": [4]},
    ),
    (
        "a daily body's other id",
        lambda: load_daily_chain_update({**DAILY_UPDATE, "id": 13}, 12),
        6205,
        ["$.id"],
        {"url_chain_id": 12, "body_chain_id": 13},
    ),
    (
        "a daily end before its start",
        lambda: load_daily_chain(_daily(DAILY_CREATE["steps"], date_end="2026-02-01T00:00:00Z")),
        6204,
        ["$.date_end"],
        {
            "invalid_periods": [
                {"start": "2026-03-01T00:00:00+03:00", "end": "2026-02-01T00:00:00Z"}
            ]
        },
    ),
    (
        "a daily end at its start",
        lambda: load_daily_chain(_daily(DAILY_CREATE["steps"], date_end="2026-02-28T21:00:00Z")),
        6204,
        ["$.date_end"],
        {
            "invalid_periods": [
                {"start": "2026-03-01T00:00:00+03:00", "end": "2026-02-28T21:00:00Z"}
            ]
        },
    ),
    (
        "a daily start without an offset",
        lambda: load_daily_chain(_daily(DAILY_CREATE["steps"], date_start="2026-03-01T00:00:00")),
        6204,
        ["$.date_start"],
        {"invalid_format_dates": {"date_start": "2026-03-01T00:00:00"}},
    ),
    (
        "an offer end that is no date",
        lambda: load_offer_chain(_offer_body([_offer_step(1)], date_end="soon")),
        6204,
        ["$.date_end"],
        {"invalid_format_dates": {"date_end": "soon"}},
    ),
    (
        "an offer SKU's second item, JSON steps reversed",
        lambda: load_offer_chain(_offer_body([_offer_step(2, 2), _offer_step(1)])),
        6301,
        ["$.steps[0].items"],
        {"max_items": 1, "steps_exceeded_limits": [{"step_number": 2, "items_count": 2}]},
    ),
]


@pytest.mark.parametrize(
    ("label", "load", "code", "paths", "extended"), CODES, ids=[c[0] for c in CODES]
)
def test_each_code_comes_with_its_payload_at_its_json_path(label, load, code, paths, extended):
    with pytest.raises(ChainConfigError) as caught:
        load()
    assert caught.value.error_code == code
    assert [p.path for p in caught.value.problems] == paths
    assert caught.value.extended == extended
    envelope = chain_config_envelope(caught.value)
    assert envelope["errorCode"] == code
    assert envelope["errorMessage"].startswith(f"[0401-{code}]: ")


def test_a_models_code_is_prefixed_with_the_path_it_was_loaded_at():
    document = _daily([_daily_step(2), _daily_step(1, 11)])
    with pytest.raises(ChainConfigError) as caught:
        load_daily_chain(document, "$.daily_chains[4]")
    assert type(caught.value) is ChainConfigError
    assert caught.value.error_code == 6301
    assert [p.path for p in caught.value.problems] == ["$.daily_chains[4].steps[1].items"]
    with pytest.raises(ChainConfigError) as caught:
        load_offer_chain(_offer_body(_steps(1, 1)), "$.offer_chains[0]")
    assert caught.value.error_code == 6302
    assert [p.path for p in caught.value.problems] == ["$.offer_chains[0].steps"]
    assert caught.value.extended == {
        "incorrect_step_numbers": {"duplicates": [1], "out_of_range": [], "missing": [2]}
    }


def test_plain_problems_come_before_the_codes_and_then_one_code_at_a_time():
    # A wrong type and a bad period: the 1102 problem alone.
    document = _daily(DAILY_CREATE["steps"], date_end="2020-01-01T00:00:00Z", is_recurrent="no")
    with pytest.raises(ValidationError) as caught:
        load_daily_chain(document)
    assert not isinstance(caught.value, ChainConfigError)
    assert [p.path for p in caught.value.problems] == ["$.is_recurrent"]
    # A mismatched id and a bad date: 6205 first.
    with pytest.raises(ChainConfigError) as caught:
        load_daily_chain_update({**DAILY_UPDATE, "id": 1, "date_start": "x"}, 12)
    assert caught.value.error_code == 6205
    # A bad date and too many steps: 6204 first.
    document = _daily([_daily_step(n) for n in range(1, 32)], date_start="x")
    with pytest.raises(ChainConfigError) as caught:
        load_daily_chain(document)
    assert caught.value.error_code == 6204
    # A model's own plain problem beside its code: both, as a ValidationError.
    document = _daily([_daily_step(1), _daily_step(3)], order=-1)
    with pytest.raises(ValidationError) as caught:
        load_daily_chain(document)
    assert not isinstance(caught.value, ChainConfigError)
    assert sorted(p.path for p in caught.value.problems) == ["$.order", "$.steps"]


def test_an_update_needs_a_chain_id_for_its_path():
    for chain_id in (0, "12", True, None):
        with pytest.raises(ValidationError) as caught:
            load_daily_chain_update(DAILY_UPDATE, chain_id)  # type: ignore[arg-type]
        assert [p.path for p in caught.value.problems] == ["chain_id"]
    update = _example(*OFFER_UPDATE_ID)
    assert load_offer_chain_update(update, 1).chain_id == 1
    assert load_offer_chain_update(_example(*OFFER_UPDATE), 7).chain_id == 7
    with pytest.raises(ChainConfigError) as caught:
        load_offer_chain_update(update, 2)
    assert caught.value.extended == {"url_chain_id": 2, "body_chain_id": 1}


def test_an_offer_chains_dump_refuses_a_schedule_zone():
    chain = load_offer_chain(_example(*OFFER_CREATE), form=Form.REQUEST)
    schedule = RecurrentSchedule("weekly", 7, day_of_week=3, zone="Europe/Berlin")
    with pytest.raises(ValidationError) as caught:
        dump_offer_chain(attrs.evolve(chain, recurrent_schedule=schedule))
    assert [p.path for p in caught.value.problems] == ["recurrent_schedule.zone"]


def test_the_live_fields_of_an_offer_chain_load_and_dump_when_not_defaults():
    document = _example(*OFFER_CREATE)
    plain = load_offer_chain(document, form=Form.REQUEST)
    assert plain.always_visible
    assert not plain.reset_on_completion
    assert plain.conditions == ()
    assert not {"is_always_visible", "is_reset_on_completion", "attribute_conditions"} & set(
        dump_offer_chain(plain)
    )
    document.update(
        is_always_visible=False,
        is_reset_on_completion=True,
        attribute_conditions=[
            {
                "attribute": "tier",
                "type": "string",
                "operator": "eq",
                "value": "gold",
                "can_be_missing": True,
            }
        ],
    )
    live = load_offer_chain(document, form=Form.REQUEST)
    assert not live.always_visible
    assert live.reset_on_completion
    assert live.conditions == (StringCondition("tier", "eq", "gold", can_be_missing=True),)
    assert dump_offer_chain(live) == document
    assert detect_kinds({k: v for k, v in document.items() if k != "steps"}) == ("offer_chain",)


# -- catalogs ------------------------------------------------------------------------------


def _ladder_catalog() -> dict[str, Any]:
    return {
        "daily_chains": [
            copy.deepcopy(DAILY_READ),
            {**copy.deepcopy(DAILY_CREATE), "library_extensions": {"day_zone": "Europe/Berlin"}},
        ],
        "offer_chains": [_read_example(), _example(*OFFER_CREATE)],
    }


def test_a_catalog_carries_daily_and_offer_chains():
    document = _ladder_catalog()
    catalog = load_chain_catalog(document)
    assert [c.chain_id for c in catalog.daily_chains] == [12, None]
    assert [c.day_zone for c in catalog.daily_chains] == [None, "Europe/Berlin"]
    assert [c.chain_id for c in catalog.offer_chains] == [3, None]
    assert catalog.reward_chains == ()
    assert load_catalog(document) == []
    again = json.loads(json.dumps(dump_catalog([], catalog)))
    assert set(again) == {"daily_chains", "offer_chains"}
    assert again["daily_chains"][1]["library_extensions"] == {"day_zone": "Europe/Berlin"}
    assert again["offer_chains"][0]["steps"][0]["step_price"] is None
    assert load_chain_catalog(again) == catalog
    assert dump_payload(catalog) == again
    assert detect_kinds(document) == ("catalog",)
    assert load_chain_catalog({}) == ChainCatalog()


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["daily_chains"].append(copy.deepcopy(DAILY_READ)), "$.daily_chains[2].id"),
        (lambda d: d["offer_chains"].append(_read_example()), "$.offer_chains[2].id"),
        (lambda d: d["daily_chains"][0].update(type="hourly"), "$.daily_chains[0].type"),
        (
            lambda d: d["daily_chains"][1]["library_extensions"].update(day_zone="Nowhere/At_All"),
            "$.daily_chains[1].library_extensions.day_zone",
        ),
        (
            lambda d: d["offer_chains"][1]["steps"][0].update(step_number=5),
            "$.offer_chains[1].steps",
        ),
        (
            lambda d: d["offer_chains"][0].update(library_extensions={}),
            "$.offer_chains[0].library_extensions",
        ),
        (lambda d: d.update(offer_chains={}), "$.offer_chains"),
    ],
)
def test_a_wrong_catalog_is_refused_at_its_path(change, path):
    document = _ladder_catalog()
    change(document)
    for load in (load_chain_catalog, load_catalog):
        with pytest.raises(ValidationError) as caught:
            load(document)
        assert path in [p.path for p in caught.value.problems]


# -- round trips ---------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8)
_names = st.dictionaries(st.sampled_from(["en", "de", "fr-FR"]), _text, min_size=1, max_size=2)
_skus = st.from_regex(r"[A-Za-z0-9_.\-]{1,12}", fullmatch=True)
_offsets = st.integers(-14 * 4, 14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q)))
_moments = st.builds(
    lambda seconds, micro, tz: (
        (datetime(2026, 3, 1, tzinfo=UTC) + timedelta(seconds=seconds))
        .replace(microsecond=micro)
        .astimezone(tz)
    ),
    st.integers(-(10**8), 10**8),
    st.sampled_from((0, 0, 500000)),
    _offsets,
)
_schedules = st.one_of(
    st.builds(
        RecurrentSchedule,
        st.just("weekly"),
        st.integers(0, 23),
        _offsets.map(lambda tz: tz.utcoffset(None)),
        day_of_week=st.integers(1, 7),
    ),
    st.builds(
        RecurrentSchedule,
        st.just("monthly"),
        st.integers(0, 23),
        _offsets.map(lambda tz: tz.utcoffset(None)),
        day_of_month=st.integers(1, 31),
    ),
)


@st.composite
def _windows(draw: st.DrawFn) -> ValidityWindow:
    start = draw(_moments)
    if draw(st.booleans()):
        return ValidityWindow(start)
    return ValidityWindow(start, start + timedelta(seconds=draw(st.integers(1, 10**8))))


def _numbers(draw: st.DrawFn, count: int) -> list[int]:
    return draw(st.permutations(range(1, count + 1)))


@st.composite
def daily_chains(draw: st.DrawFn, with_ids: bool) -> DailyChain:
    """A daily chain: 1..30 steps of 1..10 items, ids when `with_ids`."""
    count = draw(st.integers(1, 30))
    step_ids = draw(st.lists(st.integers(1, 10**6), min_size=count, max_size=count, unique=True))
    steps = [
        DailyChainStep(
            step_id=step_ids[i] if with_ids and draw(st.booleans()) else None,
            step_number=number,
            items=draw(
                st.lists(
                    st.builds(RewardItem, _skus, st.integers(1, 10**6)), min_size=1, max_size=10
                )
            ),
        )
        for i, number in enumerate(_numbers(draw, count))
    ]
    return DailyChain(
        chain_id=draw(st.integers(1, 10**6)) if with_ids else None,
        name=draw(_names),
        description=draw(st.just({}) | _names),
        order=draw(st.none() | st.integers(0, 100)),
        window=draw(_windows()),
        enabled=draw(st.booleans()),
        type=draw(st.sampled_from(DailyChainType)),
        recurrent=draw(st.booleans()),
        steps=steps,
    )


@st.composite
def offer_chains(draw: st.DrawFn, with_ids: bool) -> OfferChain:
    """An offer chain: 1..30 steps of one item each, each SKU at one step."""
    count = draw(st.integers(1, 30))
    skus = draw(st.lists(_skus, min_size=count, max_size=count, unique=True))
    step_ids = draw(st.lists(st.integers(1, 10**6), min_size=count, max_size=count, unique=True))
    steps = [
        OfferChainStep(
            step_id=step_ids[i] if with_ids and draw(st.booleans()) else None,
            step_number=number,
            is_free=draw(st.booleans()),
            items=[
                OfferItem(skus[i], draw(st.integers(1, 10**6)), draw(st.none() | st.integers(0, 9)))
            ],
        )
        for i, number in enumerate(_numbers(draw, count))
    ]
    return OfferChain(
        chain_id=draw(st.integers(1, 10**6)) if with_ids else None,
        name=draw(_names),
        description=draw(st.just({}) | _names),
        order=draw(st.none() | st.integers(0, 100)),
        window=draw(_windows()),
        enabled=draw(st.booleans()),
        recurrent_schedule=draw(st.none() | _schedules),
        steps=steps,
        always_visible=draw(st.booleans()),
        reset_on_completion=draw(st.booleans()),
        conditions=draw(st.lists(full_conditions, max_size=3)),
    )


_FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_SCHEMAS = {
    Form.REQUEST: ("admin-create-offer-chain", "request"),
    Form.UPDATE: ("admin-update-offer-chain", "request"),
    Form.RESPONSE: ("admin-get-offer-chain", "200"),
}


@_FAST
@given(daily_chains(with_ids=True), st.sampled_from([Form.UPDATE, Form.RESPONSE]))
def test_a_daily_chain_with_ids_round_trips(chain: DailyChain, form: Form):
    dumped = json.loads(json.dumps(dump_daily_chain(chain, form)))
    assert load_daily_chain(dumped, form=form) == chain
    assert load_payload("daily_chain", dumped) == chain
    assert detect_kinds(dumped)[0] == "daily_chain"
    if form is Form.RESPONSE:
        assert dumped["number_of_steps"] == len(chain.steps)


@_FAST
@given(daily_chains(with_ids=False), st.none() | st.sampled_from(["UTC", "Asia/Kolkata"]))
def test_a_created_daily_chain_round_trips(chain: DailyChain, zone: str | None):
    dumped = json.loads(json.dumps(dump_daily_chain(chain, Form.REQUEST)))
    assert "id" not in dumped
    assert all("step_id" not in s for s in dumped["steps"])
    assert load_daily_chain(dumped, form=Form.REQUEST) == chain
    zoned = attrs.evolve(chain, day_zone=zone)
    catalog = ChainCatalog(daily_chains=[zoned])
    assert load_chain_catalog(json.loads(json.dumps(dump_catalog([], catalog)))) == catalog


@_FAST
@given(offer_chains(with_ids=True), st.sampled_from([Form.UPDATE, Form.RESPONSE]))
def test_an_offer_chain_with_ids_round_trips_and_its_dump_is_valid(chain: OfferChain, form: Form):
    dumped = json.loads(json.dumps(dump_offer_chain(chain, form)))
    assert load_offer_chain(dumped, form=form) == chain
    assert load_payload("offer_chain", dumped) == chain
    assert _valid(_schema(*_SCHEMAS[form]), dumped)
    assert detect_kinds(dumped)[0] == "offer_chain"
    summary = OfferChainSummary.of(chain)
    page = OfferChainPage(chains=[summary], has_more=True, total_count=3)
    listed = json.loads(json.dumps(dump_payload(page)))
    assert load_payload("offer_chain_list", listed) == page
    assert _valid(_schema("admin-get-offer-chains", "200"), listed)
    assert detect_kinds(listed) == ("offer_chain_list",)


@_FAST
@given(offer_chains(with_ids=False))
def test_a_created_offer_chain_round_trips_and_its_dump_is_valid(chain: OfferChain):
    dumped = json.loads(json.dumps(dump_offer_chain(chain, Form.REQUEST)))
    assert load_offer_chain(dumped, form=Form.REQUEST) == chain
    assert _valid(_schema(*_SCHEMAS[Form.REQUEST]), dumped)
    catalog = ChainCatalog(offer_chains=[chain])
    assert load_chain_catalog(json.loads(json.dumps(dump_catalog([], catalog)))) == catalog


@settings(max_examples=130, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        daily_chains(with_ids=True).map(lambda c: ("daily_chain", dump_daily_chain(c, "response"))),
        offer_chains(with_ids=True).map(lambda c: ("offer_chain", dump_offer_chain(c, "response"))),
    ),
    st.data(),
)
def test_a_mutated_chain_loads_or_is_refused_at_a_place_of_its_json(kinded, data):
    kind, document = kinded
    document = json.loads(json.dumps(document))
    for _ in range(data.draw(st.integers(1, 3))):
        document = mutate(document, data)
    for form in (None, *Form):
        try:
            load_payload(kind, document, form=form)
        except ValidationError as error:
            assert_paths_name_the_json(document, error)


def test_the_package_exports_the_ladder_names():
    for name in (
        "DailyChain",
        "DailyChainStep",
        "DailyChainType",
        "OfferChain",
        "OfferChainStep",
        "OfferItem",
        "ChainConfigError",
        "chain_config_envelope",
        "load_daily_chain",
        "load_daily_chain_update",
        "dump_daily_chain",
        "load_offer_chain",
        "load_offer_chain_update",
        "dump_offer_chain",
    ):
        assert name in liveops_rules.__all__
        assert getattr(liveops_rules, name).__doc__
    for kind in (
        "daily_chain",
        "offer_chain",
        "daily_chain_list",
        "offer_chain_list",
        "daily_chain_created",
        "offer_chain_created",
    ):
        assert kind in PAYLOAD_KINDS
