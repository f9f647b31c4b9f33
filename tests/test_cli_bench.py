"""`liveops-rules bench`: figures as JSON and as a table, bad inputs exit 2 naming them, a
comparison with a previous run exits 1 when a median got slower, never a traceback."""

from __future__ import annotations

import io
import json
from importlib import resources
from pathlib import Path

import pytest

from liveops_rules.cli import main

SAMPLES = Path(str(resources.files("liveops_rules").joinpath("samples")))
CATALOG = str(SAMPLES / "catalog.json")
AT = "2026-11-28T12:00:00+00:00"
SYNTHETIC = ("--synthetic-users", "20", "--seed", "1")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    out = io.StringIO()
    status = main(list(argv), out)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "internal error" not in err
    return status, out.getvalue(), err


def _bench_json(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, object]:
    status, text, err = run(capsys, "bench", CATALOG, *SYNTHETIC, "--format", "json", *extra)
    assert (status, err) == (0, "")
    document: dict[str, object] = json.loads(text)
    return document


def test_json_has_the_figures_of_each_operation(capsys: pytest.CaptureFixture[str]) -> None:
    document = _bench_json(capsys)
    assert document["players"] == 20
    assert isinstance(document["liveops_rules"], str)
    assert isinstance(document["python"], str)
    assert "inside the most windows" in str(document["moments_chosen"])
    results = document["results"]
    assert isinstance(results, list)
    assert [r["operation"] for r in results] == ["eligible", "evaluate"]
    for result in results:
        assert result["samples"] == 20
        assert 0 < result["median_us"] <= result["p90_us"] <= result["p99_us"] <= result["max_us"]
        assert result["throughput_per_s"] > 0
    assert results[0]["naive_ratio"] > 0
    assert results[1]["naive_ratio"] is None  # evaluate_all is the naive loop itself


def test_the_table_lists_every_operation_and_scale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    carts = tmp_path / "carts.jsonl"
    carts.write_text((SAMPLES / "cart.json").read_text().replace("\n", " ") + "\n\n")
    status, text, err = run(
        capsys,
        "bench",
        CATALOG,
        *SYNTHETIC,
        "--at",
        AT,
        "--carts",
        str(carts),
        "--what",
        "eligible,evaluate,quote,redeem",
        "--scale",
        "1,2",
        "--repeat",
        "2",
    )
    assert (status, err) == (0, "")
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("OPERATION"))
    assert header.split()[:4] == ["OPERATION", "SCALE", "SAMPLES", "MEDIAN_US"]
    assert "GROWTH" in header
    rows = {tuple(line.split()[:3]) for line in lines if line.split()[:1] in (
        ["eligible"], ["evaluate"], ["quote"], ["redeem"])}  # fmt: skip
    assert rows == {
        ("eligible", "1", "40"),
        ("evaluate", "1", "40"),
        ("quote", "1", "40"),
        ("redeem", "1", "40"),
        ("eligible", "2", "40"),
        ("evaluate", "2", "40"),
    }
    assert "QUOTE, REDEEM: timed on the catalog itself (scale 1) only" in text
    evaluate = next(line for line in lines if line.split()[:2] == ["evaluate", "1"])
    assert evaluate.split()[-3:-1] == ["-", "-"]  # no naive median, no ratio
    assert any(line.startswith("redeem:") and "ok" in line and "refused" in line for line in lines)
    assert f"at {AT}" in text


def test_users_from_a_jsonl_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    users = tmp_path / "users.jsonl"
    users.write_text(
        json.dumps({"id": "a", "attributes": {"level": "12"}})
        + "\n\n"
        + json.dumps({"id": "b", "attributes": {"tier": "gold"}})
        + "\n"
    )
    status, text, err = run(capsys, "bench", CATALOG, "--users", str(users), "--format", "json")
    assert (status, err) == (0, "")
    assert json.loads(text)["players"] == 2


def test_a_bad_user_line_exits_2_naming_the_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    users = tmp_path / "users.jsonl"
    users.write_text(
        json.dumps({"id": "a", "attributes": {}}) + "\n\n" + '{"id": 5, "attributes": {}}\n'
    )
    status, text, err = run(capsys, "bench", CATALOG, "--users", str(users))
    assert status == 2
    assert text == ""
    assert f"{users}:3: invalid user" in err
    users.write_text('{"id": "a"\n')
    status, _, err = run(capsys, "bench", CATALOG, "--users", str(users))
    assert status == 2
    assert f"{users}:1:" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--store", "memory://", "--what", "redeem"), "--yes-write"),
        (("--what", "quote"), "--carts"),
        (("--what", "eligible,fly"), "--what"),
        (("--repeat", "0"), "--repeat"),
        (("--repeat", "1001"), "--repeat"),
        (("--scale", "1,65"), "--scale"),
        (("--scale", "2,1"), "--scale"),
        (("--moments", "0"), "--moments"),
        (("--max-slowdown", "2"), "--compare"),
    ],
)
def test_wrong_options_exit_2_saying_why(
    argv: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, text, err = run(capsys, "bench", CATALOG, *SYNTHETIC, *argv)
    assert status == 2
    assert text == ""
    assert message in err


def test_synthetic_users_are_bounded(capsys: pytest.CaptureFixture[str]) -> None:
    for count in ("0", "1000001", "many"):
        status, _, err = run(capsys, "bench", CATALOG, "--synthetic-users", count)
        assert status == 2
        assert "--synthetic-users" in err


def test_compare_exits_1_when_a_median_got_slower(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = _bench_json(capsys)
    results = document["results"]
    assert isinstance(results, list)
    for result in results:
        for key in ("median_us", "p90_us", "p99_us", "max_us"):
            result[key] = result[key] / 1000
        result["throughput_per_s"] *= 1000
    previous = tmp_path / "previous.json"
    previous.write_text(json.dumps(document))
    status, text, err = run(capsys, "bench", CATALOG, *SYNTHETIC, "--compare", str(previous))
    assert status == 1
    assert "SLOWER" in text
    assert "eligible at scale 1: median" in err
    assert "--max-slowdown 1.5" in err


def test_compare_with_the_same_run_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = tmp_path / "previous.json"
    previous.write_text(json.dumps(_bench_json(capsys)))
    status, text, err = run(
        capsys, "bench", CATALOG, *SYNTHETIC, "--format", "json", "--compare", str(previous),
        "--max-slowdown", "1000000",
    )  # fmt: skip
    assert (status, err) == (0, "")
    comparison = json.loads(text)["comparison"]
    assert comparison["ok"] is True
    assert comparison["changes"]


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        '{"results": [{"operation": "eligible", "scale": 1, "median_us": "fast"}]}',
        '{"results": [{"operation": "fly", "scale": 1, "median_us": 1}]}',
    ],
)
def test_a_malformed_previous_file_exits_2(
    content: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = tmp_path / "previous.json"
    previous.write_text(content)
    status, text, err = run(capsys, "bench", CATALOG, *SYNTHETIC, "--compare", str(previous))
    assert status == 2
    assert text == ""
    assert str(previous) in err


def test_a_wrong_library_answer_exits_1_naming_player_and_moment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from liveops_rules.catalog import Catalog

    monkeypatch.setattr(Catalog, "eligible", lambda self, user, at, kinds=None: [])
    status, text, err = run(capsys, "bench", CATALOG, *SYNTHETIC, "--at", AT)
    assert status == 1
    assert text == ""
    assert "player synthetic-" in err
    assert AT in err


def test_a_refused_run_never_creates_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "live.db"
    store = ("--store", f"sqlite:///{database}", "--yes-write")
    no_codes = tmp_path / "no-codes.json"
    discount = {"id": 1, "name": {"en-US": "A"}, "discount": {"percent": "10"}}
    no_codes.write_text(
        json.dumps({"discounts": [{**discount, "items": [{"sku": "a"}], "is_enabled": True}]})
    )
    status, text, err = run(
        capsys, "bench", str(no_codes), *SYNTHETIC, "--what", "eligible,redeem", *store
    )
    assert (status, text) == (2, "")
    assert "codes: expected a catalog with codes to redeem" in err
    assert not database.exists()

    from liveops_rules.catalog import Catalog

    with monkeypatch.context() as patched:
        patched.setattr(Catalog, "eligible", lambda self, user, at, kinds=None: [])
        status, text, err = run(
            capsys, "bench", CATALOG, *SYNTHETIC, "--at", AT, "--what", "eligible,redeem", *store
        )
    assert (status, text) == (1, "")
    assert "player synthetic-" in err
    assert not database.exists()

    status, text, err = run(
        capsys, "bench", CATALOG, *SYNTHETIC, "--at", AT, "--what", "redeem", *store
    )
    assert (status, err) == (0, "")
    assert database.exists()  # a run that passed its checks does write there


def test_a_run_too_large_in_total_exits_2_naming_the_product(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    users = tmp_path / "users.jsonl"
    users.write_text('{"id": "a", "attributes": {}}\n{"id": "b", "attributes": {}}\n')
    scales = ",".join(str(k) for k in range(1, 17))
    status, text, err = run(
        capsys, "bench", CATALOG, "--users", str(users), "--moments", "1000", "--repeat", "1000",
        "--scale", scales,
    )  # fmt: skip
    assert (status, text) == (2, "")
    assert "users * moments * repeat * scales" in err
    assert "2 * 1000 * 1000 * 16" in err


def test_compare_with_another_run_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = _bench_json(capsys)
    previous = tmp_path / "previous.json"
    previous.write_text(json.dumps({**document, "promotions": 1}))
    status, text, err = run(capsys, "bench", CATALOG, *SYNTHETIC, "--compare", str(previous))
    assert (status, text) == (2, "")
    assert "not the same run" in err
    assert "promotions" in err
    previous.write_text(json.dumps({**document, "results": []}))
    status, text, err = run(capsys, "bench", CATALOG, *SYNTHETIC, "--compare", str(previous))
    assert (status, text) == (2, "")
    assert "an operation and scale measured in both runs" in err


def test_compare_lists_results_only_one_run_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = _bench_json(capsys)
    results = document["results"]
    assert isinstance(results, list)
    results[1]["median_us"] = 0  # a timer too coarse: not compared, not refused
    previous = tmp_path / "previous.json"
    previous.write_text(json.dumps(document))
    status, text, err = run(
        capsys, "bench", CATALOG, *SYNTHETIC, "--what", "eligible,evaluate", "--scale", "1,2",
        "--compare", str(previous), "--max-slowdown", "1000000",
    )  # fmt: skip
    assert (status, err) == (0, "")
    assert "only in this run: eligible at scale 2, evaluate at scale 2" in text
    assert "median not compared (0 or missing: a timer too coarse): evaluate at scale 1" in text
