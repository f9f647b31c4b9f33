"""The command line against hostile input: numbers, moments, amounts, undecodable text and
passwords. Every wrong input exits 2 (a refusal 1) with a message, never a traceback, and no
password written in the arguments is ever printed."""

from __future__ import annotations

import io
import json
import os
import queue
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveops_rules.cli import main
from liveops_rules.stores import redact_uri
from tests.cli_harness import Harness

SAMPLES = Path(str(resources.files("liveops_rules").joinpath("samples")))
CATALOG = str(SAMPLES / "catalog.json")
USER = str(SAMPLES / "user.json")
CART = str(SAMPLES / "cart.json")
COUPON = str(SAMPLES / "coupon.json")
LADDERS = str(SAMPLES / "ladders.json")
UPSELL = str(SAMPLES / "upsell.json")
UPSELL_ITEMS = str(SAMPLES / "upsell_items.json")
AT = "2026-11-28T12:00:00+00:00"
ROOT = Path(__file__).resolve().parent.parent

PASSWORD = "s3cr%40et-Pw"  # percent-encoded: the driver sees s3cr@et-Pw
SECRETS = ("s3cr", PASSWORD, "s3cr@et-Pw")  # no piece of it may be printed


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), out)
    return status, out.getvalue()


def sqlite_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


# -- redact_uri ---------------------------------------------------------------------------

_NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789._-", max_size=8)
_HOST = st.text("abcdefghijklmnopqrstuvwxyz0123456789.-", min_size=1, max_size=10)
_TAIL = st.text("abcdefghijklmnopqrstuvwxyz0123456789/?=&", max_size=12)
_SCHEMES = st.sampled_from(["postgresql", "postgres", "redis", "rediss", "unix", "x+y"])
# raw passwords: anything but whitespace (a URI ends at whitespace), also @ / ? # :
_RAW_PASSWORD = st.text(
    st.characters(min_codepoint=33, max_codepoint=0x2FFF, blacklist_categories=["Z", "C"]),
    min_size=1,
    max_size=16,
)


@settings(max_examples=400, deadline=None)
@given(_SCHEMES, _NAME, st.text(min_size=1, max_size=16), _HOST, _TAIL, st.booleans())
def test_redact_uri_hides_a_percent_encoded_password(scheme, user, password, host, tail, port):
    where = f"{host}:5432" if port else host
    uri = f"{scheme}://{user}:{quote(password, safe='')}@{where}/{tail}"
    assert redact_uri(uri) == f"{scheme}://{user}:***@{where}/{tail}"


@settings(max_examples=400, deadline=None)
@given(_SCHEMES, _NAME, _RAW_PASSWORD, _HOST, _TAIL)
def test_redact_uri_hides_a_raw_password_with_any_punctuation(scheme, user, password, host, tail):
    uri = f"{scheme}://{user}:{password}@{host}/{tail}"
    assert redact_uri(uri) == f"{scheme}://{user}:***@{host}/{tail}"
    message = f"cannot connect ({uri}): refused"
    assert redact_uri(message) == f"cannot connect ({redact_uri(uri)}): refused"


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        (
            "postgresql://h/db?sslmode=require&password=pw&x=1",
            "postgresql://h/db?sslmode=require&password=***&x=1",
        ),
        ("host=h password='a secret' user=u", "host=h password=*** user=u"),
        ("redis://:pw@h:6379/0", "redis://:***@h:6379/0"),
    ],
)
def test_redact_uri_hides_password_options(uri, shown):
    assert redact_uri(uri) == shown


@pytest.mark.parametrize(
    "uri",
    [
        "memory://",
        "sqlite:///relative.db",
        "sqlite:////tmp/odd:name@x.db",
        "redis://127.0.0.1:6379/0?prefix=cli",
        "postgresql://postgres@127.0.0.1:5432/postgres?schema=s",
        "postgresql://u:@h/db",
        "",
        "not a uri at all: user@example.org",
    ],
)
def test_redact_uri_leaves_uris_without_a_password_alone(uri):
    assert redact_uri(uri) == uri


# -- item 18: numbers, moments and amounts ------------------------------------------------


def quote_args(*options: str) -> list[str]:
    return ["quote", CART, "--user", USER, "--catalog", CATALOG, *options]


@pytest.mark.parametrize(
    "hold", ["nan", "inf", "-inf", "1e300", "-1", "0", "0.0000001", "315360001", "", "ten"]
)
def test_quote_refuses_a_hold_that_is_not_a_positive_bounded_number(hold, tmp_path, capsys):
    status, text = run(*quote_args("--at", AT, "--store", sqlite_uri(tmp_path), f"--hold={hold}"))
    err = capsys.readouterr().err
    assert (status, text) == (2, "")
    assert "argument --hold: expected seconds, more than 0 and at most 315360000" in err
    assert "Traceback" not in err
    assert not (tmp_path / "cli.db").exists()  # refused before the store was opened


def test_quote_accepts_the_longest_documented_hold(tmp_path):
    status, text = run(
        *quote_args("--at", AT, "--store", sqlite_uri(tmp_path), "--hold", "315360000")
    )
    assert status == 0
    assert "held until 2036-11-25T12:00:00+00:00" in text  # 3650 days later


@pytest.mark.parametrize(
    ("at", "hold"),
    [
        ("9999-12-31T23:59:00+00:00", "900"),
        ("9999-12-31T00:00:00+00:00", "86400"),
        ("9999-12-31T23:00:00-00:30", "3600"),
    ],
)
def test_a_hold_past_year_9999_exits_2(at, hold, tmp_path, capsys):
    status, _ = run(*quote_args("--at", at, "--store", sqlite_uri(tmp_path), "--hold", hold))
    err = capsys.readouterr().err
    assert status == 2
    assert "past the year 9999" in err


def test_a_checkout_late_in_year_9999_exits_2_not_a_traceback(tmp_path, capsys):
    """The issue's own example: needs the library to refuse moments it cannot count (a
    weekly limit's period near year 9999 overflows) with a ValidationError."""
    status, _ = run(
        *quote_args("--at", "9999-12-31T23:00:00+00:00", "--store", sqlite_uri(tmp_path))
    )
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("liveops-rules: ")
    assert "internal error" not in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    "moment",
    ["0001-01-01T00:00:00+05:00", "9999-12-31T23:30:00-01:00"],
)
def test_a_moment_outside_the_utc_years_exits_2(moment, capsys):
    status, _ = run("check", CATALOG, "--user", USER, "--at", moment)
    assert status == 2
    assert "outside the years 1 to 9999" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("given_at", "meant"),
    [
        ("2026-11-28", datetime(2026, 11, 28, tzinfo=UTC)),
        ("2026-11-28T12:30", datetime(2026, 11, 28, 12, 30, tzinfo=UTC)),
        ("2026-11-28 12:30:15.5", datetime(2026, 11, 28, 12, 30, 15, 500000, tzinfo=UTC)),
    ],
)
def test_a_moment_without_offset_suggests_a_value_that_is_accepted(given_at, meant, capsys):
    assert run("check", CATALOG, "--user", USER, "--at", given_at)[0] == 2
    err = capsys.readouterr().err
    found = re.search(r"no UTC offset; add one, like (\S+)", err)
    assert found is not None, err
    suggestion = found.group(1)
    assert datetime.fromisoformat(suggestion) == meant
    status, text = run("check", CATALOG, "--user", USER, "--at", suggestion, "--format", "json")
    assert status == 0
    assert datetime.fromisoformat(json.loads(text)["at"]) == meant


@pytest.fixture
def limits_store(tmp_path) -> str:
    """A store where player-42 used their one use of winter_gift: 0 of 1 available."""
    uri = sqlite_uri(tmp_path)
    assert run("import", CATALOG, "--store", uri)[0] == 0
    assert run("redeem", "WINTER2026", "--user", USER, "--store", uri, "--at", AT)[0] == 0
    return uri


def available(uri: str) -> tuple[int, int]:
    status, text = run(
        "limits",
        "show",
        "winter_gift",
        "--user",
        "player-42",
        "--store",
        uri,
        "--at",
        AT,
        "--format",
        "json",
    )
    assert status == 0
    state = json.loads(text)["per_user"]
    return state["total"], state["available"]


@pytest.mark.parametrize(
    ("action", "amount"),
    [
        ("decrease", "-5"),
        ("increase", "-1"),
        ("increase", "0"),
        ("decrease", "0"),
        ("set", "-1"),
        ("increase", "2147483648"),
        ("set", "2147483648"),
        ("increase", "1e3"),
        ("increase", "nan"),
        ("increase", "9" * 5000),
        ("increase", ""),
    ],
)
def test_limit_amounts_out_of_range_exit_2_and_change_nothing(action, amount, limits_store, capsys):
    assert available(limits_store) == (1, 0)
    common = ("--user", "player-42", "--store", limits_store, "--at", AT)
    status, text = run("limits", action, "winter_gift", amount, *common)
    err = capsys.readouterr().err
    assert (status, text) == (2, "")
    assert "argument AMOUNT: expected a whole number from" in err
    assert "Traceback" not in err
    assert available(limits_store) == (1, 0)


def test_limit_amounts_change_by_what_they_say(limits_store):
    common = ("--user", "player-42", "--store", limits_store, "--at", AT)
    assert run("limits", "increase", "winter_gift", "5", *common)[0] == 0
    assert available(limits_store) == (6, 5)
    assert run("limits", "decrease", "winter_gift", "3", *common)[0] == 0
    assert available(limits_store) == (3, 2)
    assert run("limits", "set", "winter_gift", "0", *common)[0] == 0
    assert available(limits_store) == (1, 0)


# -- item 18: undecodable and non-Unicode text --------------------------------------------


@pytest.fixture
def surrogate_user(tmp_path) -> str:
    path = tmp_path / "user.json"
    path.write_text('{"id": "\\ud800", "attributes": {"tier": "gold"}}')
    return str(path)


@pytest.mark.parametrize(
    "verb",
    [
        ["check", CATALOG, "--at", AT, "--format", "json"],
        ["redeem", "WINTER2026", "--at", AT, "--store", "memory://", "--catalog", CATALOG],
        ["quote", CART, "--catalog", CATALOG, "--at", AT, "--format", "json"],
        ["quote", CART, "--catalog", CATALOG, "--at", AT, "--store", "memory://"],
    ],
)
def test_a_user_file_with_a_lone_surrogate_exits_2_naming_file_and_path(
    verb, surrogate_user, capsys
):
    status, text = run(*verb, "--user", surrogate_user)
    err = capsys.readouterr().err
    assert (status, text) == (2, "")
    assert f"{surrogate_user}: $.id: expected valid Unicode text" in err
    err.encode("utf-8")  # printable


@pytest.mark.parametrize(
    "content",
    [
        b'{"id": "\xed\xa0\x80", "attributes": {}}',  # a surrogate encoded in UTF-8's way
        '{"id": "\\ud800", "attributes": {}}'.encode("utf-16"),  # in UTF-16, escaped
        '{"id": "\\ud800", "attributes": {}}'.encode("utf-32-le"),  # UTF-32, escaped
        b'{"id": "\\uDBFF", "attributes": {}}',  # an upper-case escape
    ],
    ids=["utf8-bytes", "utf16", "utf32", "upper-case"],
)
def test_lone_surrogates_are_found_whatever_the_file_encoding(tmp_path, capsys, content):
    # A quick check spares valid UTF-8 files the walk; it must not miss these.
    user = tmp_path / "user.json"
    user.write_bytes(content)
    status, _ = run("check", CATALOG, "--at", AT, "--user", str(user))
    err = capsys.readouterr().err
    if status == 2 and "invalid JSON" in err and "surrogate" not in err:
        pytest.fail(f"not parsed as JSON at all: {err}")
    assert status == 2
    assert "$.id: expected valid Unicode text" in err


def test_surrogates_anywhere_in_a_file_are_refused_with_their_paths(tmp_path, capsys):
    catalog = tmp_path / "catalog.json"
    catalog.write_text(
        '{"coupons": [{"external_id": "x", "name": {"en-US": "\\udcff"}, "\\ud800k": 1}]}'
    )
    assert run("check", str(catalog), "--user", USER, "--at", AT)[0] == 2
    err = capsys.readouterr().err
    assert "$.coupons[0].name.en-US: expected valid Unicode text" in err
    assert "$.coupons[0].\\ud800k: expected a key of valid Unicode text" in err
    status, text = run("validate", str(catalog))
    assert status == 2
    assert f"{catalog}: invalid JSON" in text
    assert "$.coupons[0].name.en-US: expected valid Unicode text" in text


@pytest.mark.parametrize(
    ("argv", "argument"),
    [
        (["limits", "show", "winter_gift", "--user", "\udcff"], "--user"),
        (["limits", "reset", "winter_gift", "--user", "p\udcff"], "--user"),
        (["limits", "show", "winter\udcff", "--user", "p"], "PROMOTION"),
        (["redeem", "WIN\udcff", "--user", USER], "CODE"),
        (
            ["redeem", "WINTER2026", "--user", USER, "--idempotency-key", "\udcff"],
            "--idempotency-key",
        ),
        (["codes", "generate", "winter\udcff", "--count", "1"], "PROMOTION"),
    ],
)
def test_undecodable_arguments_exit_2_naming_the_argument(argv, argument, tmp_path, capsys):
    args = [*argv, "--store", sqlite_uri(tmp_path)]
    if argv[0] != "codes":
        args += ["--at", AT]
    status, _ = run(*args)
    err = capsys.readouterr().err
    assert status == 2
    assert f"argument {argument}: expected valid UTF-8 text, found " in err
    assert "\\udcff" in err  # shown as an escape
    err.encode("utf-8")


@pytest.mark.parametrize(
    ("option", "value"),
    [("--promocode", "BLACK\udcffFRIDAY"), ("--order-id", "o\udcff"), ("--at", "2026\udcff")],
)
def test_undecodable_quote_options_exit_2(option, value, capsys):
    status, _ = run(*quote_args("--at", AT, option, value))
    err = capsys.readouterr().err
    assert status == 2
    assert f"argument {option}: " in err
    err.encode("utf-8")


def test_a_file_name_with_undecodable_bytes_is_read_and_printed_escaped(tmp_path):
    name = tmp_path.as_posix().encode() + b"/user-\xff.json"
    Path(name.decode("utf-8", "surrogateescape")).write_bytes(Path(USER).read_bytes())
    broken = tmp_path.as_posix().encode() + b"/broken-\xfe.json"
    Path(broken.decode("utf-8", "surrogateescape")).write_bytes(b"{")
    command = [sys.executable, "-m", "liveops_rules.cli", "check", CATALOG.encode(), b"--at"]
    done = subprocess.run(
        [*command, AT.encode(), b"--user", name], capture_output=True, check=False, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert b"winter_gift" in done.stdout
    done = subprocess.run(
        [*command, AT.encode(), b"--user", broken], capture_output=True, check=False, cwd=ROOT
    )
    assert done.returncode == 2
    assert b"broken-\\udcfe.json: $: expected valid JSON" in done.stderr
    assert b"Traceback" not in done.stderr
    # a strict stdout (a UTF-8 locale) cannot take the name as it is: printed escaped
    strict = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    done = subprocess.run(
        [sys.executable, "-m", "liveops_rules.cli", "validate", name],
        capture_output=True,
        check=False,
        cwd=ROOT,
        env=strict,
    )
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout.endswith(b"/user-\\udcff.json: valid user\n")


# -- item 14: passwords -------------------------------------------------------------------


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, text


def store_verbs(uri: str) -> list[list[str]]:
    """One command line of every verb that uses a store, each a first use of the store."""
    at = ("--at", AT)
    return [
        ["import", CATALOG, "--store", uri],
        ["import", CATALOG, "--store", uri, "--format", "json"],
        ["redeem", "WINTER2026", "--user", USER, "--store", uri, *at, "--catalog", CATALOG],
        ["redeem", "SNOWFALL", "--user", USER, "--store", uri, *at, "--format", "json"],
        ["codes", "generate", "winter_gift", "--count", "3", "--store", uri],
        ["limits", "show", "winter_gift", "--user", "player-42", "--store", uri, *at],
        ["limits", "increase", "winter_gift", "2", "--user", "p", "--store", uri, *at],
        ["limits", "decrease", "winter_gift", "1", "--user", "p", "--store", uri, *at],
        ["limits", "set", "winter_gift", "4", "--user", "p", "--store", uri, *at],
        ["limits", "reset", "winter_gift", "--store", uri, *at, "--format", "json"],
        [*quote_args("--at", AT, "--promocode", "BLACKFRIDAY", "--store", uri)],
        [*quote_args("--at", AT, "--store", uri, "--commit", "--format", "json")],
    ]


@pytest.fixture
def postgres_uri_with_password(postgres_server) -> Iterator[str]:
    """The test server (trust authentication: the password is sent and not checked) in a
    schema of the test's own, dropped afterwards."""
    import psycopg

    schema = f"cli_pw_{uuid.uuid4().hex}"
    host = postgres_server.url.split("@", 1)[1]
    yield f"postgresql://postgres:{PASSWORD}@{host}?schema={schema}&create_schema=true&pool_size=1"
    with psycopg.connect(postgres_server.url, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def redis_uri_with_password(redis_server) -> Iterator[str]:
    """A Redis user of the test's own whose password is checked, removed afterwards."""
    import redis

    user = f"cli-{uuid.uuid4().hex}"
    admin = redis.Redis.from_url(redis_server.url)
    try:
        admin.acl_setuser(
            user, enabled=True, passwords=["+s3cr@et-Pw"], keys=["*"], commands=["+@all"]
        )
        host = redis_server.url.split("//", 1)[1]
        yield f"redis://{user}:{PASSWORD}@{host}?prefix=cli-{uuid.uuid4().hex}"
    finally:
        admin.acl_deluser(user)
        admin.close()


@pytest.mark.parametrize("server", ["postgres", "redis"])
def test_no_verb_prints_the_password_of_a_working_store(server, request, capsys):
    uri = request.getfixturevalue(f"{server}_uri_with_password")
    outputs = []
    for argv in store_verbs(uri):
        status, text = run(*argv)
        err = capsys.readouterr().err
        assert status in (0, 1), (argv, err)
        outputs.append(text)
        assert_no_secret(text, err)
    assert outputs[0].startswith("imported 10 promotions and 5 new codes into ")
    assert f" {uri.split('://')[0]}://" in outputs[0]
    assert ":***@127.0.0.1:" in outputs[0]
    assert json.loads(outputs[1])["store"] == redact_uri(uri)
    assert json.loads(outputs[3])["reason"] == "limit_reached"  # the store really was used


def test_a_wrong_password_is_refused_without_printing_it(redis_server, capsys):
    host = redis_server.url.split("//", 1)[1]
    uri = f"redis://nosuchuser:{PASSWORD}@{host}?retry_window=0"
    status, _ = run("import", CATALOG, "--store", uri)
    err = capsys.readouterr().err
    assert status == 2
    assert "--store: " in err
    assert_no_secret(err)


FAILING_STORES = [
    pytest.param(f"redis://:{PASSWORD}@127.0.0.1:1/0?retry_window=0", id="redis-unreachable"),
    pytest.param(f"redis://u:{PASSWORD}@127.0.0.1:notaport/0", id="redis-bad-port"),
    pytest.param(
        f"redis://u:{PASSWORD}@127.0.0.1:1/0?bogus=1&retry_window=0", id="redis-unknown-option"
    ),
    pytest.param(f"rediss://u:{PASSWORD}@127.0.0.1:1/x?retry_window=0", id="rediss-unreachable"),
    pytest.param(
        f"postgresql://u:{PASSWORD}%ZZ@127.0.0.1:1/db?create_schema=true", id="pg-bad-escape"
    ),
    pytest.param(f"postgresql://u:{PASSWORD}@[::1/db", id="pg-unclosed-ipv6"),
    pytest.param(f"postgresql://u:{PASSWORD}@127.0.0.1:1/db?pool_size=abc", id="pg-bad-option"),
    pytest.param(
        f"postgresql://u:{PASSWORD}@127.0.0.1:1/db?create_schema=true", id="pg-unreachable"
    ),
    pytest.param(
        f"postgresql://127.0.0.1:1/db?password={PASSWORD}&create_schema=true",
        id="pg-password-option",
    ),
    pytest.param(f"bogus://u:{PASSWORD}@host/db", id="unknown-scheme"),
    pytest.param(f"sqlite://u:{PASSWORD}@host/x.db", id="sqlite-with-host"),
    pytest.param(f"postgresql://u:{PASSWORD}@h\udcff/db", id="undecodable"),
]


@pytest.mark.parametrize("uri", FAILING_STORES)
def test_no_verb_prints_the_password_of_a_failing_store(uri, cli):
    for argv in store_verbs(uri):
        done = cli(argv)
        assert done["status"] == 2, (argv, done)
        assert "--store" in done["stderr"], done
        assert "Traceback" not in done["stderr"]
        assert_no_secret(done["stdout"], done["stderr"])


def test_the_pool_of_an_unreachable_postgres_logs_no_password(cli):
    """psycopg's pool logs every failed attempt (`invalid percent-encoded token: "..."`
    quotes the password); the command prints those lines without it. Takes the pool's
    connect timeout until open_store fails fast."""
    done = cli(["import", CATALOG, "--store", f"postgresql://u:{PASSWORD}%ZZ@127.0.0.1:1/db"])
    assert done["status"] == 2
    assert "Traceback" not in done["stderr"]
    assert_no_secret(done["stderr"])


@pytest.mark.parametrize(
    "argv",
    [
        ["check", CATALOG, "--user", USER, "--at", AT, "--store", f"redis://:{PASSWORD}@h/0"],
        ["check", CATALOG, "--user", USER, "--at", AT, f"--store=redis://:{PASSWORD}@h/0"],
        ["import", CATALOG, f"--stor=redis://:{PASSWORD}@h/0", f"redis://:{PASSWORD}@h/0"],
        ["limits", f"redis://:{PASSWORD}@h/0"],
        ["check", CATALOG, "--user", USER, "--at", AT, "--format", f"redis://:{PASSWORD}@h/0"],
        ["import", "--store", f"redis://:{PASSWORD}@h/0", "--store"],
    ],
)
def test_usage_errors_do_not_print_passwords(argv, cli):
    done = cli(argv)
    assert done["status"] == 2
    assert "usage: liveops-rules" in done["stderr"]
    assert_no_secret(done["stderr"])


# -- every verb against a battery of hostile arguments ------------------------------------


@pytest.fixture(scope="module")
def harnesses() -> Iterator[list[Harness]]:
    """Two harness processes (tests/cli_harness.py), one per core."""
    started: list[Harness] = []
    try:
        started.extend(Harness(ROOT) for _ in range(2))
        yield started
    finally:
        for harness in started:
            harness.close()


@pytest.fixture
def cli(harnesses) -> Callable[[list[str]], dict[str, object]]:
    """Runs a command line in a process of its own."""
    return harnesses[0].run


def _hostile_files(directory: Path) -> tuple[dict[str, tuple[str, set[int]]], ...]:
    """Input files a user might pass by mistake or malice: name -> (path, exit statuses);
    first those no reader gets to parse (one reading function serves every file option),
    then JSON that each loader must refuse."""
    unreadable = {
        "missing": (str(directory / "missing.json"), {2}),
        "directory": (str(directory), {2}),
        "dev-null": ("/dev/null", {2}),
        "dev-zero": ("/dev/zero", {2}),  # endless: read up to the bound, then refused
    }
    contents = {
        "empty": (b"", {2}),
        "broken": (b'{"id": ', {2}),
        "not-utf8": (b'{"id": "\xff\xfe"}', {2}),
        "deep": (b"[" * 100_000 + b"]" * 100_000, {2}),
        "nan": (b'{"id": NaN}', {2}),
        "utf16": ('{"id": "p"}'.encode("utf-16"), {0, 1, 2}),  # JSON may be UTF-16 with a BOM
        "surrogate": (b'{"id": "\\ud800", "attributes": {}}', {2}),
        "huge-exponent": (b'{"id": 1e999999999}', {2}),
        "huge-int": (b'{"id": ' + b"9" * 5000 + b"}", {2}),
        "list": (b"[]", {0, 2}),  # a valid payload for `validate`
        "nul": (b'{"id": "a\\u0000b", "attributes": {}}', {0, 1, 2}),  # the store decides
        "string": (b'"catalog"', {2}),
    }
    unparsable = {}
    for name, (content, statuses) in contents.items():
        path = directory / f"{name}.json"
        path.write_bytes(content)
        (unreadable if name in ("empty", "broken", "not-utf8", "deep", "nan") else unparsable)[
            name
        ] = (str(path), statuses)
    return unreadable, unparsable


ANY = {0, 1, 2}
TEXTS = {
    "empty": ("", ANY),
    "space": (" ", ANY),
    "undecodable": ("\udcff", {2}),
    "long": ("x" * 10_000, ANY),
    "escape-sequence": ("\x1b[2J", ANY),
    "unicode": ("日本\u202e", ANY),
    "colon": (":", ANY),
    "unknown-kind": ("nosuchkind:x", ANY),
}
MOMENTS = {
    "empty": ("", {2}),
    "nan": ("nan", {2}),
    "number": ("1e300", {2}),
    "date-only": ("2026-11-28", {2}),
    "naive": ("2026-11-28T12:00:00", {2}),
    "no-such-day": ("2026-02-30T00:00:00+00:00", {2}),
    "hour-25": ("2026-11-28T25:00:00+00:00", {2}),
    "offset-24h": ("2026-11-28T12:00:00+24:00", {2}),
    "year-0": ("0000-01-01T00:00:00+00:00", {2}),
    "year-10000": ("+10000-01-01T00:00:00+00:00", {2}),
    "before-utc-year-1": ("0001-01-01T00:00:00+05:00", {2}),
    "after-utc-year-9999": ("9999-12-31T23:30:00-01:00", {2}),
    "last-microsecond": ("9999-12-31T23:59:59.999999+00:00", {0, 1, 2}),
    "first-moment": ("0001-01-01T00:00:00+00:00", {0, 1, 2}),
    "zulu": ("2026-11-28T12:00:00Z", {0, 1}),
    "iso-week": ("2026-W48-6T12:00:00+00:00", {0, 1}),
    "now": ("now", {0, 1}),
    "undecodable": ("2026-11-28T12:00:00+00:00\udcff", {2}),
}
NUMBERS = {
    "nan": ("nan", {2}),
    "inf": ("inf", {2}),
    "-inf": ("-inf", {2}),
    "huge-float": ("1e300", {2}),
    "negative": ("-1", {2}),
    "zero": ("0", {2}),
    "tiny": ("1e-9", {2}),
    "empty": ("", {2}),
    "5000-digits": ("9" * 5000, {2}),
    "hex": ("0x10", {2}),
    "fraction": ("1.5", {2}),
    "undecodable": ("1\udcff", {2}),
    "underscores": ("1_0", {0, 1, 2}),
    "padded": (" 3 ", {0, 1}),
}
AMOUNTS_FROM_0 = {**NUMBERS, "zero": ("0", {0})}
SECONDS = {**NUMBERS, "fraction": ("1.5", {0})}
STORES = {
    "empty": ("", {2}),
    "undecodable": ("sqlite:///x\udcff.db", {2}),
    "no-scheme": ("promotions.db", {2}),
    "sqlite-no-path": ("sqlite://", {2}),
    "sqlite-root": ("sqlite:///", {2}),
    "sqlite-directory": ("sqlite:///{tmp}", {2}),
    "sqlite-no-such-directory": ("sqlite:////nonexistent/dir/x.db", {2}),
    "sqlite-not-a-database": ("sqlite:///{tmp}/not-a-db.json", {2}),
    "sqlite-bad-option": ("sqlite:///{tmp}/o.db?synchronous=sometimes", {2}),
    "redis-unreachable": ("redis://127.0.0.1:1/0?retry_window=0", {2}),
    "redis-bad-port": ("redis://127.0.0.1:99999999/0", {2}),
    "ipv6-unclosed": ("redis://[::1/0", {2}),
    "redis-negative-window": ("redis://127.0.0.1:1/0?retry_window=-1", {2}),
    "postgres-bad-pool": ("postgresql://127.0.0.1:1/db?pool_size=0", {2}),
}


def _battery(tmp: Path, store: str) -> dict[str, tuple[list[object], set[int]]]:
    """Every verb: a valid command line (its exit statuses), slots marked (kind, default)."""
    catalog, user, cart = ("file", CATALOG), ("file", USER), ("file", CART)
    at, db = ("moment", AT), ("store", store)
    return {
        "check": (["check", catalog, "--user", user, "--at", at, "--format", "json"], {0}),
        "validate": (["validate", catalog, user, "--format", "json"], {0}),
        "import": (["import", catalog, "--store", db], {0}),
        "bench": (
            [
                "bench",
                catalog,
                "--synthetic-users",
                ("number", "5"),
                "--at",
                at,
                "--what",
                "eligible,redeem",
                "--store",
                db,
                "--yes-write",
                "--format",
                "json",
            ],
            {0},
        ),
        "redeem": (
            [
                "redeem",
                ("text", "WINTER2026"),
                "--user",
                user,
                "--store",
                db,
                "--at",
                at,
                "--catalog",
                catalog,
            ],
            {0},
        ),
        "redeem-with-key": (
            [
                "redeem",
                "SNOWFALL",
                "--user",
                USER,
                "--store",
                db,
                "--at",
                AT,
                "--idempotency-key",
                ("text", "k"),
                "--format",
                "json",
            ],
            {0},  # then refusals: the one use is gone, whatever the key
        ),
        "codes-generate": (
            [
                "codes",
                "generate",
                ("text", "winter_gift"),
                "--count",
                ("number", "2"),
                "--length",
                ("number", "12"),
                "--store",
                db,
                "--format",
                "json",
            ],
            {0},
        ),
        **{
            f"limits-{action}": (
                [
                    "limits",
                    action,
                    ("text", "winter_gift"),
                    *amount,
                    "--user",
                    ("text", "player-42"),
                    "--store",
                    db,
                    "--at",
                    at,
                    "--format",
                    "json",
                ],
                {0, 1},
            )
            for action, amount in [
                ("show", []),
                ("set", [("amount0", "3")]),
                ("increase", [("number", "1")]),
                ("decrease", [("number", "1")]),
                ("reset", []),
            ]
        },
        "quote": (
            [
                "quote",
                cart,
                "--user",
                user,
                "--catalog",
                catalog,
                "--at",
                at,
                "--promocode",
                ("text", "BLACKFRIDAY"),
            ],
            {0},
        ),
        "checkout": (
            [
                "quote",
                cart,
                "--user",
                user,
                "--catalog",
                catalog,
                "--at",
                at,
                "--store",
                db,
                "--hold",
                ("seconds", "900"),
                "--order-id",
                ("text", "o-1"),
                "--format",
                "json",
            ],
            {0},
        ),
        "import-sync": (["import", catalog, "--store", db, "--sync", "--dry-run"], {0}),
        "promotions-list": (
            ["promotions", "list", "--store", db, "--limit", ("number", "5"), "--format", "json"],
            {0},
        ),
        "promotions-show": (
            ["promotions", "show", ("text", "winter_gift"), "--store", db, "--at", at],
            {0},
        ),
        "promotions-create": (
            ["promotions", "create", "coupon", ("file", COUPON), "--store", db],
            {0, 1},  # once created, the id is taken
        ),
        "promotions-update": (
            ["promotions", "update", ("text", "winter_gift"), ("file", COUPON), "--store", db],
            {0},
        ),
        **{
            f"promotions-{action}": (
                ["promotions", action, ("text", "winter_gift"), "--store", db],
                {0},
            )
            for action in ("activate", "deactivate")
        },
        "promotions-delete": (
            ["promotions", "delete", ("text", "summer_gift"), "--store", db, "--at", at],
            {0, 1},  # once deleted, it is not found
        ),
        "codes-add": (
            ["codes", "add", ("text", "winter_gift"), ("text", "NEWCODE1"), "--store", db],
            {0, 1},
        ),
        "codes-list": (
            ["codes", "list", ("text", "winter_gift"), "--limit", ("number", "5"), "--store", db],
            {0},
        ),
        "codes-usage": (
            [
                "codes",
                "usage",
                ("text", "winter_gift"),
                "--code",
                ("text", "WINTER2026"),
                "--store",
                db,
                "--at",
                at,
            ],
            {0},
        ),
        "codes-lookup": (["codes", "lookup", ("text", "WINTER2026"), "--store", db], {0}),
        "codes-remove": (
            ["codes", "remove", ("text", "winter_gift"), ("text", "SNOWFALL"), "--store", db],
            {0, 1},  # once removed, it is not the promotion's
        ),
        "verify": (
            ["verify", ("text", "WINTER2026"), "--user", user, "--store", db, "--at", at],
            {0},
        ),
        **{
            f"holds-{action}": (
                ["holds", action, ("text", "op-1"), "--store", db, "--at", at],
                {1},  # no such operation
            )
            for action in ("commit", "release", "cancel")
        },
        **{
            f"chains-{action}": (
                ["chains", action, *arguments, "--user", user, "--store", db, "--at", at],
                statuses,
            )
            for action, arguments, statuses in [
                ("earn", [("text", "o-1"), "sword:2"], {0}),
                ("refund", [("text", "o-1")], {0}),
                ("view", ["--limit", ("number", "5")], {0}),
                ("balance", [("number", "1")], {1}),  # the store has no chains: 4001
                ("claim", [("number", "1"), ("number", "1")], {1}),
            ]
        },
        **{
            f"chains-{action}": (
                ["chains", action, ("number", "1"), "--store", db, *moment],
                {1},  # no such chain: 4001
            )
            for action, moment in [
                ("show", []),
                ("toggle", []),
                ("reset", ["--at", at]),
                ("delete", ["--at", at]),
            ]
        },
        "chains-top": (
            ["chains", "top", ("number", "1"), "--clan", ("text", "c"), "--store", db, "--at", at],
            {1},
        ),
        "chains-list": (["chains", "list", "--store", db, "--format", "json"], {0}),
        **{
            f"{group}-{action}": (
                [group, action, *arguments, "--store", db, *moment],
                statuses,
            )
            for group in ("daily-chains", "offer-chains")
            for action, arguments, moment, statuses in [
                ("import", [("file", LADDERS)], [], {0}),
                ("list", ["--format", "json"], [], {0}),
                ("show", [("number", "1")], [], {1}),  # an empty store: no such chain
                ("toggle", [("number", "1")], [], {1}),
                ("reset", [("number", "1")], ["--at", at], {1}),
                ("delete", [("number", "1")], ["--at", at], {1}),
                ("view", ["--limit", ("number", "5")], ["--user", user, "--at", at], {0}),
                (
                    "claim",
                    [("number", "1"), ("number", "1"), "--idempotency-key", ("text", "k")],
                    ["--user", user, "--at", at],
                    {1},
                ),
            ]
        },
        "upsell-set": (
            ["upsell", "set", ("file", UPSELL), "--items", UPSELL_ITEMS, "--store", db],
            {0},
        ),
        "upsell-show": (["upsell", "show", "--store", db, "--format", "json"], {0, 1}),
        **{
            f"upsell-{action}": (["upsell", action, "--store", db], {0, 1})
            for action in ("activate", "deactivate")
        },
        "upsell-offer": (
            [
                "upsell",
                "offer",
                "--user",
                user,
                "--items",
                ("file", UPSELL_ITEMS),
                "--cart",
                ("file", CART),
                "--limit",
                ("number", "5"),
                "--store",
                db,
                "--at",
                at,
            ],
            {0},
        ),
        "offer-chains-order": (
            [
                "offer-chains",
                "order",
                ("number", "1"),
                ("number", "2"),
                "--price",
                "sword=9.99",
                "--hold",
                "60",  # holds are tried in `quote`: here a step is refused before its hold
                "--order-id",
                ("text", "o-1"),
                "--user",
                user,
                "--store",
                db,
                "--at",
                at,
            ],
            {1},
        ),
        **{
            f"offer-chains-{action}": (
                [
                    "offer-chains",
                    action,
                    ("text", "o-1"),
                    "--user",
                    user,
                    "--store",
                    db,
                    "--at",
                    at,
                ],
                {1},  # no such order
            )
            for action in ("pay", "abandon")
        },
        "demo": (["demo"], {0}),
        "no-verb": ([], {2}),
        "unknown-verb": (["frobnicate"], {2}),
        "check-without-options": (["check", CATALOG], {2}),
    }


# Every value of a kind is tried in one verb; the others get a sample of those refused by the
# argument's parsing (the same code in every verb, but a verb might not use it) and every
# value that reaches the verb's own code.
FULL_TABLES = {"check": {"moment", "file"}, "import": {"store"}, "codes-generate": {"number"}}
SAMPLED = {
    "moment": {
        "date-only",
        "after-utc-year-9999",
        "undecodable",
        "last-microsecond",
        "first-moment",
        "zulu",
        "now",
    },
    "store": {"undecodable", "sqlite-not-a-database", "redis-unreachable", "ipv6-unclosed"},
    "number": {"nan", "negative", "5000-digits", "undecodable", "underscores", "padded"},
    "file": {"missing", "directory", "broken", "not-utf8"},
}


def _cases(
    tmp: Path, verb: str, command: list[object], base_statuses: set[int]
) -> Iterator[tuple[str, list[str], set[int]]]:
    unreadable, unparsable = _hostile_files(tmp)
    first_file = True
    values = {
        "text": TEXTS,
        "moment": MOMENTS,
        "number": NUMBERS,
        "amount0": AMOUNTS_FROM_0,
        "seconds": SECONDS,
        "store": STORES,
    }
    defaults = [token[1] if isinstance(token, tuple) else token for token in command]
    yield "valid", [str(token) for token in defaults], base_statuses
    for index, token in enumerate(command):
        if not isinstance(token, tuple):
            continue
        kind = token[0]
        if kind == "file":
            table = {**unreadable, **unparsable} if first_file else unparsable
            first_file = False
        else:
            table = values[kind]
        sample = SAMPLED.get(kind)
        if sample is not None and kind not in FULL_TABLES.get(verb, ()):
            table = {
                name: entry for name, entry in table.items() if name in sample or name in unparsable
            }
        for name, (value, statuses) in table.items():
            argv = [str(token) for token in defaults]
            argv[index] = str(value).replace("{tmp}", str(tmp))
            yield f"{kind}#{index}={name}", argv, statuses


def _survives(harness: Harness, tmp: Path, verb: str) -> list[tuple[str, str, object, str]]:
    """Run every hostile variant of one verb's command line; the failures."""
    tmp.mkdir()
    (tmp / "not-a-db.json").write_text("{}")
    store = f"{sqlite_uri(tmp)}?synchronous=normal"  # many commands: no fsync each
    assert run("import", CATALOG, "--store", store)[0] == 0
    command, statuses = _battery(tmp, store)[verb]
    failures = []
    for name, argv, allowed in _cases(tmp, verb, command, statuses):
        done = harness.run(argv)
        err = str(done["stderr"])
        if done["status"] not in allowed or "Traceback" in err or "internal error" in err:
            failures.append((verb, name, done["status"], err[-300:]))
        elif done["status"] != 0 and not (err + str(done["stdout"])).strip():
            failures.append((verb, name, done["status"], "no message"))
    return failures


def test_every_verb_survives_hostile_arguments(harnesses, tmp_path):
    """Each verb's valid command line, then each argument replaced in turn by every hostile
    value of its kind: the exit status expected, a message, never a traceback."""
    free: queue.Queue[Harness] = queue.Queue()
    for harness in harnesses:
        free.put(harness)

    def check(verb: str) -> list[tuple[str, str, object, str]]:
        harness = free.get(timeout=600)
        try:
            return _survives(harness, tmp_path / verb, verb)
        finally:
            free.put(harness)

    with ThreadPoolExecutor(len(harnesses)) as pool:
        failures = [f for found in pool.map(check, _battery(tmp_path, "")) for f in found]
    assert failures == []


def _listed_commands(help_text: str) -> set[str]:
    """The sub-commands an argparse --help lists (indented names under its COMMAND list)."""
    return set(re.findall(r"^    ([a-z][a-z-]*)(?:\s{2,}|\n)", help_text, re.MULTILINE))


def test_the_battery_runs_every_verb_the_help_lists(cli):
    battery = _battery(Path("."), "")
    first_words = {str(command[0]) for command, _ in battery.values() if command}
    listed = _listed_commands(str(cli(["--help"])["stdout"]))
    assert listed == {
        "check", "validate", "import", "redeem", "codes", "limits", "quote", "demo",
        "promotions", "verify", "holds", "chains", "daily-chains", "offer-chains", "upsell",
        "bench",
    }  # fmt: skip
    assert listed <= first_words
    actions = {str(command[1]) for command, _ in battery.values() if command[:1] == ["limits"]}
    assert _listed_commands(str(cli(["limits", "--help"])["stdout"])) == actions
    for group in ("codes", "promotions", "holds", "daily-chains", "offer-chains", "upsell"):
        actions = {str(command[1]) for command, _ in battery.values() if command[:1] == [group]}
        assert _listed_commands(str(cli([group, "--help"])["stdout"])) == actions


@pytest.mark.parametrize("hidden", ["\x1b[2J", "\x07", "\u202e", "\x9b"])
def test_messages_show_terminal_controls_as_escapes(hidden, tmp_path, capsys):
    status, _ = run(
        "limits", "show", f"x{hidden}y", "--user", "p", "--store", sqlite_uri(tmp_path), "--at", AT
    )
    err = capsys.readouterr().err
    assert status == 1
    assert hidden not in err
    assert f"x{hidden.encode('unicode_escape').decode()}y" in err
