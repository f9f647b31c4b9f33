"""Every store the conformance suite runs against; later stores add themselves here."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from liveops_rules.stores import InMemoryStore, RedemptionStore, SQLiteStore

from ..async_backed import OPEN, AsyncBacked

StoreFactory = Callable[[], RedemptionStore]


def _memory(_: Path, __: pytest.FixtureRequest) -> StoreFactory:
    store = InMemoryStore()
    return lambda: store


def _sqlite(tmp: Path, _: pytest.FixtureRequest) -> StoreFactory:
    path = tmp / "store.db"
    return lambda: SQLiteStore(path, synchronous="NORMAL")


def _redis(_: Path, request: pytest.FixtureRequest) -> StoreFactory:
    from liveops_rules.stores.redis_store import RedisStore

    url = request.getfixturevalue("redis_server").url
    prefix = f"t-{uuid.uuid4().hex}"  # each test its own keys on the shared server
    return lambda: RedisStore(url, prefix=prefix)


def _postgres(_: Path, request: pytest.FixtureRequest) -> StoreFactory:
    from liveops_rules.stores.postgres_store import PostgresStore

    url = request.getfixturevalue("postgres_server").url
    schema = f"t_{uuid.uuid4().hex}"  # each test its own tables on the shared server
    PostgresStore.create_schema(url, schema=schema)
    return lambda: PostgresStore(url, schema=schema, pool_size=4)


# The modules whose tests run through both APIs: `Accounting`, and `AsyncAccounting` over the
# async form of the same store (their module's `Accounting` replaced for the "async" run).
BOTH_APIS = frozenset(
    {"test_accounting", "test_registry", "test_soundness", "test_zones", "test_periods"}
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.module.__name__.rpartition(".")[2] in BOTH_APIS:
        metafunc.parametrize("api", ["sync", "async"], indirect=True)


@pytest.fixture(autouse=True)
def api(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Which API the test's `Accounting` is: "sync" unless its module runs both."""
    chosen = getattr(request, "param", "sync")
    if chosen == "async":
        monkeypatch.setattr(request.module, "Accounting", AsyncBacked)
    try:
        yield chosen
    finally:
        while OPEN:
            OPEN.pop().close()


FACTORIES = {"memory": _memory, "sqlite": _sqlite, "redis": _redis, "postgres": _postgres}


@pytest.fixture(params=sorted(FACTORIES))
def store_factory(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    closing: Callable[[RedemptionStore], RedemptionStore],
) -> StoreFactory:
    """Makes handles on one store: the same object in memory, a new connection for others;
    each is closed after the test, passed or failed."""
    make = FACTORIES[request.param](tmp_path, request)
    return lambda: closing(make())


@pytest.fixture
def store(store_factory: StoreFactory) -> RedemptionStore:
    """One store of each kind."""
    return store_factory()
