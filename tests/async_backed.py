"""The synchronous interfaces of `Accounting`, the chains and upsell over their async twins:
the conformance suite runs its tests through the async APIs with them, every call awaited on
one event loop (`run`; threads take turns on it, so their calls run one at a time)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from liveops_rules.accounting.asynchronous import AsyncAccounting
from liveops_rules.accounting.engine import OPERATIONS
from liveops_rules.stores import InMemoryStore, RedemptionStore
from liveops_rules.stores.asynchronous import AsyncMemoryStore, ThreadedStore
from liveops_rules.stores.calls import AsyncStore

T = TypeVar("T")

_TURNS = threading.RLock()
_LOOP: list[asyncio.AbstractEventLoop] = []

OPEN: list[AsyncBacked] = []
"""Every facade made and not yet closed (`close_all` closes them after each test)."""

_SHARED: dict[int, tuple[RedemptionStore, AsyncStore, list[int]]] = {}
"""The async form of each sync store in use, with how many facades use it: facades on one
store share one async store, as the sync objects share the store (a check that an
accounting is on the chains' store compares them)."""


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


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to its end on the tests' one event loop (made when first needed)."""
    with _TURNS:
        if not _LOOP:
            _LOOP.append(asyncio.new_event_loop())
        return _LOOP[0].run_until_complete(coroutine)


def close_all() -> None:
    """Close every facade still open, then the loop."""
    with _TURNS:
        while OPEN:
            OPEN.pop().close()
        if _LOOP:
            _LOOP.pop().close()


def _unwrapped(value: Any) -> Any:
    """A facade given as an argument is its async object (an AsyncAccounting for upsell)."""
    return value.asynchronous if isinstance(value, AsyncBacked) else value


class AsyncBacked:
    """Takes the sync API's arguments (a store first); each of `operations` runs the async
    API's coroutine to its end, anything else is the async object's own attribute. The store
    stays the caller's: closing this closes only what the async object opened."""

    api: Callable[..., Any] = AsyncAccounting
    operations: tuple[str, ...] = OPERATIONS

    def __init__(self, store: RedemptionStore, *args: Any, **options: Any) -> None:
        self.store = store
        options = {name: _unwrapped(value) for name, value in options.items()}
        with _TURNS:
            shared = _SHARED.get(id(store))
            if shared is None:
                shared = _SHARED[id(store)] = (store, async_form(store), [0])
            shared[2][0] += 1
        self.asynchronous = self.api(shared[1], *args, **options)
        self._closed = False
        OPEN.append(self)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "asynchronous":
            raise AttributeError(name)
        found = getattr(self.asynchronous, name)
        if name not in self.operations:
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            args = tuple(_unwrapped(value) for value in args)
            kwargs = {key: _unwrapped(value) for key, value in kwargs.items()}
            return run(found(*args, **kwargs))

        return call

    def close(self) -> None:
        """Close the async store when no other facade uses it (the sync store it wraps
        stays open)."""
        if self._closed:
            return
        self._closed = True
        with _TURNS:
            shared = _SHARED[id(self.store)]
            shared[2][0] -= 1
            if shared[2][0] == 0:
                del _SHARED[id(self.store)]
                run(self.asynchronous.aclose())


def backed(api: Callable[..., Any], operations: tuple[str, ...]) -> type[AsyncBacked]:
    """A facade class for another async API (a chain kind's, upsell's)."""
    return type(
        f"Backed{getattr(api, '__name__', 'API')}",
        (AsyncBacked,),
        {
            "api": staticmethod(api),
            "operations": operations,
        },
    )
