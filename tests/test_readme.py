"""The README's Python example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_example_runs(capsys):
    (example,) = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    exec(compile(example, str(README), "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "False"
    assert printed[1] == "['attribute `level` is `7`, needs `ge 10`']"
    assert printed[2].startswith("[Coupon(external_id='winter_gift'")
