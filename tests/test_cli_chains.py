"""`liveops-rules chains …`: a reward chain administered and played through the command line,
on a store each command reopens."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from liveops_rules import (
    ChainReward,
    ClanSettings,
    RewardChain,
    RewardChains,
    RewardChainStep,
    ValidityWindow,
    ValuePoint,
    ValuePointReward,
    open_store,
)
from liveops_rules.cli import main

AT = datetime(2026, 11, 28, 12, tzinfo=UTC)
WHEN = ("--at", AT.isoformat())


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(list(argv), out)
    return status, out.getvalue(), err.getvalue()


def run_json(*argv: str) -> tuple[int, object]:
    status, out, err = run(*argv, "--format", "json")
    assert not err or status != 0, err
    return status, json.loads(out) if out else None


@pytest.fixture
def setup(tmp_path: Path) -> tuple[str, str]:
    """A store with a value point, its mapping, a chain of two steps and a clan chain; and a
    player's file."""
    uri = f"sqlite:///{tmp_path / 'chains.db'}"
    store = open_store(uri)
    try:
        chains = RewardChains(store)
        chains.put_value_point(ValuePoint(sku="snow", name={"en": "Snow"}))
        chains.put_value_point(ValuePoint(sku="banner", name={"en": "Banner"}, is_clan=True))
        chains.set_value_point_rewards("snow", [ValuePointReward("sword", 30)])
        chains.set_value_point_rewards("banner", [ValuePointReward("sword", 5)])
        window = ValidityWindow(AT - timedelta(days=1), None)
        steps = [
            RewardChainStep(name={"en": "Sled"}, price=50, rewards=[ChainReward("sled", 2)]),
            RewardChainStep(name={"en": "Crown"}, price=500, rewards=[ChainReward("crown")]),
        ]
        chains.create_chain(
            RewardChain(
                name={"en": "Ladder"}, window=window, enabled=True, value_point="snow", steps=steps
            )
        )
        chains.create_chain(
            RewardChain(
                name={"en": "Guild"},
                window=window,
                enabled=True,
                value_point="banner",
                steps=steps[:1],
                clan=ClanSettings(popup_header={"en": "Join"}, popup_instruction={"en": "Go"}),
            )
        )
    finally:
        store.close()
    user = tmp_path / "user.json"
    user.write_text('{"id": "p1"}')
    return uri, str(user)


def test_a_player_earns_claims_and_sees_the_chain(setup):
    uri, user = setup
    player = ("--user", user, "--store", uri, *WHEN)
    status, earned = run_json("chains", "earn", "order-1", "sword:2", *player)
    assert (status, earned) == (
        0,
        {
            "earned": {"banner": 10, "snow": 60},
            "chains": {"banner": [2], "snow": [1]},  # without --clan, no clan's balance grows
            "replayed": False,
        },
    )
    assert run_json("chains", "earn", "order-1", "sword:2", *player)[1]["replayed"] is True
    assert run_json("chains", "balance", "1", *player) == (0, {"sku": "snow", "amount": 60})
    status, claimed = run_json("chains", "claim", "1", "1", *player)
    assert (status, claimed["ok"], claimed["items"]) == (0, True, [{"sku": "sled", "quantity": 2}])
    status, again = run_json("chains", "claim", "1", "1", *player)
    assert (status, again["reason"], again["error_code"]) == (1, "already_claimed", 9912)
    status, text, _ = run("chains", "claim", "1", "2", *player)
    assert (status, text) == (1, "refused [9913 not_enough_value_points]: 60 of 500 value points\n")
    status, text, _ = run("chains", "claim", "2", "1", *player)
    assert status == 1
    assert "no_clan" in text
    status, page = run_json("chains", "view", *player)
    assert status == 0
    assert (page["has_more"], page["total_items_count"]) == (False, 2)
    ladder = page["items"][0]
    assert ladder["value_point"] == {"sku": "snow", "amount": 60}
    assert [s["is_claimed"] for s in ladder["steps"]] == [True, False]
    status, text, _ = run("chains", "view", *player, "--limit", "1")
    assert status == 0
    assert text.splitlines()[1].split()[:3] == ["1", "60", "snow"]
    assert "--offset 1 for more" in text
    assert run_json("chains", "refund", "order-1", *player) == (
        0,
        {"order_id": "order-1", "value_points_taken_back": 2},  # snow and banner
    )
    assert run_json("chains", "balance", "1", *player)[1]["amount"] == 0


def test_clans_count_together_and_show_their_top_contributors(setup, tmp_path):
    uri, user = setup
    other = tmp_path / "other.json"
    other.write_text('{"id": "p2"}')
    for who, order, quantity in ((user, "o1", 4), (str(other), "o2", 7)):
        status, _ = run_json(
            "chains", "earn", order, f"sword:{quantity}", "--user", who, "--clan", "wolves",
            "--store", uri, *WHEN,
        )  # fmt: skip
        assert status == 0
    member = ("--user", user, "--clan", "wolves", "--store", uri, *WHEN)
    assert run_json("chains", "balance", "2", *member)[1] == {"sku": "banner", "amount": 55}
    assert run_json("chains", "claim", "2", "1", *member)[1]["ok"] is True
    status, top = run_json("chains", "top", "2", "--clan", "wolves", "--store", uri, *WHEN)
    assert (status, top) == (
        0,
        [{"name": "p2", "contributed_amount": 35}, {"name": "p1", "contributed_amount": 20}],
    )


def test_admins_toggle_reset_and_delete(setup):
    uri, user = setup
    player = ("--user", user, "--store", uri, *WHEN)
    run_json("chains", "earn", "order-1", "sword:2", *player)
    assert run_json("chains", "toggle", "1", "--store", uri) == (
        0,
        {"reward_chain_id": 1, "is_enabled": False},
    )
    status, refused = run_json("chains", "claim", "1", "1", *player)
    assert (status, refused["error_code"], refused["reasons"][0]["code"]) == (1, 4001, "disabled")
    assert run("chains", "toggle", "1", "--store", uri)[1] == "reward chain 1 enabled\n"
    assert run_json("chains", "balance", "1", *player)[1]["amount"] == 60  # kept
    assert run_json("chains", "reset", "1", "--store", uri, *WHEN)[1]["generation"] == 1
    assert run_json("chains", "balance", "1", *player)[1]["amount"] == 0
    assert run_json("chains", "delete", "1", "--store", uri, *WHEN)[1]["deleted"] is True
    status, _, err = run("chains", "show", "1", "--store", uri)
    assert (status, err.strip()) == (1, "liveops-rules: Reward chain 1 not found. [4001]")
    status, refused = run_json("chains", "claim", "1", "1", *player)
    assert (status, refused["error_code"]) == (1, 4001)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("chains", "earn", "o", "sword:0"), "expected a whole number from 1"),
        (("chains", "earn", "o", ":3"), "expected SKU or SKU:QUANTITY"),
        (("chains", "earn", "o"), "the following arguments are required: SKU[:QTY]"),
        (("chains", "claim", "0", "1"), "expected a whole number from 1"),
        (("chains", "claim", "1", "x"), "expected a whole number from 1"),
        (("chains", "view", "--limit", "51"), "limit"),
        (("chains", "balance", "1", "--user", "missing.json"), "missing.json"),
    ],
)
def test_bad_input_is_exit_2_with_what_and_where(setup, argv, message):
    uri, user = setup
    extra: tuple[str, ...] = ("--store", uri, *WHEN)
    if "--user" not in argv:
        extra += ("--user", user)
    status, out, err = run(*argv, *extra)
    assert status == 2, (out, err)
    assert message in err
    assert "Traceback" not in err


def test_an_unusable_store_is_exit_2(tmp_path, setup):
    _, user = setup
    status, _, err = run("chains", "balance", "1", "--user", user, "--store", "nosuch://x", *WHEN)
    assert status == 2
    assert err.startswith("liveops-rules: --store:")


CHAIN_CATALOG = {
    "value_points": [
        {"sku": "snow", "name": {"en": "Snow"}, "rewards": [{"sku": "sword", "amount": 30}]}
    ],
    "reward_chains": [
        {
            "name": {"en": "Ladder"},
            "date_start": "2026-11-01T00:00:00+00:00",
            "date_end": None,
            "is_enabled": True,
            "value_point": {"sku": "snow"},
            "steps": [
                {
                    "name": {"en": name},
                    "price": {"amount": price},
                    "reward": [{"sku": sku, "quantity": 1}],
                }
                for name, price, sku in (("Sled", 50, "sled"), ("Crown", 90, "crown"))
            ],
        }
    ],
}


def test_a_catalog_file_is_imported_listed_shown_and_played(tmp_path):
    uri = f"sqlite:///{tmp_path / 'imported.db'}"
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(CHAIN_CATALOG))
    assert run_json("chains", "import", str(path), "--store", uri) == (
        0,
        {"value_points": ["snow"], "reward_chains": [1]},
    )
    status, listed = run_json("chains", "list", "--store", uri)
    assert status == 0
    assert [(c["reward_chain_id"], c["name"]) for c in listed] == [(1, {"en": "Ladder"})]
    assert "steps" not in listed[0]  # the admin list omits them, as LiveOps' does
    status, shown = run_json("chains", "show", "1", "--store", uri)
    assert status == 0
    assert [(s["step_id"], s["price"]) for s in shown["steps"]] == [
        (1, {"amount": 50}),
        (2, {"amount": 90}),
    ]
    status, text, _ = run("chains", "show", "1", "--store", uri)
    assert text.splitlines()[3].split() == ["1", "50", "1", "x", "sled", "Sled"]
    user = tmp_path / "user.json"
    user.write_text('{"id": "p1"}')
    player = ("--user", str(user), "--store", uri, *WHEN)
    assert run_json("chains", "earn", "o1", "sword:2", *player)[1]["earned"] == {"snow": 60}
    assert run_json("chains", "claim", "1", "1", *player)[1]["ok"] is True
    shown["steps"] = [{**shown["steps"][0], "price": {"amount": 40}}]  # step 2 dropped
    path.write_text(json.dumps({**CHAIN_CATALOG, "reward_chains": [shown]}))
    assert run_json("chains", "import", str(path), "--store", uri)[1]["reward_chains"] == [1]
    status, claimed = run_json("chains", "claim", "1", "1", *player)
    assert (status, claimed["error_code"]) == (1, 9912)  # step 1 kept its claim
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps({"reward_chains": [{**CHAIN_CATALOG["reward_chains"][0], "steps": []}]})
    )
    status, _, err = run("chains", "import", str(broken), "--store", uri)
    assert status == 2
    assert "$.reward_chains[0]" in err
