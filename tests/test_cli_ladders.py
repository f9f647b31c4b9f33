"""`liveops-rules daily-chains …` and `offer-chains …`: chains imported from a catalog file,
administered and played through the command line, on a store each command reopens."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.test_cli_chains import run

AT = datetime(2026, 11, 28, 12, tzinfo=UTC)
WHEN = ("--at", AT.isoformat())

SAMPLE = Path(__file__).resolve().parent.parent / "liveops_rules" / "samples" / "ladders.json"
CATALOG = json.loads(SAMPLE.read_text())
"""Two daily chains (rolling, calendar_hard) and an offer chain (a free step, a paid one)."""


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str, str]:
    """A store URI, the catalog file and a player's file."""
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(CATALOG))
    user = tmp_path / "user.json"
    user.write_text(json.dumps({"id": "p1"}))
    return f"sqlite:///{tmp_path / 'ladders.db'}", str(catalog), str(user)


def json_of(*argv: str) -> tuple[int, object]:
    status, out, err = run(*argv, "--format", "json")
    assert "Traceback" not in err
    return status, json.loads(out) if out else None


def test_daily_chains_are_imported_listed_shown_and_claimed_once_a_day(files):
    store, catalog, user = files
    assert json_of("daily-chains", "import", catalog, "--store", store) == (
        0,
        {"daily_chains": [1, 2]},
    )
    status, listed = json_of("daily-chains", "list", "--store", store)
    assert status == 0
    assert [(c["id"], c["type"], len(c["steps"])) for c in listed] == [
        (1, "rolling", 3),
        (2, "calendar_hard", 2),
    ]
    player = ("--user", user, "--store", store)
    status, out, _ = run("daily-chains", "claim", "1", "1", *player, *WHEN)
    assert status == 0
    assert "1 x gift1" in out
    status, out, _ = run("daily-chains", "claim", "1", "2", *player, *WHEN)
    assert status == 1
    assert "refused [6306 claimed_today]" in out
    assert "opens at 2026-11-29T06:00:00+00:00" in out
    tomorrow = (AT + timedelta(days=1)).isoformat()
    status, answer = json_of("daily-chains", "claim", "1", "2", *player, "--at", tomorrow)
    assert status == 0
    assert answer["items"] == [{"sku": "gift2", "quantity": 2}]
    status, shown = json_of("daily-chains", "show", "1", *player, "--at", tomorrow)
    assert [s["status"] for s in shown["steps"]] == ["claimed", "claimed", "claim_in_future"]
    assert shown["steps"][2]["unlocked_date"] == int(
        datetime(2026, 11, 30, 6, tzinfo=UTC).timestamp()
    )
    status, page = json_of("daily-chains", "view", *player, "--at", tomorrow)
    assert page["total_items_count"] == 2
    # The calendar chain: today's step was day 0's, missed; day 1's is claimable now.
    advent = next(item for item in page["items"] if item["id"] == 2)
    assert [s["status"] for s in advent["steps"]] == ["blocked", "claimable"]
    status, out, _ = run("daily-chains", "view", *player, "--at", tomorrow)
    assert "2/3 claimed" in out


def test_daily_chain_admin_verbs_keep_liveops_rules(files, tmp_path):
    store, catalog, _ = files
    assert run("daily-chains", "import", catalog, "--store", store)[0] == 0
    # A chain of the file with an id in the store is an update: refused while enabled.
    status, listed = json_of("daily-chains", "list", "--store", store)
    renamed = {**listed[0], "name": {"en": "Renamed"}}
    again = tmp_path / "again.json"
    again.write_text(json.dumps({"daily_chains": [renamed]}))
    status, _, err = run("daily-chains", "import", str(again), "--store", store)
    assert status == 1
    assert "Active chain cannot be updated" in err
    assert json_of("daily-chains", "show", "1", "--store", store)[1]["name"] == {"en": "Login week"}
    assert json_of("daily-chains", "toggle", "1", "--store", store) == (
        0,
        {"daily_chain_id": 1, "is_enabled": False},
    )
    renamed["is_enabled"] = False
    again.write_text(json.dumps({"daily_chains": [renamed]}))
    assert json_of("daily-chains", "import", str(again), "--store", store) == (
        0,
        {"daily_chains": [1]},
    )
    assert json_of("daily-chains", "show", "1", "--store", store)[1]["name"] == {"en": "Renamed"}
    status, _, err = run("daily-chains", "reset", "2", "--store", store, *WHEN)
    assert status == 1
    assert "not rolling" in err
    assert json_of("daily-chains", "reset", "1", "--store", store, *WHEN) == (
        0,
        {"daily_chain_id": 1, "generation": 1},
    )
    assert json_of("daily-chains", "delete", "1", "--store", store, *WHEN)[0] == 0
    status, _, err = run("daily-chains", "show", "1", "--store", store)
    assert status == 1
    assert "Daily chain 1 not found" in err


def test_an_offer_chain_is_climbed_through_order_pay_and_abandon(files):
    store, catalog, user = files
    assert json_of("offer-chains", "import", catalog, "--store", store) == (
        0,
        {"offer_chains": [1]},
    )
    player = ("--user", user, "--store", store, *WHEN)
    prices = ("--price", "potion=0.99", "--price", "sword=99.99")
    status, out, _ = run("offer-chains", "order", "1", "2", *player, *prices, "--hold", "600")
    assert status == 1
    assert "not_next_step" in out
    assert run("offer-chains", "claim", "1", "1", *player)[0] == 0
    status, made = json_of(
        "offer-chains", "order", "1", "2", *player, *prices, "--hold", "600", "--order-id", "o-1"
    )
    assert status == 0
    assert made["order_id"] == "o-1"
    assert made["quote"]["total"] == "199.98"
    status, page = json_of("offer-chains", "view", *player, *prices)
    step = page["items"][0]["steps"][1]
    assert step["step_price"] == {"amount": 199.98, "currency": "USD"}
    assert step["is_claimed"] is False
    assert json_of("offer-chains", "abandon", "o-1", *player) == (
        0,
        {"order_id": "o-1", "released": True},
    )
    status, out, _ = run(
        "offer-chains", "order", "1", "2", *player, *prices, "--hold", "600", "--order-id", "o-2"
    )
    assert status == 0
    assert "to pay 199.98 USD" in out
    status, paid = json_of("offer-chains", "pay", "o-2", *player)
    assert status == 0
    assert paid["items"] == [{"sku": "sword", "quantity": 2}]
    status, out, _ = run("offer-chains", "show", "1", *player, *prices)
    assert "next step: none (done)" in out
    status, _, err = run("offer-chains", "pay", "nope", *player)
    assert status == 1
    assert "Order nope" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["offer-chains", "order", "1", "1", "--price", "sword", "--hold", "60"],
        ["offer-chains", "order", "1", "1", "--price", "sword=-1", "--hold", "60"],
        ["offer-chains", "order", "1", "1", "--price", "sword=abc", "--hold", "60"],
        ["offer-chains", "order", "1", "1", "--price", "sword=1", "--hold", "0"],
        ["daily-chains", "claim", "0", "1"],
        ["daily-chains", "claim", "1", "x"],
    ],
)
def test_wrong_arguments_exit_2_with_a_message(argv, files):
    store, _, user = files
    status, _, err = run(*argv, "--user", user, "--store", store, *WHEN)
    assert status == 2
    assert "error" in err
    assert "Traceback" not in err


def test_a_catalog_without_chains_of_the_kind_exits_2(files, tmp_path):
    store, _, _ = files
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"daily_chains": CATALOG["daily_chains"]}))
    status, _, err = run("offer-chains", "import", str(empty), "--store", store)
    assert status == 2
    assert "no offer_chains to import" in err
    assert run("daily-chains", "list", "--store", store)[0] == 0
