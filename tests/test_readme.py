"""The README's Python example runs as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


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


def test_the_readme_server_example_runs(capsys, redis_server, postgres_server):
    example = examples()[3]
    example = example.replace('"redis://10.0.0.5:6379/0"', repr(redis_server.url))
    example = example.replace('"postgresql://app@db.internal/shop"', repr(postgres_server.url))
    namespace: dict[str, object] = {}
    exec(compile(example, str(README), "exec"), namespace)
    assert capsys.readouterr().out.splitlines() == ["RedisStore PostgresStore"]
    for name in ("shared", "pooled"):
        namespace[name].close()  # type: ignore[attr-defined]


def test_the_readme_pricing_example_runs(capsys):
    exec(compile(examples()[4], str(README), "exec"), {})
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
