"""The README's Python example runs as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from liveops_rules.stores import RedemptionStore

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def example(containing: str) -> str:
    """The one Python example of the README that holds `containing`."""
    (found,) = [text for text in examples() if containing in text]
    return found


def test_the_readme_example_runs(capsys):
    exec(compile(examples()[0], str(README), "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "False"
    assert printed[1] == "['attribute `level` is `7`, needs `ge 10`']"
    assert printed[2].startswith("[Coupon(external_id='winter_gift'")


def test_the_readme_wire_example_runs(capsys):
    exec(compile(examples()[1], str(README), "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == (
        "{'name': {'en': 'Spring'}, 'is_enabled': False, 'external_id': 'spring', "
        "'bonus': [{'sku': 'gem', 'quantity': 5}]}"
    )
    assert printed[1].startswith("$.external_id: expected an external id")
    assert printed[2].startswith("$.redeem_user_limit: expected an integer from 1")


def test_the_readme_accounting_example_runs(capsys):
    exec(compile(examples()[2], str(README), "exec"), {})
    assert capsys.readouterr().out.splitlines() == ["True", "per-user limit 1 of 1 used 9804", "[]"]


def test_the_readme_lifecycle_example_runs(capsys):
    exec(compile(example("create_promotion"), str(README), "exec"), {})
    assert capsys.readouterr().out.splitlines() == [
        "False",
        "disabled",
        "{'type': 'coupon', 'code': 'SPRING1', 'rewards': [{'sku': 'flower', 'quantity': 1}]}",
        "True",
        "1 1",
        "1",
        "1",
        "('coupon:summer',) ()",
    ]


def test_the_readme_server_example_runs(capsys, redis_server, postgres_server, request):
    server = example("redis_url")
    server = server.replace('"redis://10.0.0.5:6379/0"', repr(redis_server.url))
    server = server.replace('"postgresql://app@db.internal/shop"', repr(postgres_server.url))
    namespace: dict[str, object] = {}

    def close_the_stores() -> None:  # whatever the example opened, even when it fails
        for value in namespace.values():
            if isinstance(value, RedemptionStore) and not isinstance(value, type):
                value.close()

    request.addfinalizer(close_the_stores)
    exec(compile(server, str(README), "exec"), namespace)
    assert capsys.readouterr().out.splitlines() == ["RedisStore PostgresStore"]
    assert {"shared", "pooled"} <= namespace.keys()


def test_the_readme_pricing_example_runs(capsys):
    exec(compile(example("pricing = Pricing("), str(README), "exec"), {})
    assert capsys.readouterr().out.splitlines() == [
        "6.84",
        "[('1', '1.00'), ('2', '1.80'), ('five', '0.36')]",
        "['five']",
    ]


def test_the_readme_examples_pass_mypy_strict(tmp_path):
    """A user's script made of each example type-checks as the README writes it."""
    for index, example in enumerate(examples()):
        (tmp_path / f"readme_example_{index}.py").write_text(example)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MYPYPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_readme_reward_chain_example_runs(capsys):
    exec(compile(example("RewardChains("), str(README), "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "{'snowflake': 120}"
    assert printed[1] == "(RewardItem(sku='sled', quantity=1),)"
    assert printed[2] == "9912"
    assert printed[3] == "120 of 500 value points"
    assert printed[4] == "120"


def test_the_readme_daily_and_offer_chain_example_runs(capsys):
    exec(compile(example("DailyChains("), str(README), "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "(RewardItem(sku='gift1', quantity=1),)"
    assert "claimed_today" in printed[1]
    assert "the next claim opens at 2026-11-29T06:00:00+00:00" in printed[1]
    assert printed[2] == "['claimed', 'claim_in_future', 'claim_in_future']"
    assert printed[3] == "True"
    assert printed[4] == "199.98"
    assert printed[5] == "(RewardItem(sku='sword', quantity=2),)"
    assert printed[6] == "None"


def test_the_readme_upsell_example_runs(capsys):
    exec(compile(example("Upsell("), str(README), "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["[('shield', '8.00')]", "['potion', 'sword']"]


def test_the_readme_async_example_runs(capsys):
    exec(compile(example("AsyncAccounting("), str(README), "exec"), {})
    assert capsys.readouterr().out.splitlines() == ["[False, False, False, True, True]"]


def test_the_readme_bench_command_runs_on_the_samples(monkeypatch):
    import json
    from io import StringIO

    from liveops_rules.cli import main

    (command,) = re.findall(r"```sh\n(liveops-rules bench [^\n]*)\n```", README.read_text())
    argv = command.split()[1:]
    assert "--format" not in argv
    out = StringIO()
    monkeypatch.chdir(ROOT)  # the sample's path is the repository's
    assert main([*argv, "--format", "json"], out=out) == 0
    report = json.loads(out.getvalue())
    operations = {(r["operation"], r["scale"]) for r in report["results"]}
    assert operations == {("eligible", 1), ("evaluate", 1), ("eligible", 2), ("evaluate", 2)}
