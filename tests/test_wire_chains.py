"""The LiveOps wire format of value points and reward chains: every example of their
operations in the OpenAPI description loads, dumps valid against its schema and loads back
equal; wrong inputs are refused at their JSON paths; catalogs carry value points and chains;
a player's ChainView dumps as LiveOps' client view."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liveops_rules import ValidationError
from liveops_rules.chains.reward import RewardChains
from liveops_rules.models import User, ValidityWindow
from liveops_rules.models.chain_answers import PlayerChainPage, ValuePointRewardPatch
from liveops_rules.models.chains import (
    ChainReward,
    ClanSettings,
    RewardChain,
    RewardChainStep,
    RewardChainUpdate,
    ValuePoint,
    ValuePointReward,
)
from liveops_rules.stores import open_store
from liveops_rules.wire import (
    PAYLOAD_KINDS,
    ChainCatalog,
    Form,
    dump_catalog,
    dump_payload,
    dump_reward_chain,
    load_catalog,
    load_chain_catalog,
    load_payload,
    player_chain_page,
)
from liveops_rules.wire._detect import detect_kinds
from tests.spec.openapi import PREFIX, Example, _examples_of, json_schema, resolve, spec

# -- the walk ------------------------------------------------------------------------------

# Each operation's bodies: the request's payload kind and form, and the success answer's.
KINDS: dict[str, dict[str, tuple[str, Form | None]]] = {
    "admin-get-value-points-list": {"200": ("value_point_list", None)},
    "admin-create-value-points": {
        "request": ("value_point", Form.REQUEST),
        "201": ("value_point_created", None),
    },
    "admin-get-value-point": {"200": ("value_point", Form.RESPONSE)},
    "admin-update-value-point": {"request": ("value_point", Form.REQUEST)},
    "admin-delete-value-point": {},
    "admin-get-items-value-point-reward": {"200": ("value_point_reward_list", None)},
    "admin-set-items-value-point-reward": {"request": ("value_point_rewards", None)},
    "admin-patch-items-value-point-reward": {"request": ("value_point_rewards_patch", None)},
    "admin-delete-items-value-point-reward": {},
    "get-reward-chains-list": {"200": ("user_reward_chain_list", None)},
    "get-user-reward-chain-balance": {"200": ("reward_chain_balance", None)},
    "claim-user-reward-chain-step-reward": {},
    "get-user-clan-top-contributors": {"200": ("clan_top_contributors", None)},
    "user-clan-update": {"200": ("clan_update_response", None)},
    "admin-get-reward-chains": {"200": ("reward_chain_list", None)},
    "admin-create-reward-chain": {
        "request": ("reward_chain", Form.REQUEST),
        "201": ("reward_chain_created", None),
    },
    "admin-get-reward-chain": {"200": ("reward_chain", Form.RESPONSE)},
    "admin-update-reward-chain": {"request": ("reward_chain", Form.UPDATE)},
    "admin-delete-reward-chain": {},
    "admin-toggle-reward-chain": {},
    "admin-reset-reward-chain": {},
}
_WORDS = ("value_point", "reward_chain", "/clan/")


def _chain_examples() -> list[Example]:
    found = []
    for path, methods in spec()["paths"].items():
        if not any(word in path for word in _WORDS):
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


WALKED = _chain_examples()


def _kind(example: Example) -> tuple[str, Form | None]:
    if example.where not in ("request", "200", "201"):
        return "error_response", None
    return KINDS[example.operation][example.where]


def lenient(node: Any) -> Any:
    """`node` as JSON Schema with every `oneOf` read as `anyOf`: LiveOps' chain schemas'
    alternatives overlap (a LocaleMap `{"en": ...}` fits both its two-letter and its
    five-letter shape, a clan body both the individual and the clan schema), so under
    `oneOf` no body with a name would be valid. Clan bodies are checked against the clan
    branch on its own below."""
    if isinstance(node, list):
        return [lenient(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {("anyOf" if k == "oneOf" else k): lenient(v) for k, v in node.items()}


def _valid(schema: Any, value: Any) -> bool:
    validator = jsonschema.Draft7Validator(lenient(json_schema(schema)))
    return not list(validator.iter_errors(value))


def _validate(value: Any, schema: Any) -> None:
    jsonschema.validate(value, lenient(json_schema(schema)))


def test_the_walk_finds_every_chain_operation_and_names_each_body():
    operations = {
        op["operationId"]
        for path, methods in spec()["paths"].items()
        if any(word in path for word in _WORDS)
        for op in methods.values()
        if isinstance(op, dict)
    }
    assert operations == set(KINDS)
    assert len(WALKED) >= 50
    assert all(_kind(e)[0] in PAYLOAD_KINDS for e in WALKED)


@pytest.mark.parametrize("example", WALKED, ids=lambda e: e.label)
def test_each_example_loads_dumps_valid_and_loads_back_equal(example: Example):
    kind, form = _kind(example)
    loaded = load_payload(kind, example.value, form=form)
    dumped = json.loads(json.dumps(dump_payload(loaded, form or Form.REQUEST)))
    if _valid(example.schema, example.value):
        assert _valid(example.schema, dumped), dumped
    assert load_payload(kind, dumped, form=form) == loaded


@pytest.mark.parametrize("example", WALKED, ids=lambda e: e.label)
def test_validate_guesses_each_examples_kind(example: Example):
    assert _kind(example)[0] in detect_kinds(example.value)


def _example(operation: str, where: str, name: str) -> Any:
    found = [e for e in WALKED if (e.operation, e.where, e.name) == (operation, where, name)]
    assert len(found) == 1
    return copy.deepcopy(found[0].value)


def _schema(operation: str, where: str) -> Any:
    return next(e.schema for e in WALKED if (e.operation, e.where) == (operation, where))


# -- wrong inputs, each refused at its path ------------------------------------------------

CREATE = ("admin-create-reward-chain", "request", "default")
CREATE_CLAN = ("admin-create-reward-chain", "request", "clan")
UPDATE = ("admin-update-reward-chain", "request", "default")
READ = ("admin-get-reward-chain", "200", "common")
POINT = ("admin-create-value-points", "request", "default")


def _set(path: str, value: Any) -> Any:
    def change(document: Any) -> None:
        *parents, last = _parts(path)
        for part in parents:
            document = document[part]
        if value is _DELETE:
            del document[last]
        else:
            document[last] = value

    return change


def _parts(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for piece in path.replace("]", "").replace("[", ".").split("."):
        parts.append(int(piece) if piece.isdigit() else piece)
    return parts


_DELETE = object()

WRONG = [
    (CREATE, Form.REQUEST, "surprise", "extra", "$.surprise"),
    (CREATE, Form.REQUEST, "name", _DELETE, "$.name"),
    (CREATE, Form.REQUEST, "date_start", _DELETE, "$.date_start"),
    (CREATE, Form.REQUEST, "is_enabled", _DELETE, "$.is_enabled"),
    (CREATE, Form.REQUEST, "value_point", _DELETE, "$.value_point"),
    (CREATE, Form.REQUEST, "steps", _DELETE, "$.steps"),
    (CREATE, Form.REQUEST, "steps", [], "$.steps"),
    (CREATE, Form.REQUEST, "date_start", "2020-04-15T18:16:00", "$.date_start"),
    (CREATE, Form.REQUEST, "date_end", "2019-04-15T18:16:00+05:00", "$.date_end"),
    (CREATE, Form.REQUEST, "steps[0].price.amount", 0, "$.steps[0].price.amount"),
    (CREATE, Form.REQUEST, "steps[0].price.amount", "10", "$.steps[0].price.amount"),
    (CREATE, Form.REQUEST, "steps[0].price.amount", True, "$.steps[0].price.amount"),
    (CREATE, Form.REQUEST, "steps[1].reward", [], "$.steps[1].reward"),
    (CREATE, Form.REQUEST, "steps[0].reward[1].quantity", _DELETE, "$.steps[0].reward[1].quantity"),
    (CREATE, Form.REQUEST, "steps[0].reward[1].quantity", 0, "$.steps[0].reward[1].quantity"),
    (CREATE, Form.REQUEST, "steps[0].reward[0].sku", "a b", "$.steps[0].reward[0].sku"),
    (CREATE, Form.REQUEST, "steps[0].step_id", 1, "$.steps[0].step_id"),
    (CREATE, Form.REQUEST, "steps[0].odd", 1, "$.steps[0].odd"),
    (CREATE, Form.REQUEST, "reward_chain_id", 3, "$.reward_chain_id"),
    (CREATE, Form.REQUEST, "value_point.is_clan", False, "$.value_point.is_clan"),
    (
        CREATE,
        Form.REQUEST,
        "recurrent_schedule.time",
        "01:30:00+08:00",
        "$.recurrent_schedule.time",
    ),
    (
        CREATE,
        Form.REQUEST,
        "recurrent_schedule",
        {"interval_type": "daily", "time": "01:00:00+08:00"},
        "$.recurrent_schedule.interval_type",
    ),
    (
        CREATE,
        Form.REQUEST,
        "recurrent_schedule.reset_next_date",
        1,
        "$.recurrent_schedule.reset_next_date",
    ),
    (
        CREATE,
        Form.REQUEST,
        "attribute_conditions[0].type",
        "colour",
        "$.attribute_conditions[0].type",
    ),
    (CREATE, Form.REQUEST, "is_always_visible", "yes", "$.is_always_visible"),
    (CREATE, Form.REQUEST, "clan_type", "guild", "$.popup_header"),
    (CREATE_CLAN, Form.REQUEST, "popup_instruction", _DELETE, "$.popup_instruction"),
    (CREATE_CLAN, Form.REQUEST, "popup_header", {"xx": "Hi"}, "$.popup_header['xx']"),
    (CREATE_CLAN, Form.REQUEST, "popup_header", {"en": 3}, "$.popup_header.en"),
    (CREATE_CLAN, Form.REQUEST, "clan_type", "gang", "$.clan_type"),
    (UPDATE, Form.UPDATE, "steps[0].step_id", _DELETE, "$.steps[0].step_id"),
    (UPDATE, Form.UPDATE, "steps", _DELETE, "$.steps"),
    (UPDATE, Form.UPDATE, "reward_chain_id", 1, "$.reward_chain_id"),
    (UPDATE, Form.UPDATE, "top_contributors", [], "$.top_contributors"),
    (READ, Form.RESPONSE, "steps[0].step_id", 0, "$.steps[0].step_id"),
    (READ, Form.RESPONSE, "steps[1].step_id", 1, "$.steps"),
    (READ, Form.RESPONSE, "value_point.surprise", 1, "$.value_point.surprise"),
    (READ, Form.RESPONSE, "reward_chain_id", "1", "$.reward_chain_id"),
    (POINT, Form.REQUEST, "sku", _DELETE, "$.sku"),
    (POINT, Form.REQUEST, "name", {}, "$.name"),
    (POINT, Form.REQUEST, "name", None, "$.name"),
    (POINT, Form.REQUEST, "media_list", [{"type": "gif", "url": "x"}], "$.media_list[0].type"),
    (POINT, Form.REQUEST, "order", -1, "$.order"),
    (POINT, Form.REQUEST, "type", "value_point", "$.type"),
    (POINT, Form.REQUEST, "can_delete", True, "$.can_delete"),
]


@pytest.mark.parametrize(("source", "form", "where", "value", "path"), WRONG)
def test_a_wrong_input_is_refused_at_its_path_and_only_there(source, form, where, value, path):
    document = _example(*source)
    load_payload("reward_chain" if "chain" in source[0] else "value_point", document, form=form)
    _set(where, value)(document)
    with pytest.raises(ValidationError) as caught:
        load_payload("reward_chain" if "chain" in source[0] else "value_point", document, form=form)
    assert [p.path for p in caught.value.problems] == [path]


def test_a_chain_takes_31_steps_and_a_step_10_rewards_and_no_more():
    document = _example(*CREATE)
    step = document["steps"][0]
    step["reward"] = [{"sku": f"item_{n}", "quantity": 1} for n in range(10)]
    document["steps"] = [copy.deepcopy(step) for _ in range(31)]
    chain = load_payload("reward_chain", document, form=Form.REQUEST)
    assert len(chain.steps) == 31
    assert len(chain.steps[0].rewards) == 10
    document["steps"][3]["reward"].append({"sku": "item_x", "quantity": 1})
    with pytest.raises(ValidationError) as caught:
        load_payload("reward_chain", document, form=Form.REQUEST)
    assert [p.path for p in caught.value.problems] == ["$.steps[3].reward"]
    document["steps"][3]["reward"].pop()
    document["steps"].append(step)
    with pytest.raises(ValidationError) as caught:
        load_payload("reward_chain", document, form=Form.REQUEST)
    assert [p.path for p in caught.value.problems] == ["$.steps"]


MAPPINGS = [
    ("value_point_rewards", [{"sku": "a", "amount": 0}], "$[0].amount"),
    ("value_point_rewards", [{"sku": "a", "amount": 1}, {"sku": "a", "amount": 2}], "$[1].sku"),
    ("value_point_rewards", [{"sku": "a"}], "$[0].amount"),
    ("value_point_rewards", [{"sku": "a", "amount": 1, "x": 1}], "$[0].x"),
    ("value_point_rewards", {"sku": "a", "amount": 1}, "$"),
    ("value_point_rewards_patch", [{"sku": "a", "amount": -1}], "$[0].amount"),
    ("value_point_rewards_patch", [{"sku": "a", "amount": 1.5}], "$[0].amount"),
    (
        "value_point_rewards_patch",
        [{"sku": "b", "amount": 0}, {"sku": "b", "amount": 0}],
        "$[1].sku",
    ),
    ("value_point_rewards_patch", [{"sku": f"s{n}", "amount": 1} for n in range(101)], "$"),
    ("clan_top_contributors", [{"name": f"p{n}", "contributed_amount": 1} for n in range(11)], "$"),
    ("clan_top_contributors", [{"name": "p", "contributed_amount": -1}], "$[0].contributed_amount"),
    ("reward_chain_balance", {"sku": "vp", "name": "VP"}, "$.amount"),
]


@pytest.mark.parametrize(("kind", "document", "path"), MAPPINGS)
def test_a_wrong_mapping_or_answer_is_refused_at_its_path(kind, document, path):
    with pytest.raises(ValidationError) as caught:
        load_payload(kind, document)
    assert [p.path for p in caught.value.problems] == [path]


def test_a_patch_takes_100_items_and_zero_removes():
    patch = load_payload("value_point_rewards", [{"sku": "a", "amount": 0}], form=Form.UPDATE)
    assert isinstance(patch, ValuePointRewardPatch)
    assert patch.removed == ("a",)
    hundred = [{"sku": f"s{n}", "amount": n} for n in range(100)]
    assert len(load_payload("value_point_rewards_patch", hundred).changes) == 100
    assert dump_payload(load_payload("value_point_rewards_patch", hundred)) == hundred


def test_every_problem_is_reported_at_once():
    document = _example(*CREATE)
    document["steps"][0]["price"]["amount"] = 0
    document["steps"][1]["reward"][0]["quantity"] = 0
    document["date_start"] = "yesterday"
    with pytest.raises(ValidationError) as caught:
        load_payload("reward_chain", document, form=Form.REQUEST)
    assert sorted(p.path for p in caught.value.problems) == [
        "$.date_start",
        "$.steps[0].price.amount",
        "$.steps[1].reward[0].quantity",
    ]


# -- forms, clans and updates --------------------------------------------------------------


def test_create_update_and_read_forms_of_a_chain():
    created = load_payload("reward_chain", _example(*CREATE), form=Form.REQUEST)
    assert created.chain_id is None
    assert all(s.step_id is None for s in created.steps)
    assert created.value_point == "com.xsolla.value_point_1"
    assert created.clan is None
    read = load_payload("reward_chain", _example(*READ), form=Form.RESPONSE)
    assert read.chain_id == 1
    assert [s.step_id for s in read.steps] == [1, 2]
    update = load_payload("reward_chain", _example(*UPDATE), form=Form.UPDATE)
    assert isinstance(update, RewardChainUpdate)
    assert update.value_point is None
    applied = update.apply(read)
    assert applied.chain_id == 1
    assert applied.value_point == read.value_point
    body = dump_reward_chain(applied, Form.UPDATE)
    assert "value_point" not in body
    assert "reward_chain_id" not in body
    assert [s["step_id"] for s in body["steps"]] == [1, 2]
    _validate(body, _schema("admin-update-reward-chain", "request"))
    create = dump_reward_chain(read, Form.REQUEST)
    assert "reward_chain_id" not in create
    assert all("step_id" not in s for s in create["steps"])
    _validate(create, _schema("admin-create-reward-chain", "request"))


def test_a_new_step_in_an_update_has_a_null_step_id():
    document = _example(*UPDATE)
    document["steps"].append({**copy.deepcopy(document["steps"][0]), "step_id": None})
    update = load_payload("reward_chain", document, form=Form.UPDATE)
    assert [s.step_id for s in update.steps] == [1, 2, None]
    assert dump_reward_chain(update, Form.UPDATE)["steps"][2]["step_id"] is None


def test_clan_and_individual_chains():
    clan = load_payload("reward_chain", _example(*CREATE_CLAN), form=Form.REQUEST)
    assert clan.clan is not None
    assert clan.clan.clan_type == "guild"
    assert clan.clan.popup_header["en"] == "How to unlock rewards"
    read = load_payload(
        "reward_chain", _example("admin-get-reward-chain", "200", "clan"), form=Form.RESPONSE
    )
    assert read.clan is not None
    dumped = dump_reward_chain(read, Form.RESPONSE)
    assert {"popup_header", "popup_instruction", "popup_image_url", "clan_type"} <= set(dumped)
    individual = load_payload("reward_chain", _example(*READ), form=Form.RESPONSE)
    assert individual.clan is None
    assert not {"popup_header", "clan_type"} & set(dump_reward_chain(individual, "response"))


def test_a_value_point_read_has_its_type_and_can_delete():
    read = _example("admin-get-value-point", "200", "response")
    point = load_payload("value_point", read, form=Form.RESPONSE)
    assert point.sku == "com.xsolla.reward_vp_1"
    assert point.enabled
    assert not point.is_clan
    dumped = dump_payload(point, Form.RESPONSE)
    assert dumped["type"] == "value_point"
    assert "can_delete" not in dumped
    with pytest.raises(ValidationError) as caught:
        load_payload("value_point", {**read, "type": "virtual_good"}, form=Form.RESPONSE)
    assert [p.path for p in caught.value.problems] == ["$.type"]


# -- catalogs ------------------------------------------------------------------------------


def _chain_catalog() -> dict[str, Any]:
    return {
        "value_points": [
            {
                **_example(*POINT),
                "sku": "com.xsolla.value_point_1",
                "rewards": [{"sku": "sword", "amount": 5}],
            },
            _example("admin-create-value-points", "request", "clan"),
        ],
        "reward_chains": [_example(*CREATE), _example(*CREATE_CLAN)],
    }


def test_a_catalog_carries_value_points_their_mappings_and_chains():
    document = _chain_catalog()
    catalog = load_chain_catalog(document)
    assert [p.sku for p in catalog.value_points] == [
        "com.xsolla.value_point_1",
        "com.xsolla.clan_value_point_1",
    ]
    assert catalog.rewards == {"com.xsolla.value_point_1": (ValuePointReward("sword", 5),)}
    assert [c.clan is not None for c in catalog.reward_chains] == [False, True]
    assert load_catalog(document) == []
    again = dump_catalog([], catalog)
    assert load_chain_catalog(json.loads(json.dumps(again))) == catalog
    assert dump_payload(catalog) == again


def test_a_catalog_without_chains_is_unchanged():
    assert load_chain_catalog({}) == ChainCatalog()
    assert dump_catalog([]) == {}
    assert detect_kinds(_chain_catalog()) == ("catalog",)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            lambda d: d["reward_chains"][0]["value_point"].update(sku="nothing"),
            "$.reward_chains[0].value_point.sku",
        ),
        (lambda d: d["reward_chains"][1].pop("popup_header"), "$.reward_chains[1].popup_header"),
        (
            lambda d: d["reward_chains"][0].update(
                popup_header={"en": "a"}, popup_instruction={"en": "b"}
            ),
            "$.reward_chains[0].popup_header",
        ),
        (
            lambda d: d["value_points"].append(copy.deepcopy(d["value_points"][1])),
            "$.value_points[2].sku",
        ),
        (
            lambda d: d["value_points"][0]["rewards"].append({"sku": "sword", "amount": 1}),
            "$.value_points[0].rewards[1].sku",
        ),
        (lambda d: d.update(reward_chains={}), "$.reward_chains"),
        (lambda d: d.update(daily_chains={}), "$.daily_chains"),
        (lambda d: d.update(upsells=[]), "$.upsells"),
    ],
)
def test_a_wrong_catalog_is_refused_at_its_path(change, path):
    document = _chain_catalog()
    change(document)
    for load in (load_chain_catalog, load_catalog):
        with pytest.raises(ValidationError) as caught:
            load(document)
        assert path in [p.path for p in caught.value.problems]


# -- a player's view -----------------------------------------------------------------------

AT = datetime(2026, 3, 4, 12, tzinfo=UTC)


def test_a_players_chain_views_dump_as_the_client_page():
    chains = RewardChains(open_store("memory://"))
    chains.put_value_point(ValuePoint(sku="snow", name={"en": "Snow"}, image_url="https://s/i"))
    chains.put_value_point(ValuePoint(sku="gold", name={"en": "Gold"}, is_clan=True))
    chains.set_value_point_rewards("snow", [ValuePointReward("sword", 10)])
    window = ValidityWindow(AT - timedelta(days=1), AT + timedelta(days=30))
    step = RewardChainStep(name={"en": "One"}, price=10, rewards=[ChainReward("chest", 2)])
    mine = chains.create_chain(
        RewardChain(
            name={"en": "Mine"},
            window=window,
            enabled=True,
            value_point="snow",
            steps=[step, attrs_evolve(step, price=20)],
        )
    )
    clan = chains.create_chain(
        RewardChain(
            name={"en": "Ours"},
            window=window,
            enabled=True,
            value_point="gold",
            steps=[step],
            clan=ClanSettings(
                popup_header={"en": "Join"}, popup_instruction={"en": "Do"}, clan_type="tribe"
            ),
        )
    )
    player = User("p1")
    chains.earn("o1", player, [("sword", 1)], AT)
    assert chains.claim(mine.chain_id, 1, player, AT).ok
    views, total = chains.player_chains(player, AT, clan="c1")
    page = player_chain_page(
        views, total, player, chains.value_points(), top_contributors={clan.chain_id: [("p1", 0)]}
    )
    dumped = json.loads(json.dumps(dump_payload(page)))
    _validate(dumped, _schema("get-reward-chains-list", "200"))
    first, second = dumped["items"]
    assert first["value_point"] == {
        "sku": "snow",
        "name": "Snow",
        "image_url": "https://s/i",
        "amount": 10,
        "is_clan": False,
    }
    assert [s["is_claimed"] for s in first["steps"]] == [True, False]
    assert first["steps"][0]["reward"] == [{"sku": "chest", "quantity": 2}]
    assert second["clan_type"] == "tribe"
    assert second["popup_header"] == {"en": "Join"}
    assert second["top_contributors"] == [{"name": "p1", "contributed_amount": 0}]
    assert dumped["has_more"] is False
    assert dumped["total_items_count"] == 2
    assert load_payload("user_reward_chain_list", dumped) == page
    assert isinstance(page, PlayerChainPage)


def attrs_evolve(step: RewardChainStep, **changes: Any) -> RewardChainStep:
    import attrs

    return attrs.evolve(step, **changes)


# -- round trips ---------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8)
_names = st.dictionaries(st.sampled_from(["en", "de", "fr-FR"]), _text, min_size=1, max_size=2)
_skus = st.from_regex(r"[a-z][a-z0-9_.]{0,8}", fullmatch=True)
_moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=0))


@st.composite
def chains_(draw: st.DrawFn, with_ids: bool) -> RewardChain:
    count = draw(st.integers(1, 4))
    steps = [
        RewardChainStep(
            step_id=n + 1 if with_ids else None,
            name=draw(_names),
            price=draw(st.integers(1, 10**6)),
            image_url=draw(st.none() | st.just("https://i/x.png")),
            rewards=[
                ChainReward(draw(_skus), draw(st.integers(1, 99)))
                for _ in range(draw(st.integers(1, 3)))
            ],
        )
        for n in range(count)
    ]
    start = draw(_moments)
    end = draw(st.none() | st.just(start + timedelta(days=draw(st.integers(1, 90)))))
    clan = draw(
        st.none()
        | st.builds(
            ClanSettings,
            popup_header=_names.filter(lambda n: all(len(k) == 2 for k in n)),
            popup_instruction=st.just({"en": "Join a clan"}),
            clan_type=st.none() | st.sampled_from(["clan", "guild", "cartel"]),
        )
    )
    return RewardChain(
        chain_id=draw(st.integers(1, 10**6)) if with_ids else None,
        name=draw(_names),
        description=draw(st.just({}) | _names),
        order=draw(st.none() | st.integers(0, 100)),
        window=ValidityWindow(start, end),
        enabled=draw(st.booleans()),
        value_point=draw(_skus),
        steps=steps,
        always_visible=draw(st.booleans()),
        clan=clan,
    )


_FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FAST
@given(chains_(with_ids=True))
def test_a_read_chain_round_trips_and_its_dump_is_valid(chain: RewardChain):
    dumped = json.loads(json.dumps(dump_reward_chain(chain, Form.RESPONSE)))
    assert load_payload("reward_chain", dumped, form=Form.RESPONSE) == chain
    assert _valid(_schema("admin-get-reward-chain", "200"), dumped)


@_FAST
@given(chains_(with_ids=False))
def test_a_created_chain_round_trips_and_its_dump_is_valid(chain: RewardChain):
    dumped = json.loads(json.dumps(dump_reward_chain(chain, Form.REQUEST)))
    assert load_payload("reward_chain", dumped, form=Form.REQUEST) == chain
    schema = lenient(json_schema(_schema("admin-create-reward-chain", "request")))
    branch = schema["anyOf"][1] if chain.clan is not None else schema["anyOf"][0]
    jsonschema.validate(dumped, branch)  # a clan body holds under the clan schema itself


@_FAST
@given(
    st.builds(
        ValuePoint,
        sku=_skus,
        name=_names,
        description=st.just({}) | _names,
        image_url=st.none() | st.just("https://i/v.png"),
        order=st.none() | st.integers(0, 9),
        enabled=st.booleans(),
        is_clan=st.booleans(),
    ),
    st.sampled_from([Form.REQUEST, Form.RESPONSE]),
)
def test_a_value_point_round_trips_and_its_dump_is_valid(point: ValuePoint, form: Form):
    dumped = json.loads(json.dumps(dump_payload(point, form)))
    assert load_payload("value_point", dumped, form=form) == point
    which = (
        ("admin-create-value-points", "request")
        if form is Form.REQUEST
        else ("admin-get-value-point", "200")
    )
    assert _valid(_schema(*which), dumped)
