"""The project's own static checks, run with the tests so that one command covers both."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "liveops_rules", "tests", "benchmarks"],
        ["ruff", "format", "--check", "liveops_rules", "tests", "benchmarks"],
        ["mypy", "--strict", "liveops_rules"],
        ["mypy", "--strict", "tests/typed_usage.py"],
    ],
    ids=["ruff-check", "ruff-format", "mypy-strict", "mypy-strict-typed-usage"],
)
def test_static_check_is_clean(command):
    done = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_package_ships_its_type_marker():
    assert (ROOT / "liveops_rules" / "py.typed").is_file()


def test_the_typed_usage_file_runs():
    from tests import typed_usage

    decisions, wire, priced = typed_usage.main()
    assert decisions[:2] == ["attribute `level` is `7`, needs `ge 10`", "9807"]
    assert wire[4] == ["$.external_id"]
    # 10.00 x 0.9 (discount 1) x 0.8 (the code on swords) x 0.95 (the code) = 6.84
    price = {"amount": "6.84", "amount_without_discount": "10.00", "currency": "USD"}
    assert priced[:3] == ["6.84", price, True]
