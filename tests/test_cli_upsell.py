"""`liveops-rules upsell …`: the configuration set, shown, switched, and the offers of the
bundled sample items, on a store each command reopens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli_chains import run

SAMPLES = Path(__file__).resolve().parent.parent / "liveops_rules" / "samples"
ITEMS = str(SAMPLES / "upsell_items.json")
UPSELL = str(SAMPLES / "upsell.json")
CATALOG = str(SAMPLES / "catalog.json")
AT = ("--at", "2026-11-28T12:00:00+00:00")


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'upsell.db'}"


def json_of(*argv: str) -> tuple[int, object]:
    status, out, err = run(*argv, "--format", "json")
    assert "Traceback" not in err
    return status, json.loads(out) if out else None


def test_an_upsell_is_set_shown_switched_and_offers_its_list(store, tmp_path):
    status, _, err = run("upsell", "show", "--store", store)
    assert status == 1
    assert "Upsell is not configured." in err
    assert json_of("upsell", "set", UPSELL, "--items", ITEMS, "--store", store) == (
        0,
        {"type": "fixed_list", "is_enabled": True, "items": ["potion", "elven_shield", "gem_pack"]},
    )
    user = tmp_path / "user.json"
    user.write_text('{"id": "p1"}')
    cart = tmp_path / "cart.json"
    cart.write_text(
        json.dumps(
            {"currency": "USD", "items": [{"sku": "elven_shield", "quantity": 1, "price": "4.99"}]}
        )
    )
    offer = ("upsell", "offer", "--user", str(user), "--items", ITEMS, "--store", store, *AT)
    status, page = json_of(*offer, "--cart", str(cart), "--catalog", CATALOG)
    assert status == 0
    assert [item["sku"] for item in page["items"]] == ["potion", "gem_pack"]
    assert page["items"][1]["price"] is None  # sold for gold only
    assert page["items"][1]["virtual_prices"][0]["amount"] == 500
    status, out, _ = run(*offer, "--limit", "1")
    assert "potion" in out
    assert "(more: --offset 1)" in out
    assert json_of("upsell", "deactivate", "--store", store)[1]["is_enabled"] is False
    assert json_of(*offer)[1] == {"has_more": False, "items": []}
    assert run("upsell", "activate", "--store", store)[1] == "upsell enabled\n"


def test_unknown_skus_are_refused_with_liveops_words(store, tmp_path):
    upsell = tmp_path / "upsell.json"
    upsell.write_text('{"type": "fixed_list", "is_enabled": true, "items": ["potion", "nope"]}')
    status, _, err = run("upsell", "set", str(upsell), "--items", ITEMS, "--store", store)
    assert status == 1
    assert "Items weren't found: nope" in err
    assert run("upsell", "show", "--store", store)[0] == 1  # nothing was written


def test_a_wrong_body_exits_2_naming_its_path(store, tmp_path):
    upsell = tmp_path / "upsell.json"
    upsell.write_text('{"type": "fixed_list", "items": ["potion"]}')
    status, _, err = run("upsell", "set", str(upsell), "--items", ITEMS, "--store", store)
    assert status == 2
    assert "$.is_enabled" in err
