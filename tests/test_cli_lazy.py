"""The command line imports only what its verb needs, and each verb parses as it does among
all the others."""

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from liveops_rules.cli import VERB_GROUPS, build_parser, main
from liveops_rules.cli.common import UsageError

SAMPLES = Path(__file__).resolve().parent.parent / "liveops_rules" / "samples"


def _help(argv: list[str], parser_argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        build_parser(parser_argv).parse_args(argv)
    return out.getvalue()


def test_every_verb_of_the_full_command_is_in_the_table() -> None:
    listed = _help(["--help"], [])
    lines = listed.splitlines()
    verbs = {line.split()[0] for line in lines if line.startswith("    ") and line[4] != " "}
    assert verbs == set(VERB_GROUPS)


@pytest.mark.parametrize("verb", sorted(VERB_GROUPS))
def test_a_verb_alone_parses_and_helps_as_among_all(verb: str) -> None:
    assert _help([verb, "--help"], [verb]) == _help([verb, "--help"], [])


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "c.json", "--user", "u.json", "--at", "2026-11-28T12:00:00+00:00"],
        ["validate", "a.json", "--kind", "coupon_list", "--form", "response"],
        ["import", "c.json", "--store", "memory://", "--sync", "--dry-run"],
        ["redeem", "CODE", "--user", "u.json", "--store", "memory://", "--at", "now"],
        ["chains", "list", "--store", "memory://"],
    ],
)
def test_a_verb_alone_reads_its_arguments_as_among_all(argv: list[str]) -> None:
    alone, among = build_parser(argv).parse_args(argv), build_parser().parse_args(argv)
    assert {k: v for k, v in vars(alone).items() if k != "at"} == {
        k: v for k, v in vars(among).items() if k != "at"
    }


def test_a_mistyped_verb_is_told_every_verb() -> None:
    with pytest.raises(UsageError) as error:
        build_parser(["chekc"]).parse_args(["chekc"])
    for verb in VERB_GROUPS:
        assert verb in str(error.value)


def test_version_is_printed_and_exits_zero() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "liveops_rules.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("liveops-rules ")


PLAIN_CATALOG = {
    "coupons": [
        {
            "external_id": "welcome",
            "name": {"en": "Welcome"},
            "is_enabled": True,
            "bonus": [{"sku": "gem", "quantity": 1}],
            "attribute_conditions": [
                {
                    "attribute": "tier",
                    "type": "string",
                    "operator": "eq",
                    "value": "gold",
                    "can_be_missing": False,
                }
            ],
        }
    ],
    "discounts": [
        {
            "id": 7,
            "name": {"en": "Sale"},
            "is_enabled": True,
            "discount": {"percent": "10.00"},
            "items": [{"sku": "sword"}],
        }
    ],
}


def test_check_of_plain_payloads_imports_no_store_chain_answer_or_cattrs(tmp_path: Path) -> None:
    catalog, user = tmp_path / "catalog.json", tmp_path / "user.json"
    catalog.write_text(json.dumps(PLAIN_CATALOG))
    user.write_text(json.dumps({"id": "u1", "attributes": {"tier": "gold", "level": 3}}))
    code = (
        "import json, sys\n"
        "from liveops_rules.cli import main\n"
        f"status = main(['check', {str(catalog)!r}, '--user', {str(user)!r},"
        " '--at', '2026-11-28T12:00:00+00:00', '--format', 'json'])\n"
        "print(json.dumps([status, sorted(sys.modules)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    status, loaded = json.loads(lines[-1])
    assert status == 0
    answers = json.loads("\n".join(lines[:-1]))
    assert [(row["id"], row["eligible"]) for row in answers["results"]] == [
        ("welcome", True),
        ("7", True),
    ]
    heavy = (
        "liveops_rules.accounting",
        "liveops_rules.stores",
        "sqlite3",
        "liveops_rules.chains",
        "liveops_rules.wire._chains",
        "liveops_rules.wire._answers",
        "liveops_rules.wire._ladders",
        "liveops_rules.wire._converter",
        "liveops_rules.wire._dump",
        "liveops_rules.cli.chains",
        "liveops_rules.cli.counting",
        "cattrs",
    )
    assert [name for name in loaded if name.startswith(heavy)] == []


def test_a_refusal_still_exits_one_with_its_code(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(["promotions", "activate", "coupon:none", "--store", store], io.StringIO())
    assert (status, err.getvalue()) == (
        1,
        "liveops-rules: Promotion coupon:none not found [9802]\n",
    )
