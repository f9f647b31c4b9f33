"""A campaign's whole life through the command line, on each store a command can reopen
(memory:// lives in one process: each command would get a new, empty one)."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest

from liveops_rules.cli import main

AT = "2026-11-28T12:00:00+00:00"
USER = {"id": "player-1", "attributes": {}}
REQUEST = {
    "external_id": "campaign",
    "name": {"en": "Campaign"},
    "bonus": [{"sku": "gem", "quantity": 3}],
    "redeem_total_limit": 10,
}


def run(*argv: str) -> tuple[int, dict]:
    out = io.StringIO()
    status = main([*argv, "--format", "json"], out)
    return status, json.loads(out.getvalue()) if out.getvalue() else {}


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def store_uri(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'campaign.db'}"
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        return f"{server.url}?prefix=campaign-{uuid.uuid4().hex}"
    server = request.getfixturevalue("postgres_server")
    return f"{server.url}?schema=c_{uuid.uuid4().hex}&create_schema=true&pool_size=1"


def test_a_campaign_from_creation_to_deletion(store_uri, tmp_path):
    request = tmp_path / "coupon.json"
    request.write_text(json.dumps(REQUEST))
    user = tmp_path / "user.json"
    user.write_text(json.dumps(USER))
    store = ("--store", store_uri)
    redeem = ("--user", str(user), *store, "--at", AT)

    assert run("promotions", "create", "coupon", str(request), *store) == (
        0,
        {"external_id": "campaign"},
    )
    assert run("codes", "add", "campaign", "CAMP1", *store)[0] == 0
    status, refused = run("redeem", "CAMP1", *redeem)
    assert (status, refused["reason"], refused["error_code"]) == (1, "disabled", 9807)
    assert run("promotions", "activate", "campaign", *store)[1]["is_enabled"] is True
    status, redeemed = run("redeem", "CAMP1", *redeem)
    assert (status, redeemed["items"]) == (0, [{"sku": "gem", "quantity": 3}])
    assert run("codes", "add", "campaign", "CAMP2", *store)[0] == 0
    status, _ = run("codes", "add", "campaign", "CAMP2", *store)
    assert status == 1  # 9803: the code exists
    assert run("codes", "list", "campaign", *store)[1] == {
        "codes": ["CAMP1", "CAMP2"],
        "total_count": 2,
    }
    assert run("promotions", "deactivate", "campaign", *store)[1]["is_enabled"] is False
    assert run("redeem", "CAMP2", *redeem)[1]["reason"] == "disabled"
    request.write_text(json.dumps({**REQUEST, "redeem_total_limit": 1}))  # its limits change
    assert run("promotions", "update", "campaign", str(request), *store)[0] == 0
    assert run("promotions", "activate", "campaign", *store)[0] == 0
    status, full = run("redeem", "CAMP2", *redeem)
    assert (status, full["reason"], full["error_code"]) == (1, "limit_reached", 9804)
    shown = run("promotions", "show", "campaign", *store, "--at", AT)[1]
    assert shown["total_limit_state"] == {"available": 0, "reserved": 0, "used": 1}
    assert shown["total_codes_count"] == 2
    listed = run("promotions", "list", *store)[1]
    assert listed["total_promotions_count"] == 1
    assert listed["active_promotions_count"] == 1
    assert run("promotions", "delete", "campaign", *store, "--at", AT)[1]["codes_freed"] == 2
    status, gone = run("redeem", "CAMP1", *redeem)
    assert (status, gone["reason"], gone["error_code"]) == (1, "unknown_code", 9811)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**REQUEST, "external_id": "another"}))
    assert run("promotions", "create", "coupon", str(other), *store)[0] == 0
    assert run("codes", "add", "another", "CAMP1", *store)[0] == 0  # the freed code, reused
    status, found = run("codes", "lookup", "CAMP1", *store)
    assert (status, found["promotion"]) == (0, "coupon:another")
    assert run("promotions", "show", "campaign", *store)[0] == 1  # 9802: deleted


def test_verify_answers_as_liveops_does(tmp_path):
    store = ("--store", f"sqlite:///{tmp_path / 'verify.db'}")
    request = tmp_path / "coupon.json"
    request.write_text(json.dumps(REQUEST))
    user = tmp_path / "user.json"
    user.write_text(json.dumps(USER))
    assert run("promotions", "create", "coupon", str(request), *store)[0] == 0
    assert run("promotions", "activate", "campaign", *store)[0] == 0
    assert run("codes", "add", "campaign", "CAMP1", *store)[0] == 0
    assert run("verify", "CAMP1", "--user", str(user), *store, "--at", AT) == (
        0,
        {
            "type": "coupon",
            "code": "CAMP1",
            "rewards": {"bonus": [{"item": {"sku": "gem"}, "quantity": 3}], "is_selectable": False},
        },
    )
