"""Stores behind the async interface (`AsyncStore`), for `AsyncAccounting`.

- `AsyncMemoryStore`: an InMemoryStore whose calls run on the event loop itself (each holds
  the store's lock for microseconds: a thread would cost more than the call).
- `ThreadedStore`: any RedemptionStore whose calls run in worker threads of its own, never on
  the loop: SQLite's way (one worker per store, its connection kept in that thread).
- `AsyncRedisStore` (in `redis_async`) and `AsyncPostgresStore` (in `postgres_async`): the
  server stores on their drivers' async connections, `open_async_store`'s choice for their
  URIs.

A call the awaiting task gave up on (cancelled, timed out) is left to finish or not start:
each store call is atomic, so the store holds it once or not at all, as after a lost reply;
a retry with the same idempotency key settles which.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from liveops_rules.errors import ValidationError
from liveops_rules.stores import InMemoryStore, open_store
from liveops_rules.stores.calls import AsyncClosing, StoreCall
from liveops_rules.stores.protocol import RedemptionStore
from liveops_rules.stores.uris import (
    POSTGRES_OPTIONS,
    POSTGRES_SCHEMES,
    REDIS_OPTIONS,
    REDIS_SCHEMES,
    driver_missing,
    split_server_uri,
)

if TYPE_CHECKING:
    from liveops_rules.stores.postgres_async import AsyncPostgresStore
    from liveops_rules.stores.redis_async import AsyncRedisStore

__all__ = ["AsyncMemoryStore", "ThreadedStore", "open_async_store"]

_MAX_WORKERS = 256


def _check_workers(workers: object) -> None:
    if type(workers) is not int or not 1 <= workers <= _MAX_WORKERS:
        raise ValidationError.single("workers", f"an integer in 1..{_MAX_WORKERS}", workers)


class AsyncMemoryStore(AsyncClosing):
    """An InMemoryStore (a new one by default) behind the async interface; `store` is it.
    With `owned=False`, `aclose` leaves it open (its owner closes it)."""

    def __init__(self, store: InMemoryStore | None = None, *, owned: bool = True) -> None:
        if store is not None and not isinstance(store, InMemoryStore):
            raise ValidationError.single("store", "an InMemoryStore", store)
        self.store = InMemoryStore() if store is None else store
        self._owned = owned
        self._closed = False

    async def perform(self, call: StoreCall) -> Any:
        """See `AsyncStore.perform`."""
        if self._closed:
            raise ValidationError.single("store", "an open store", "a closed one")
        return getattr(self.store, call.method)(*call.args, **call.kwargs)

    async def aclose(self) -> None:
        """See `AsyncStore.aclose`."""
        if self._closed:
            return
        self._closed = True
        if self._owned:
            self.store.close()

    def __repr__(self) -> str:
        return f"AsyncMemoryStore({self.store!r})"


class ThreadedStore(AsyncClosing):
    """A RedemptionStore behind the async interface, each call made in one of `workers`
    threads of its own (1 for SQLite: calls are then done in the order asked). `store` is it;
    `aclose` waits for the calls in flight, then closes it (with `owned=False` it leaves it
    open for its owner)."""

    def __init__(self, store: RedemptionStore, *, workers: int = 1, owned: bool = True) -> None:
        _check_workers(workers)
        for method in ("count", "settle", "promotion", "close"):
            if not callable(getattr(store, method, None)):
                raise ValidationError.single("store", "a RedemptionStore", store)
        self.store = store
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="liveops-store")
        self._owned = owned
        self._closed = False

    async def perform(self, call: StoreCall) -> Any:
        """See `AsyncStore.perform`."""
        if self._closed:
            raise ValidationError.single("store", "an open store", "a closed one")
        method = getattr(self.store, call.method)
        loop = asyncio.get_running_loop()
        # In the caller's context, as asyncio.to_thread does: its context variables (a
        # request id, a trace) reach the store's log lines.
        context = contextvars.copy_context()
        return await loop.run_in_executor(
            self._executor, functools.partial(context.run, method, *call.args, **call.kwargs)
        )

    async def aclose(self) -> None:
        """See `AsyncStore.aclose`."""
        if self._closed:
            return
        self._closed = True
        # Waiting for the workers is itself done off the loop.
        await asyncio.get_running_loop().run_in_executor(None, self._shut_down)

    def _shut_down(self) -> None:
        self._executor.shutdown(wait=True)
        if self._owned:
            self.store.close()

    def __repr__(self) -> str:
        return f"ThreadedStore({self.store!r})"


def _scheme(uri: object) -> str | None:
    if not isinstance(uri, str):
        return None
    try:
        return urlsplit(uri).scheme
    except ValueError:
        return None  # open_store says what is wrong with it


def _async_redis(uri: str, workers: int | None) -> AsyncRedisStore:
    if workers is not None:
        raise ValidationError.single(
            "workers", "none for Redis (its async driver runs on the loop)", workers
        )
    try:
        from liveops_rules.stores.redis_async import AsyncRedisStore
    except ImportError:
        raise driver_missing(uri, "redis") from None
    url, options = split_server_uri(uri, REDIS_OPTIONS)
    return AsyncRedisStore(url, **options)  # type: ignore[arg-type]


def _async_postgres(uri: str, workers: int | None) -> AsyncPostgresStore:
    if workers is not None:
        raise ValidationError.single(
            "workers", "none for PostgreSQL (size its pool with ?pool_size=)", workers
        )
    try:
        from liveops_rules.stores.postgres_async import AsyncPostgresStore
    except ImportError:
        raise driver_missing(uri, "postgres") from None
    url, options = split_server_uri(uri, POSTGRES_OPTIONS)
    return AsyncPostgresStore(url, **options)  # type: ignore[arg-type]


def open_async_store(
    uri: str, *, workers: int | None = None
) -> AsyncMemoryStore | ThreadedStore | AsyncRedisStore | AsyncPostgresStore:
    """An async store from the URIs `open_store` reads: `memory://` runs on the loop,
    `sqlite:///path.db` in worker threads of its own (`workers`, 1 by default: calls in the
    order asked), Redis on redis.asyncio (`AsyncRedisStore`) and PostgreSQL on psycopg's
    async pool (`AsyncPostgresStore`, `?create_schema=true` creating the tables at the first
    call). Bad URIs and options are refused before anything runs; a server store connects at
    its first call, which reports an unreachable server or missing tables."""
    if workers is not None:
        _check_workers(workers)  # before the store is opened
    scheme = _scheme(uri)
    if scheme in REDIS_SCHEMES:
        return _async_redis(uri, workers)
    if scheme in POSTGRES_SCHEMES:
        return _async_postgres(uri, workers)
    store = open_store(uri)
    if isinstance(store, InMemoryStore):
        if workers is not None:
            store.close()
            raise ValidationError.single(
                "workers", "none for memory:// (it runs on the loop)", workers
            )
        return AsyncMemoryStore(store)
    return ThreadedStore(store, workers=1 if workers is None else workers)
