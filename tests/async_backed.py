"""`Accounting`'s synchronous interface over `AsyncAccounting`: the conformance suite runs
its tests through the async API with it, each call awaited on an event loop of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from liveops_rules.accounting.asynchronous import AsyncAccounting
from liveops_rules.accounting.engine import OPERATIONS
from liveops_rules.stores import InMemoryStore, RedemptionStore
from liveops_rules.stores.asynchronous import AsyncMemoryStore, ThreadedStore
from liveops_rules.stores.calls import AsyncStore


def async_form(store: RedemptionStore, *, workers: int = 2) -> AsyncStore:
    """The same store behind the async interface: memory on the loop, Redis and PostgreSQL
    on their native async drivers (same server and keys; PostgreSQL's pool `workers` big),
    SQLite in `workers` threads. The sync `store` stays the caller's to inspect and close."""
    if isinstance(store, InMemoryStore):
        return AsyncMemoryStore(store, owned=False)
    if type(store).__name__ == "RedisStore":  # its driver is an extra
        from liveops_rules.stores.redis_async import AsyncRedisStore
        from liveops_rules.stores.redis_store import RedisStore

        assert isinstance(store, RedisStore)
        return AsyncRedisStore.like(store)
    if type(store).__name__ == "PostgresStore":
        from liveops_rules.stores.postgres_async import AsyncPostgresStore
        from liveops_rules.stores.postgres_store import PostgresStore

        assert isinstance(store, PostgresStore)
        return AsyncPostgresStore.like(store, pool_size=workers)
    return ThreadedStore(store, workers=workers, owned=False)


OPEN: list[AsyncBacked] = []
"""Every one made and not yet closed (the fixture closes them after each test)."""


class AsyncBacked:
    """Takes `Accounting`'s arguments; each operation runs `AsyncAccounting`'s coroutine to
    its end. The store stays the caller's: closing this stops only the loop and workers."""

    def __init__(self, store: RedemptionStore, **options: Any) -> None:
        self.store = store
        self._loop = asyncio.new_event_loop()
        self.asynchronous = AsyncAccounting(async_form(store), **options)
        OPEN.append(self)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name not in OPERATIONS:
            raise AttributeError(name)
        operation = getattr(self.asynchronous, name)

        def run(*args: Any, **kwargs: Any) -> Any:
            return self._loop.run_until_complete(operation(*args, **kwargs))

        return run

    def close(self) -> None:
        """Stop the workers and the loop."""
        if not self._loop.is_closed():
            self._loop.run_until_complete(self.asynchronous.aclose())
            self._loop.close()
