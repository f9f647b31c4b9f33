"""AsyncPostgresStore: the PostgreSQL store on psycopg's async connections, for
`AsyncAccounting`.

It runs the same transactions of the same statements as `PostgresStore` (both drive
`PostgresSteps`) on the same tables: a sync and an async store on one schema are one store.
Two ways to connect, as the sync store:
- `AsyncPostgresStore(url)`: an `AsyncConnectionPool` of autocommit connections, opened at the
  first call (which also checks the tables' version; `create_schema=True` creates or upgrades
  them first);
- `AsyncPostgresStore(connection=conn)`: on an `AsyncConnection` the caller holds, each
  operation a savepoint inside the caller's transaction.

Retries are the sync store's (`verdict` decides), with pauses that do not block the loop, until
`retry_window` passes. A task cancelled mid-transaction leaves it to the server: it commits
whole or not at all, so the store holds the operation once or not at all, as after a lost
reply, and a retry with the same idempotency key settles which. A store belongs to the event
loop of its first call (its pool's connections and tasks are that loop's).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from liveops_rules.errors import StoreError, ValidationError
from liveops_rules.redaction import redact_message
from liveops_rules.stores.async_driver import AsyncDriver
from liveops_rules.stores.postgres_steps import (
    POOL_LOG,
    Operation,
    PostgresSettings,
    PostgresSteps,
    Sql,
    T,
    Transaction,
    Work,
    check_url_options,
    probe_failure,
    schema_sql,
    verdict,
)
from liveops_rules.stores.postgres_store import PostgresStore

__all__ = ["AsyncPostgresStore"]

_SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"


class AsyncPostgresStore(AsyncDriver):
    """A PostgreSQL store behind the async interface (`AsyncStore`), on psycopg's async
    connections; it takes `PostgresStore`'s arguments (`connection` an `AsyncConnection`)
    and `create_schema` (create or upgrade the tables at the first call). Nothing is sent
    before its first call, where an unreachable server or missing tables are reported."""

    def __init__(
        self,
        url: str | None = None,
        *,
        connection: psycopg.AsyncConnection[Any] | None = None,
        schema: str = "liveops_rules",
        pool_size: int = 10,
        retry_window: float = 10.0,
        connect_timeout: float = 10.0,
        create_schema: bool = False,
    ) -> None:
        settings = PostgresSettings(
            url,
            embedded=connection is not None,
            schema=schema,
            pool_size=pool_size,
            retry_window=retry_window,
            connect_timeout=connect_timeout,
        )
        if connection is not None and not isinstance(connection, psycopg.AsyncConnection):
            raise ValidationError.single("connection", "a psycopg AsyncConnection", connection)
        if type(create_schema) is not bool:
            raise ValidationError.single("create_schema", "true or false", create_schema)
        super().__init__()
        self.settings = settings
        self.schema = schema
        self.steps = PostgresSteps(settings)
        self.retries = 0
        """How many times a transaction was run again (deadlock, serialization failure, lost
        connection): a number to watch, not to act on."""
        self._embedded = connection
        self._create_schema = create_schema
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] | None = None
        self._embedded_lock: asyncio.Lock | None = None

    @classmethod
    def like(cls, store: PostgresStore, *, pool_size: int | None = None) -> AsyncPostgresStore:
        """An async store on the same server and schema as the sync `store` (opened with a
        URL), with its pool size unless `pool_size` says otherwise."""
        if not isinstance(store, PostgresStore) or store.settings.url is None:
            raise ValidationError.single("store", "a PostgresStore opened with a URL", store)
        settings = store.settings
        return cls(
            settings.url,
            schema=settings.schema,
            pool_size=settings.pool_size if pool_size is None else pool_size,
            retry_window=settings.retry_window,
            connect_timeout=settings.connect_timeout,
        )

    # -- opening ------------------------------------------------------------------------------

    def _bound(self) -> None:
        self._embedded_lock = asyncio.Lock()

    async def _open(self) -> None:
        url = self.settings.url
        if url is not None:
            await self._probe(url)
            if self._create_schema:
                await self.create_schema(url, schema=self.schema)
            self._pool = await self._open_pool(url)
        elif self._create_schema:
            assert self._embedded is not None
            await self.create_schema(self._embedded, schema=self.schema)
        versions = self.steps.check_version()
        await self._drive(versions, next(versions))

    async def _probe(self, url: str) -> None:
        """Connect once (see `PostgresStore`): the server's own reason at once for what no
        retry can mend; an unreachable server is tried again until the window passes."""
        deadline = time.monotonic() + self.settings.retry_window
        delay = 0.05
        while True:
            try:
                timeout = int(self.settings.connect_timeout)
                connection = await psycopg.AsyncConnection.connect(url, connect_timeout=timeout)
                await connection.close()
                return
            except psycopg.Error as error:
                expired = time.monotonic() + delay > deadline
                failure = probe_failure(error, self.settings.where, url, expired=expired)
                if failure is not None:
                    raise failure from None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def _open_pool(self, url: str) -> AsyncConnectionPool[psycopg.AsyncConnection[Any]]:
        POOL_LOG.urls.append(url)
        pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
            url, **self.settings.pool_options()
        )
        try:
            await pool.open(wait=True, timeout=self.settings.connect_timeout)
        except psycopg.Error as error:
            await pool.close()
            reason = redact_message(str(error), url)
            raise StoreError(f"cannot connect to {self.settings.where}: {reason}") from None
        return pool

    @staticmethod
    async def create_schema(
        target: str | psycopg.AsyncConnection[Any], *, schema: str = "liveops_rules"
    ) -> None:
        """`PostgresStore.create_schema`, awaited: create or upgrade the store's tables in
        `schema` (URL or async connection); safe to run concurrently and again."""
        text = schema_sql(schema)
        if isinstance(target, str):
            check_url_options(target)
            try:
                async with await psycopg.AsyncConnection.connect(
                    target, autocommit=True
                ) as connection:
                    await _create(connection, schema, text)
            except psycopg.Error as error:
                reason = redact_message(str(error), target)
                raise StoreError(f"cannot create schema {schema!r}: {reason}") from None
        else:
            await _create(target, schema, text)

    # -- transactions -------------------------------------------------------------------------

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        if self._embedded is not None:
            assert self._embedded_lock is not None
            async with self._embedded_lock:
                yield self._embedded
        else:
            assert self._pool is not None
            async with self._pool.connection() as connection:
                yield connection

    async def _drive(self, operation: Operation[T], transaction: Transaction) -> T:
        """Run an operation's transactions from `transaction` (its first); its result."""
        try:
            while True:
                try:
                    result = await self._transact(transaction)
                except Exception as error:  # the operation decides what its work's error means
                    transaction = operation.throw(error)
                else:
                    transaction = operation.send(result)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def _transact(self, transaction: Transaction) -> Any:
        """Run a transaction's work (a savepoint when embedded), again from the start while
        `verdict` says its failure may pass."""
        deadline = time.monotonic() + self.settings.retry_window
        delay = 0.005
        read = transaction.read
        embedded = self._embedded is not None
        while True:
            try:
                async with self._connection() as connection:
                    if read and not embedded:
                        async with connection.cursor() as cursor:
                            return await _perform(cursor, transaction.work())
                    async with connection.transaction(), connection.cursor() as cursor:
                        if transaction.snapshot and not embedded:
                            await cursor.execute(_SNAPSHOT)
                        return await _perform(cursor, transaction.work())
            except psycopg.Error as error:
                expired = time.monotonic() + delay > deadline
                failure = verdict(error, self.settings, read=read, expired=expired)
                if failure is not None:
                    raise failure from None
            self.retries += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.25)

    async def _close(self) -> None:
        # a caller's connection stays open: it is the caller's
        if self._pool is not None:
            await self._pool.close()

    def __repr__(self) -> str:
        return f"AsyncPostgresStore({self.settings.where}, schema={self.schema!r})"


async def _run_sql(cur: psycopg.AsyncCursor[Any], sql: Sql) -> Any:
    """Run one statement on a cursor: the answer its kind asks for."""
    if sql.kind == "many":
        await cur.executemany(sql.query, sql.params)
        return None
    await cur.execute(sql.query, sql.params)
    if sql.kind == "one":
        return await cur.fetchone()
    if sql.kind == "all":
        return await cur.fetchall()
    return cur.rowcount


async def _perform(cur: psycopg.AsyncCursor[Any], work: Work[T]) -> T:
    """Run a transaction's statements on its cursor; the work's result."""
    try:
        sql = next(work)
        while True:
            sql = work.send(await _run_sql(cur, sql))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        work.close()


async def _create(connection: psycopg.AsyncConnection[Any], schema: str, text: str) -> None:
    async with connection.transaction():
        lock = "SELECT pg_advisory_xact_lock(hashtext(%s))"
        await connection.execute(lock, (f"liveops:{schema}",))
        await connection.execute(text)  # several statements: no parameters
