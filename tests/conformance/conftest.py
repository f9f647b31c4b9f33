"""Every store the conformance suite runs against; later stores add themselves here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from liveops_rules.stores import InMemoryStore, RedemptionStore, SQLiteStore

StoreFactory = Callable[[], RedemptionStore]


def _memory(_: Path) -> StoreFactory:
    store = InMemoryStore()
    return lambda: store


def _sqlite(tmp: Path) -> StoreFactory:
    path = tmp / "store.db"
    return lambda: SQLiteStore(path, synchronous="NORMAL")


FACTORIES = {"memory": _memory, "sqlite": _sqlite}


@pytest.fixture(params=sorted(FACTORIES))
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Makes handles on one store: the same object in memory, a new connection for files."""
    opened: list[RedemptionStore] = []
    make = FACTORIES[request.param](tmp_path)

    def factory() -> RedemptionStore:
        store = make()
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(store_factory: StoreFactory) -> RedemptionStore:
    """One store of each kind."""
    return store_factory()
