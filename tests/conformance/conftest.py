"""Every store the conformance suite runs against; later stores add themselves here."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from liveops_rules.chains.daily import DAILY_CHAIN_OPERATIONS, AsyncDailyChains
from liveops_rules.chains.offer import OFFER_CHAIN_OPERATIONS, AsyncOfferChains
from liveops_rules.chains.reward import REWARD_CHAIN_OPERATIONS, AsyncRewardChains
from liveops_rules.checkout import Checkout
from liveops_rules.pricing import Pricing
from liveops_rules.stores import InMemoryStore, RedemptionStore, SQLiteStore
from liveops_rules.upsell import UPSELL_OPERATIONS, AsyncUpsell

from ..async_backed import AsyncBacked, backed, close_all, run

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


# The modules whose tests run through both APIs: the sync one, and the async one over the
# async form of the same store (the module's `Accounting`, `Upsell`, ... replaced by facades
# over `AsyncAccounting`, `AsyncUpsell`, ... for the "async" run; checkouts of a facade are
# `acheckout`, `acommit` and `arelease`).
BOTH_APIS = frozenset(
    {
        "test_accounting",
        "test_registry",
        "test_soundness",
        "test_zones",
        "test_periods",
        "test_upsell",
        "test_checkout",
        "test_reward_chains",
        "test_daily_chains",
        "test_offer_chains",
        "test_ladder_fixes",
    }
)

ASYNC_TWINS: dict[str, type[AsyncBacked]] = {
    "Accounting": AsyncBacked,
    "Upsell": backed(AsyncUpsell, UPSELL_OPERATIONS),
    "RewardChains": backed(AsyncRewardChains, REWARD_CHAIN_OPERATIONS),
    "DailyChains": backed(AsyncDailyChains, DAILY_CHAIN_OPERATIONS),
    "OfferChains": backed(AsyncOfferChains, OFFER_CHAIN_OPERATIONS),
}
"""The sync API's names in a test module, and the facade each is replaced with."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.module.__name__.rpartition(".")[2] in BOTH_APIS:
        metafunc.parametrize("api", ["sync", "async"], indirect=True)


def _checkout(self: Pricing, accounting: Any, *args: Any, **options: Any) -> Checkout:
    if not isinstance(accounting, AsyncBacked):
        return _SYNC_CHECKOUT(self, accounting, *args, **options)
    return run(self.acheckout(accounting.asynchronous, *args, **options))


def _settling(name: str) -> Callable[..., None]:
    sync = getattr(Checkout, name)

    def settle(self: Checkout, accounting: Any, at: Any) -> None:
        if not isinstance(accounting, AsyncBacked):
            return sync(self, accounting, at)  # type: ignore[no-any-return]
        return run(getattr(self, "a" + name)(accounting.asynchronous, at))  # type: ignore[no-any-return]

    return settle


_SYNC_CHECKOUT = Pricing.checkout


@pytest.fixture(autouse=True)
def api(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Which API the test's `Accounting` (and the others) is: "sync" unless its module runs
    both."""
    chosen = getattr(request, "param", "sync")
    if chosen == "async":
        # the test's module, and the test modules whose helpers it uses
        modules = {request.module} | {
            module
            for key, module in list(sys.modules.items())
            if key.startswith(("tests.conformance.test_", "conformance.test_"))
        }
        for module in modules:
            for name, facade in ASYNC_TWINS.items():
                if hasattr(module, name):
                    monkeypatch.setattr(module, name, facade)
        monkeypatch.setattr(Pricing, "checkout", _checkout)
        monkeypatch.setattr(Checkout, "commit", _settling("commit"))
        monkeypatch.setattr(Checkout, "release", _settling("release"))
    try:
        yield chosen
    finally:
        close_all()


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
