"""The package's public names: imported when first asked for, identical to their modules' own."""

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import liveops_rules

PACKAGE_SOURCE = Path(liveops_rules.__file__)


def _declared_imports() -> dict[str, str]:
    """Every `from MODULE import NAME` in the package's source (the eager ones and those
    under TYPE_CHECKING), read with `ast`: name -> module, as a type checker sees them."""
    tree = ast.parse(PACKAGE_SOURCE.read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("liveops_rules")
        ):
            for alias in node.names:
                found[alias.asname or alias.name] = node.module
    return found


def _run(code: str) -> object:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_exported_name_is_declared_for_type_checkers_and_is_its_modules_object() -> None:
    declared = _declared_imports()
    assert set(liveops_rules.__all__) - {"__version__"} == set(declared)
    for name, module in declared.items():
        assert getattr(liveops_rules, name) is getattr(importlib.import_module(module), name), name


def test_importing_the_package_loads_only_what_evaluation_needs() -> None:
    loaded = _run("import json, sys, liveops_rules; print(json.dumps(sorted(sys.modules)))")
    assert isinstance(loaded, list)
    heavy = (
        "liveops_rules.accounting",
        "liveops_rules.stores",
        "liveops_rules.wire",
        "cattrs",
        "sqlite3",
    )
    assert [m for m in loaded if m.startswith(heavy)] == []
    assert "liveops_rules.evaluate" in loaded


def test_a_name_is_imported_on_first_use_and_then_kept() -> None:
    answer = _run(
        "import json, sys, liveops_rules\n"
        "before = 'liveops_rules.stores' in sys.modules\n"
        "store = liveops_rules.open_store\n"
        "after = 'liveops_rules.stores' in sys.modules\n"
        "kept = 'open_store' in vars(liveops_rules)\n"
        "print(json.dumps([before, after, kept, store is liveops_rules.open_store]))"
    )
    assert answer == [False, True, True, True]


def test_evaluate_stays_the_function_after_its_module_is_imported() -> None:
    answer = _run(
        "import json, liveops_rules, liveops_rules.evaluate, importlib\n"
        "importlib.import_module('liveops_rules.evaluate')\n"
        "from liveops_rules import evaluate\n"
        "print(json.dumps([callable(evaluate), type(evaluate).__name__]))"
    )
    assert answer == [True, "function"]


def test_unknown_names_raise_attribute_error_naming_them() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        liveops_rules.no_such_name  # type: ignore[attr-defined]  # noqa: B018
    assert not hasattr(liveops_rules, "_EXPORTS_typo")


def test_dir_lists_every_public_name_before_it_is_used() -> None:
    listed = _run("import json, liveops_rules; print(json.dumps(dir(liveops_rules)))")
    assert isinstance(listed, list)
    assert set(liveops_rules.__all__) <= set(listed)


def test_version_is_read_when_asked() -> None:
    assert liveops_rules.__version__ == importlib.metadata.version("liveops-rules")


def test_every_module_of_the_package_has_what_its_all_names() -> None:
    import pkgutil

    missing = []
    for found in pkgutil.walk_packages(liveops_rules.__path__, "liveops_rules."):
        if found.name.endswith(".__main__"):
            continue  # it runs the command line
        needs_driver = ".redis_" in found.name or found.name.endswith("postgres_store")
        if needs_driver and not _driver(found.name):
            continue
        module = importlib.import_module(found.name)
        missing += [
            f"{found.name}.{n}" for n in getattr(module, "__all__", ()) if not hasattr(module, n)
        ]
    assert missing == []


def _driver(name: str) -> bool:
    driver = "redis" if ".redis_" in name else "psycopg"
    try:
        importlib.import_module(driver)
    except ImportError:
        return False
    return True
