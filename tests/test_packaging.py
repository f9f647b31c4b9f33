"""What a user installing the package meets: a license the build states without warnings, and
an sdist that can run its own tests (everything the README points to is in it)."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_sdist_carries_its_tests_and_states_its_license(tmp_path):
    built = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, setuptools.build_meta as b; print(b.build_sdist(sys.argv[1]))",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    assert "deprecated" not in built.stderr.lower(), built.stderr
    name = built.stdout.strip().splitlines()[-1]
    with tarfile.open(tmp_path / name) as sdist:
        members = {member.split("/", 1)[1] for member in sdist.getnames() if "/" in member}
        info = sdist.extractfile(f"{name.removesuffix('.tar.gz')}/PKG-INFO")
        assert info is not None
        metadata = info.read().decode()
    for needed in (
        "LICENSE",
        "CHANGELOG.md",
        "tests/conftest.py",
        "tests/servers.py",
        "tests/conformance/conftest.py",
        "tests/conformance/test_accounting.py",
        "liveops_rules/stores/postgres_schema.sql",
        "liveops_rules/samples/catalog.json",
        "liveops_rules/py.typed",
        ".ci/run",
    ):
        assert needed in members, needed
    assert "License-Expression: MIT" in metadata
    assert "Classifier: Typing :: Typed" in metadata
    readme = (ROOT / "README.md").read_text()
    mentioned = set(re.findall(r"`((?:[\w.-]+/)+[\w.-]+\.(?:md|py|sql|json|toml))`", readme))
    assert mentioned, "the README names files"
    missing = {path for path in mentioned if path not in members}
    assert not missing, f"the README points to files the sdist lacks: {sorted(missing)}"
