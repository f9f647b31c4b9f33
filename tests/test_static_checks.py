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
    ],
    ids=["ruff-check", "ruff-format", "mypy-strict"],
)
def test_static_check_is_clean(command):
    done = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_package_ships_its_type_marker():
    assert (ROOT / "liveops_rules" / "py.typed").is_file()
