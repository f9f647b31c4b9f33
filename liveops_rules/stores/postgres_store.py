"""PostgresStore: counters in PostgreSQL tables (psycopg 3), shared by every machine.

What it runs is written once, in `postgres_steps`, for this store and the async one
(`postgres_async`); this module runs it on psycopg's connections.

Each operation is one transaction at READ COMMITTED. Counting is a conditional upsert per
counter (`... DO UPDATE SET used = used + n WHERE used + reserved + n <= lim + extra`): the row
lock it takes makes a concurrent request wait and then re-check the limit against the committed
row, so no limit is ever passed. Counters are locked in the order the engine lists them (total,
user, code) by every operation; deadlocks that other orders could still cause, serialization
failures and lost connections are retried inside the store within `retry_window` seconds.
Every writing operation is idempotent (a request by its operation id, settling by status,
admin changes by a one-use token), so re-running one whose commit reply was lost never counts
twice; when the window passes, `OutcomeUnknownError` says the outcome is unknown.

Two ways to connect:
- `PostgresStore(url)`: a connection pool (psycopg_pool) of autocommit connections; each
  operation commits on its own.
- `PostgresStore(connection=conn)`: on a connection the caller holds. Each operation runs as a
  savepoint inside the caller's transaction, so the redemption commits or rolls back with the
  caller's own writes (an order row, say). The counter rows it updated stay locked until the
  caller commits: keep that transaction short. A lost connection is raised as `StoreError`,
  since only the caller can retry its transaction.

Only what can pass is retried: lost connections (SQLSTATE class 08, a server shutting down),
deadlocks and serialization failures. Anything else (a constraint, a value the server refuses)
is raised at once as `StoreError`. On a caller's connection a deadlock or serialization failure
is `TransactionConflictError` at once: the locks are the caller's transaction's, so only
rolling it back and running it again can resolve the conflict.

Opening a store connects once first, so that a wrong database name, a refused password or an
unreachable host is reported at once with the server's own reason (an unreachable host is
tried again until `retry_window` passes). After `os.fork()` the child opens a pool of its own
and leaves the parent's connections untouched.

Tables come from `create_schema()` (the SQL in `postgres_schema.sql`, which also upgrades
tables of an older version in place), never implicitly: `open_store(...?create_schema=true)`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from liveops_rules.errors import StoreError
from liveops_rules.redaction import redact_message
from liveops_rules.stores.postgres_steps import (
    POOL_LOG,
    SCHEMA_VERSION,
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
from liveops_rules.stores.protocol import (
    CounterState,
    CountRequest,
    CountResult,
    LedgerEntry,
    SettleAction,
    SettleResult,
)

__all__ = ["SCHEMA_VERSION", "PostgresStore", "schema_sql"]

_ABANDONED: list[ConnectionPool[Any]] = []
"""Pools a forked child inherited: never used, never closed (closing would end the parent's
sessions on the sockets they share)."""

_SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"


def _run_sql(cur: psycopg.Cursor[Any], sql: Sql) -> Any:
    """Run one statement on a cursor: the answer its kind asks for."""
    if sql.kind == "many":
        cur.executemany(sql.query, sql.params)
        return None
    cur.execute(sql.query, sql.params)
    if sql.kind == "one":
        return cur.fetchone()
    if sql.kind == "all":
        return cur.fetchall()
    return cur.rowcount


class PostgresStore:
    """A RedemptionStore on PostgreSQL (see the module's notes on transactions and embedding).
    `settings` holds what it was opened with."""

    def __init__(
        self,
        url: str | None = None,
        *,
        connection: psycopg.Connection[Any] | None = None,
        schema: str = "liveops_rules",
        pool_size: int = 10,
        retry_window: float = 10.0,
        connect_timeout: float = 10.0,
    ) -> None:
        settings = PostgresSettings(
            url,
            embedded=connection is not None,
            schema=schema,
            pool_size=pool_size,
            retry_window=retry_window,
            connect_timeout=connect_timeout,
        )
        self.settings = settings
        self.schema = schema
        self.steps = PostgresSteps(settings)
        self.retries = 0
        """How many times an operation was run again (deadlock, serialization failure, lost
        connection): a number to watch, not to act on."""
        self._embedded = connection
        self._embedded_lock = threading.RLock()
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None
        self._pid = os.getpid()
        self._url = url
        self._where = settings.where
        self._retry_window = settings.retry_window
        if url is not None:
            self._probe(url)
            self._pool = self._open_pool(url)
        try:
            self._drive(self.steps.check_version())
        except StoreError:
            self.close()
            raise

    def _probe(self, url: str) -> None:
        """Connect once: the server's own reason, at once, for what no retry can mend (no
        such database, a refused password); an unreachable server is tried again until the
        retry window passes."""
        deadline = time.monotonic() + self._retry_window
        delay = 0.05
        while True:
            try:
                timeout = int(self.settings.connect_timeout)
                psycopg.connect(url, connect_timeout=timeout).close()
                return
            except psycopg.Error as error:
                expired = time.monotonic() + delay > deadline
                failure = probe_failure(error, self._where, url, expired=expired)
                if failure is not None:
                    raise failure from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _open_pool(self, url: str) -> ConnectionPool[psycopg.Connection[Any]]:
        POOL_LOG.urls.append(url)
        pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url, **self.settings.pool_options()
        )
        try:
            pool.open(wait=True, timeout=self.settings.connect_timeout)
        except psycopg.Error as error:
            pool.close()
            reason = redact_message(str(error), url)
            raise StoreError(f"cannot connect to {self._where}: {reason}") from None
        return pool

    @staticmethod
    def create_schema(
        target: str | psycopg.Connection[Any], *, schema: str = "liveops_rules"
    ) -> None:
        """Create the store's tables in `schema` if they are missing, or upgrade them from an
        older version (URL or connection). Safe to run concurrently and again: an advisory
        lock serializes it."""
        text = schema_sql(schema)
        if isinstance(target, str):
            check_url_options(target)
            try:
                with psycopg.connect(target, autocommit=True) as connection:
                    _create(connection, schema, text)
            except psycopg.Error as error:
                reason = redact_message(str(error), target)
                raise StoreError(f"cannot create schema {schema!r}: {reason}") from None
        else:
            _create(target, schema, text)

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        if self._embedded is not None:
            with self._embedded_lock:
                yield self._embedded
        else:
            if self._pid != os.getpid():
                self._forked()
            assert self._pool is not None
            with self._pool.connection() as connection:
                yield connection

    def _forked(self) -> None:
        """In a child after fork(): the parent's pool shares its sockets with the parent and
        lost its worker threads; leave it be and open a pool of the child's own."""
        assert self._url is not None
        if self._pool is not None:
            _ABANDONED.append(self._pool)
        self._pid = os.getpid()
        self._pool = self._open_pool(self._url)

    def _drive(self, operation: Operation[T]) -> T:
        """Run an operation's transactions; its result."""
        try:
            transaction = next(operation)
            while True:
                try:
                    result = self._transact(transaction)
                except Exception as error:  # the operation decides what its work's error means
                    transaction = operation.throw(error)
                else:
                    transaction = operation.send(result)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        finally:
            operation.close()

    def _transact(self, transaction: Transaction) -> Any:
        """Run a transaction's work (a savepoint when embedded), again from the start while
        `verdict` says its failure may pass."""
        deadline = time.monotonic() + self._retry_window
        delay = 0.005
        read = transaction.read
        while True:
            try:
                with self._connection() as connection:
                    # An embedded read runs as a savepoint too: a bare statement would open a
                    # transaction on an idle connection and leave it open.
                    if read and self._embedded is None:
                        with connection.cursor() as cursor:
                            return _perform(cursor, transaction.work())
                    with connection.transaction(), connection.cursor() as cursor:
                        if transaction.snapshot and self._embedded is None:
                            cursor.execute(_SNAPSHOT)
                        return _perform(cursor, transaction.work())
            except psycopg.Error as error:
                expired = time.monotonic() + delay > deadline
                failure = verdict(error, self.settings, read=read, expired=expired)
                if failure is not None:
                    raise failure from None
            self.retries += 1
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    # -- the RedemptionStore methods: each runs its steps (see PostgresSteps) ------------------

    def count(self, request: CountRequest) -> CountResult:
        """See `CounterStore.count`."""
        return self._drive(self.steps.count(request))

    def settle(self, action: SettleAction, operation_id: str, at: datetime) -> SettleResult:
        """See `CounterStore.settle`."""
        return self._drive(self.steps.settle(action, operation_id, at))

    def counter(self, key: str, at: datetime) -> CounterState:
        """See `CounterStore.counter`."""
        return self._drive(self.steps.counter(key, at))

    def adjust(self, key: str, limit: int, available: int, at: datetime) -> CounterState | None:
        """See `CounterStore.adjust`."""
        return self._drive(self.steps.adjust(key, limit, available, at))

    def add_extra(self, key: str, limit: int, change: int, at: datetime) -> CounterState | None:
        """See `CounterStore.add_extra`."""
        return self._drive(self.steps.add_extra(key, limit, change, at))

    def reset(self, prefix: str, at: datetime, *, exact: bool = False) -> int:
        """See `CounterStore.reset`."""
        return self._drive(self.steps.reset(prefix, at, exact=exact))

    def counters_with_prefix(self, prefix: str) -> dict[str, CounterState]:
        """See `CounterStore.counters_with_prefix` (a range of the "C"-collated key index)."""
        return self._drive(self.steps.counters_with_prefix(prefix))

    def counters(self) -> dict[str, CounterState]:
        """See `CounterStore.counters`."""
        return self._drive(self.steps.counters())

    def audit(self) -> tuple[list[LedgerEntry], dict[str, CounterState]]:
        """See `LedgerStore.audit`: one REPEATABLE READ transaction reads both."""
        return self._drive(self.steps.audit())

    def remember(self, key: str, fingerprint: str, result: str) -> str:
        """See `IdempotencyStore.remember`."""
        return self._drive(self.steps.remember(key, fingerprint, result))

    def recall(self, key: str, fingerprint: str) -> str | None:
        """See `IdempotencyStore.recall`."""
        return self._drive(self.steps.recall(key, fingerprint))

    def ledger(self) -> list[LedgerEntry]:
        """See `LedgerStore.ledger`."""
        return self._drive(self.steps.ledger())

    def add_codes(self, ref: str, codes: Sequence[str]) -> tuple[str, ...]:
        """See `CodeStore.add_codes`."""
        return self._drive(self.steps.add_codes(ref, codes))

    def add_code_sets(
        self, assignments: Sequence[tuple[str, Sequence[str]]]
    ) -> list[tuple[str, ...]]:
        """See `CodeStore.add_code_sets`: one transaction."""
        return self._drive(self.steps.add_code_sets(assignments))

    def remove_codes(self, ref: str, codes: Sequence[str]) -> tuple[str, ...]:
        """See `CodeStore.remove_codes`."""
        return self._drive(self.steps.remove_codes(ref, codes))

    def code_owner(self, code: str) -> str | None:
        """See `CodeStore.code_owner`."""
        return self._drive(self.steps.code_owner(code))

    def code_owners(self, codes: Sequence[str]) -> dict[str, str]:
        """See `CodeStore.code_owners`."""
        return self._drive(self.steps.code_owners(codes))

    def code_map(self) -> dict[str, str]:
        """See `CodeStore.code_map`."""
        return self._drive(self.steps.code_map())

    def codes(self, ref: str, offset: int = 0, limit: int | None = None) -> list[str]:
        """See `CodeStore.codes`."""
        return self._drive(self.steps.codes(ref, offset, limit))

    def code_count(self, ref: str) -> int:
        """See `CodeStore.code_count`."""
        return self._drive(self.steps.code_count(ref))

    def put_promotion(self, ref: str, document: str) -> None:
        """See `PromotionStore.put_promotion`."""
        return self._drive(self.steps.put_promotion(ref, document))

    def put_promotions(self, documents: Sequence[tuple[str, str]]) -> None:
        """See `PromotionStore.put_promotions`: one transaction."""
        return self._drive(self.steps.put_promotions(documents))

    def swap_promotion(self, ref: str, expected: str | None, document: str) -> bool:
        """See `PromotionStore.swap_promotion`."""
        return self._drive(self.steps.swap_promotion(ref, expected, document))

    def retire_promotion(self, ref: str, expected: str, document: str) -> int | None:
        """See `PromotionStore.retire_promotion`."""
        return self._drive(self.steps.retire_promotion(ref, expected, document))

    def promotion(self, ref: str) -> str | None:
        """See `PromotionStore.promotion`."""
        return self._drive(self.steps.promotion(ref))

    def promotion_version(self, ref: str) -> str | None:
        """See `PromotionStore.promotion_version`."""
        return self._drive(self.steps.promotion_version(ref))

    def promotion_refs(self, prefix: str = "") -> list[str]:
        """See `PromotionStore.promotion_refs`."""
        return self._drive(self.steps.promotion_refs(prefix))

    def promotion_documents(self, prefix: str = "") -> dict[str, str]:
        """See `PromotionStore.promotion_documents`."""
        return self._drive(self.steps.promotion_documents(prefix))

    def close(self) -> None:
        """Close the pool (a caller's connection stays open: it is the caller's)."""
        if self._pid != os.getpid():  # a child closes only what it opened
            if self._pool is not None:
                _ABANDONED.append(self._pool)
            self._pool = None
        if self._pool is not None:
            self._pool.close()


def _perform(cur: psycopg.Cursor[Any], work: Work[T]) -> T:
    """Run a transaction's statements on its cursor; the work's result."""
    try:
        sql = next(work)
        while True:
            sql = work.send(_run_sql(cur, sql))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        work.close()


def _create(connection: psycopg.Connection[Any], schema: str, text: str) -> None:
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"liveops:{schema}",))
        connection.execute(text)
