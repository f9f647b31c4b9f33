"""The steps both drivers of a server store run: every RedemptionStore method is there, with
the protocol's parameters, so the sync and async stores offer the same operations."""

from __future__ import annotations

import importlib
import inspect

import pytest

from liveops_rules.stores.protocol import STORE_OPERATIONS, RedemptionStore


def _parameters(function: object) -> list[tuple[str, object, object]]:
    signature = inspect.signature(function)  # type: ignore[arg-type]
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


def test_the_store_operations_are_the_protocols_methods_but_close() -> None:
    public = {n for n in dir(RedemptionStore) if not n.startswith("_")}
    assert public - STORE_OPERATIONS == {"close"}
    assert len(STORE_OPERATIONS) == 28


@pytest.mark.parametrize("module", ["redis_steps", "postgres_steps"])
def test_the_steps_have_every_store_operation_with_the_protocols_parameters(module: str) -> None:
    steps = importlib.import_module(f"liveops_rules.stores.{module}")
    kind = steps.RedisSteps if module == "redis_steps" else steps.PostgresSteps
    assert steps.OPERATIONS == STORE_OPERATIONS
    for name in sorted(STORE_OPERATIONS):
        assert _parameters(getattr(kind, name)) == _parameters(getattr(RedemptionStore, name)), name
