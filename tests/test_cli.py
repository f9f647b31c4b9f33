"""The `liveops-rules` command line: check and demo."""

from __future__ import annotations

import importlib.metadata
import io
import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from liveops_rules.cli import main

SAMPLES = Path(str(resources.files("liveops_rules").joinpath("samples")))
CATALOG = str(SAMPLES / "catalog.json")
USER = str(SAMPLES / "user.json")
AT = "2026-11-28T12:00:00+00:00"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), out)
    return status, out.getvalue()


def test_check_prints_json_with_every_promotion_and_its_reasons():
    status, text = run("check", CATALOG, "--user", USER, "--at", AT, "--format", "json")
    assert status == 0
    document = json.loads(text)
    assert document["at"] == AT
    assert document["user"] == "player-42"
    results = {(r["kind"], r["id"]): r for r in document["results"]}
    assert results["coupon", "winter_gift"]["eligible"] is True
    vip = results["coupon", "vip_welcome"]
    assert vip["eligible"] is False
    assert vip["reasons"] == [
        {
            "code": "condition_failed",
            "message": "attribute `tier` is `silver`, needs `eq gold`",
            "attribute": "tier",
            "operator": "eq",
            "expected": "gold",
            "actual": "silver",
        }
    ]
    assert results["discount", "101"]["eligible"] is True
    assert results["bonus", "201"]["reasons"][0]["code"] == "disabled"
    assert results["personalized_rule", "302"]["eligible"] is False


def test_check_prints_a_table_by_default():
    status, text = run("check", CATALOG, "--user", USER, "--at", AT)
    assert status == 0
    lines = text.splitlines()
    assert lines[0].split() == ["KIND", "ID", "ELIGIBLE", "WHY", "NOT"]
    assert any("summer_gift" in line and "ended at 2026-09-01" in line for line in lines)


def test_bad_input_names_the_file_and_path_and_exits_2(tmp_path, capsys):
    catalog = tmp_path / "catalog.json"
    catalog.write_text(
        json.dumps({"coupons": [{"external_id": "x", "name": {}, "is_enabled": "yes"}]})
    )
    status, _ = run("check", str(catalog), "--user", USER, "--at", AT)
    assert status == 2
    err = capsys.readouterr().err
    assert f"{catalog}: $.coupons[0].is_enabled: expected true or false" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--at", "2026-11-28T12:00:00"), "no UTC offset"),
        (("--at", "tomorrow"), "expected an ISO 8601"),
    ],
)
def test_bad_moments_exit_2(args, message, capsys):
    status, _ = run("check", CATALOG, "--user", USER, *args)
    assert status == 2
    assert message in capsys.readouterr().err


def test_missing_and_broken_files_exit_2(tmp_path, capsys):
    assert run("check", str(tmp_path / "nope.json"), "--user", USER, "--at", AT)[0] == 2
    assert "nope.json" in capsys.readouterr().err
    broken = tmp_path / "user.json"
    broken.write_text('{"id": "u", "id": "v"}')
    assert run("check", CATALOG, "--user", str(broken), "--at", AT)[0] == 2
    assert "$.id: expected each key once" in capsys.readouterr().err


def test_demo_runs_on_bundled_data():
    status, text = run("demo")
    assert status == 0
    assert "winter_gift" in text
    assert "anonymous player: ['starter_pack']" in text
    assert "$.redeem_user_limit" in text
    assert "with code BLACKFRIDAY: 24.98 -> 18.22 USD" in text
    assert "not applied: promocode NOSUCH [9811]: no promo code 'NOSUCH'" in text
    assert "checkout holds: discount 102 x3, promocode BLACKFRIDAY x1; paid, so committed" in text
    assert "discount 102 for player-42: 0 of 3 units left this week" in text
    assert "the order earned 110 snowflakes" in text  # 60 per sword, 25 per shield (x2)
    assert "claim step 1: refused [9912] Reward already claimed." in text
    assert "claim step 2: refused [9913] 110 of 500 value points" in text
    assert "claim step 2: refused [6306] Already claimed today; the next claim opens" in text
    assert "2026-11-29T12:00:00+00:00 claim step 2: 1 x login_gift_2" in text
    assert "step 2 ordered: 19.98 USD, held until paid" in text
    assert "balance is now 255 snowflakes" in text  # 110 + the shield's 25 + 2 swords' 120


def test_the_module_runs_as_a_program():
    done = subprocess.run(
        [sys.executable, "-m", "liveops_rules.cli", "check", CATALOG, "--user", USER, "--at", AT],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "winter_gift" in done.stdout


def test_validate_guesses_kinds_and_reports_every_problem(tmp_path):
    good = tmp_path / "redeem.json"
    good.write_text('{"coupon_code": "ABC", "cart": {"id": "current"}}')
    bad = tmp_path / "promo.json"
    bad.write_text(
        json.dumps(
            {
                "external_id": "x",
                "name": {},
                "discount": {"percent": "200"},
                "attribute_conditions": [
                    {"attribute": "a", "type": "number", "operator": "er", "value": "1"}
                ],
            }
        )
    )
    status, text = run("validate", str(good), CATALOG, USER, str(bad))
    assert status == 2
    lines = text.splitlines()
    assert f"{good}: valid promocode_redeem_request" in lines
    assert f"{CATALOG}: valid catalog" in lines
    assert f"{USER}: valid user" in lines
    assert any(line.startswith(f"{bad}: invalid promocode") for line in lines)
    assert "  $.discount.percent: expected a percent in (0, 100], found 200" in lines
    assert any(line.startswith("  $.attribute_conditions[0].operator") for line in lines)


def test_validate_with_kind_and_form(tmp_path):
    payload = tmp_path / "coupon.json"
    payload.write_text('{"external_id": "c", "name": {}, "is_enabled": true}')
    assert run("validate", "--kind", "coupon", str(payload))[0] == 0
    status, text = run("validate", "--kind", "coupon", "--form", "request", str(payload))
    assert status == 2
    assert "$.is_enabled" in text
    assert run("validate", "--kind", "coupon", "--form", "response", str(payload))[0] == 0


def test_validate_reports_broken_json(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"a": NaN}')
    status, text = run("validate", str(broken))
    assert status == 2
    assert f"{broken}: invalid JSON" in text


def store_uri(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_import_is_idempotent_and_redeem_counts(tmp_path, capsys):
    uri = store_uri(tmp_path)
    assert run("import", CATALOG, "--store", uri) == (
        0,
        f"imported 10 promotions and 5 new codes into {uri} (10 new, 0 changed, 0 unchanged)\n",
    )
    assert run("import", CATALOG, "--store", uri)[1] == (
        f"imported 10 promotions and 0 new codes into {uri} (0 new, 0 changed, 10 unchanged)\n"
    )
    status, text = run(
        "redeem", "WINTER2026", "--user", USER, "--store", uri, "--at", AT, "--format", "json"
    )
    assert status == 0
    document = json.loads(text)
    assert document["ok"] is True
    assert document["promotion"] == "coupon:winter_gift"
    assert document["items"] == [
        {"sku": "gold_chest", "quantity": 1},
        {"sku": "gems_100", "quantity": 2},
    ]
    status, text = run(
        "redeem", "SNOWFALL", "--user", USER, "--store", uri, "--at", AT, "--format", "json"
    )
    assert status == 1
    assert json.loads(text) == {
        "ok": False,
        "promotion": "coupon:winter_gift",
        "reason": "limit_reached",
        "error_code": 9804,
        "message": "per-user limit 1 of 1 used",
    }
    status, text = run("redeem", "NOSUCH", "--user", USER, "--store", uri, "--at", AT)
    assert (status, text) == (1, "refused [9811 unknown_code]: Code not found.\n")


def test_redeem_with_a_catalog_and_an_idempotency_key(tmp_path):
    uri = store_uri(tmp_path)
    args = ("--user", USER, "--store", uri, "--at", AT, "--catalog", CATALOG)
    first = run("redeem", "VIPGOLD", *args, "--idempotency-key", "k1", "--format", "json")
    assert first[0] == 1  # the sample player is silver, not gold
    assert json.loads(first[1])["reason"] == "condition_failed"
    again = run("redeem", "VIPGOLD", *args, "--idempotency-key", "k1", "--format", "json")
    assert again == first


def test_limits_and_codes_commands(tmp_path, capsys):
    uri = store_uri(tmp_path)
    run("import", CATALOG, "--store", uri)
    run("redeem", "WINTER2026", "--user", USER, "--store", uri, "--at", AT)
    common = ("--user", "player-42", "--store", uri, "--at", AT)
    shown = run("limits", "show", "winter_gift", *common, "--format", "json")[1]
    assert json.loads(shown) == {"per_user": {"total": 1, "available": 0}}
    assert run("limits", "show", "winter_gift", *common) == (
        0,
        "coupon:winter_gift for player-42: 0 of 1 uses available\n",
    )
    increased = run("limits", "increase", "coupon:winter_gift", "2", *common, "--format", "json")
    assert json.loads(increased[1]) == {"per_user": {"total": 3, "available": 2}}
    set_to = run("limits", "set", "winter_gift", "5", *common, "--format", "json")
    assert json.loads(set_to[1])["per_user"]["available"] == 5
    # refusals of the library exit 1 with LiveOps' code
    assert run("limits", "decrease", "winter_gift", "9", *common)[0] == 1
    assert "[4511]" in capsys.readouterr().err
    assert run("limits", "show", "vip_welcome", *common)[0] == 1
    assert "[4509]" in capsys.readouterr().err
    assert run("limits", "reset", "winter_gift", "--store", uri, "--at", AT) == (
        0,
        "reset 1 counters\n",
    )
    status, text = run("codes", "generate", "winter_gift", "--count", "25", "--store", uri)
    codes = text.split()
    assert status == 0
    assert len(set(codes)) == 25
    status, text = run(
        "codes", "generate", "winter_gift", "--count", "2", "--store", uri, "--format", "json"
    )
    document = json.loads(text)
    assert document["promotion"] == "coupon:winter_gift"
    assert len(set(document["codes"]) - set(codes)) == 2
    status, text = run(
        "codes", "list", "winter_gift", "--limit", "100", "--store", uri, "--format", "json"
    )
    listed = json.loads(text)
    assert status == 0
    assert set(codes) | set(document["codes"]) <= set(listed["codes"])  # every generated one
    assert run("codes", "generate", "nosuch", "--count", "1", "--store", uri)[0] == 1
    assert "Promotion coupon:nosuch not found" in capsys.readouterr().err


def test_bad_store_uris_exit_2(capsys):
    assert run("import", CATALOG, "--store", "bogus://x")[0] == 2
    assert "--store" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["redis", "postgres"])
def test_import_and_redeem_on_server_stores(kind, request):
    import uuid

    if kind == "redis":
        uri = f"{request.getfixturevalue('redis_server').url}?prefix=cli-{uuid.uuid4().hex}"
    else:
        server = request.getfixturevalue("postgres_server")
        uri = f"{server.url}?schema=cli_{uuid.uuid4().hex}&create_schema=true&pool_size=1"
    assert run("import", CATALOG, "--store", uri)[0] == 0
    common = ("--user", USER, "--store", uri, "--at", AT, "--format", "json")
    assert json.loads(run("redeem", "WINTER2026", *common)[1])["ok"] is True
    status, text = run("redeem", "SNOWFALL", *common)
    assert status == 1
    assert json.loads(text)["message"] == "per-user limit 1 of 1 used"


def test_an_unreachable_server_store_is_a_clear_error(capsys):
    status, _ = run("import", CATALOG, "--store", "redis://127.0.0.1:1/0?retry_window=0")
    assert status == 2
    assert "Redis at 127.0.0.1:1 is unreachable" in capsys.readouterr().err


CART = str(SAMPLES / "cart.json")


def quote(at: str, *options: str) -> tuple[int, str]:
    return run("quote", CART, "--user", USER, "--catalog", CATALOG, "--at", at, *options)


def test_quote_prices_the_sample_cart_as_json():
    status, text = quote(AT, "--promocode", "BLACKFRIDAY", "--format", "json")
    assert status == 0
    document = json.loads(text)
    assert (document["currency"], document["total_before"], document["total"]) == (
        "USD",
        "24.98",
        "18.22",
    )
    sword = document["lines"][0]
    assert (sword["sku"], sword["quantity"], sword["price"], sword["final_price"]) == (
        "elven_sword",
        1,
        "10.00",
        "6.84",
    )
    assert [(a["kind"], a["id"], a["amount"]) for a in sword["applied"]] == [
        ("discount", "101", "1.00"),
        ("discount", "102", "1.80"),
        ("promocode", "BLACKFRIDAY", "0.36"),
    ]
    assert [(a["kind"], a["id"], a["amount"]) for a in document["applied"]] == [
        ("discount", "101", "1.00"),
        ("discount", "102", "4.80"),
        ("promocode", "BLACKFRIDAY", "0.96"),
    ]
    assert document["bonus_items"] == []
    assert document["virtual_totals"] == {"gold": 100}
    assert document["not_applied"] == [
        {
            "kind": "bonus",
            "id": "201",
            "reasons": [{"code": "disabled", "message": "promotion is disabled"}],
        }
    ]


def test_quote_reports_an_unknown_code_with_its_error_code_and_still_prices():
    status, text = quote(
        AT, "--promocode", "WINTER2026", "--format", "json"
    )  # a coupon's code, not a promo code
    assert status == 0
    document = json.loads(text)
    assert document["total"] == "19.18"
    assert document["not_applied"][-1]["kind"] == "promocode"
    assert document["not_applied"][-1]["error_code"] == 9811


def test_quote_prints_a_table_by_default():
    status, text = quote("2026-12-05T00:00:00+00:00", "--promocode", "BLACKFRIDAY")
    assert status == 0
    lines = text.splitlines()
    assert lines[0].split() == ["SKU", "QTY", "PRICE", "FINAL", "TOTAL", "APPLIED"]
    assert lines[1].split()[:5] == ["elven_sword", "1", "10.00", "7.20", "7.20"]
    assert "total 24.98 -> 19.18 USD (discount 5.80)" in lines
    assert "virtual currency: 100 gold (never discounted)" in lines
    assert any(line.startswith("  promocode BLACKFRIDAY [9810]: ended at") for line in lines)


def test_quote_refuses_a_bad_cart_with_its_paths(tmp_path, capsys):
    broken = tmp_path / "cart.json"
    broken.write_text(json.dumps({"currency": "USD", "items": [{"sku": "a", "price": 9.99}]}))
    status, _ = run("quote", str(broken), "--user", USER, "--catalog", CATALOG, "--at", AT)
    assert status == 2
    assert "$.items[0].price: expected a decimal string" in capsys.readouterr().err


def test_quote_with_a_store_checks_out_and_limits_show_on_the_next_order(tmp_path, capsys):
    store = f"sqlite:///{tmp_path / 'shop.db'}"
    status, text = quote(AT, "--promocode", "BLACKFRIDAY", "--store", store, "--commit")
    assert status == 0
    assert "committed: discount 102 x3" in text
    assert "committed: promocode BLACKFRIDAY x1" in text
    status, text = quote(
        AT, "--promocode", "BLACKFRIDAY", "--store", store, "--format", "json", "--hold", "60"
    )
    document = json.loads(text)
    assert document["quote"]["total"] == "22.79"  # discount 102's weekly 3 units are used
    refused = [n for n in document["quote"]["not_applied"] if n["id"] == "102"]
    assert refused[0]["reasons"][0]["code"] == "limit_reached"
    assert [r["id"] for r in document["reservations"]] == ["BLACKFRIDAY"]
    assert document["expires_at"] == "2026-11-28T12:01:00+00:00"
    assert document["committed"] is False
    status, _ = quote(AT, "--commit")
    assert status == 2
    assert "--commit needs --store" in capsys.readouterr().err


def test_validate_reads_the_bundled_cart_as_a_cart():
    status, text = run("validate", str(SAMPLES / "cart.json"))
    assert (status, text.strip()) == (0, f"{SAMPLES / 'cart.json'}: valid cart")
    assert run("validate", "--kind", "cart", CATALOG)[0] == 2


def test_validate_checks_the_form_of_a_catalogs_promotions(tmp_path):
    catalog = tmp_path / "catalog.json"
    catalog.write_text('{"coupons": [{"external_id": "c", "name": {}, "is_enabled": true}]}')
    status, text = run("validate", "--form", "request", str(catalog))
    assert status == 2
    assert "$.coupons[0].is_enabled" in text
    status, text = run("validate", "--form", "response", str(catalog))
    assert (status, text.strip()) == (0, f"{catalog}: valid catalog (response)")
    assert run("validate", "--form", "request", USER)[1].strip() == f"{USER}: valid user"


def test_the_version_is_the_packages():
    from liveops_rules import __version__

    done = subprocess.run(
        [sys.executable, "-m", "liveops_rules.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, f"liveops-rules {__version__}")
    assert __version__ == importlib.metadata.version("liveops-rules")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_shows_only_for_work_past_a_second(monkeypatch):
    from liveops_rules.cli import common

    now = [100.0]
    monkeypatch.setattr(common.time, "monotonic", lambda: now[0])
    quick, slow = _Terminal(), _Terminal()
    show = common.progress_bar(10, quick)
    assert show is not None
    show(5)
    show(10)
    assert quick.getvalue() == ""  # done within the second: no bar
    show = common.progress_bar(10, slow)
    assert show is not None
    show(2)
    now[0] += 1.5
    show(4)
    show(10)
    assert slow.getvalue() == "\r[############..................] 4/10\r[" + "#" * 30 + "] 10/10\n"
    assert common.progress_bar(10, io.StringIO()) is None  # not a terminal
