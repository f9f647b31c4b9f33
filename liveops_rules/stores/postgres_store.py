"""PostgresStore: counters in PostgreSQL tables (psycopg 3), shared by every machine.

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

import collections
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from importlib import resources
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from liveops_rules.errors import (
    OutcomeUnknownError,
    StoreError,
    TransactionConflictError,
    ValidationError,
)
from liveops_rules.redaction import redact_message, redact_uri
from liveops_rules.stores.bounds import COUNT_MAX, check_seconds
from liveops_rules.stores.protocol import (
    SETTLED,
    CounterSpec,
    CounterState,
    CountRequest,
    CountResult,
    IdempotencyConflict,
    LedgerEntry,
    OperationCollision,
    SettleAction,
    SettleResult,
    Status,
    document_version,
)

__all__ = ["SCHEMA_VERSION", "PostgresStore", "schema_sql"]

SCHEMA_VERSION = 2

_T = TypeVar("_T")
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_COUNTED = CountResult(ok=True)
_STALE = CountResult(ok=False, stale=True)
_CONFLICTS = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)
_ABANDONED: list[ConnectionPool[Any]] = []
"""Pools a forked child inherited: never used, never closed (closing would end the parent's
sessions on the sockets they share)."""


def _transient(error: psycopg.Error) -> bool:
    """Whether an error says the connection, not the operation, failed: worth trying again."""
    if isinstance(error, PoolTimeout):
        return True
    state = error.sqlstate
    if state is None:  # no answer from the server: the connection broke on the client's side
        return isinstance(error, psycopg.OperationalError)
    return state.startswith("08") or state in ("57P01", "57P02", "57P03", "53300")


class _RedactPasswords(logging.Filter):
    """psycopg_pool logs each failed connection with libpq's message, which can quote the
    URL's password: such lines are logged with passwords replaced by `***`."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: collections.deque[str] = collections.deque(maxlen=64)  # pools' URLs

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_message(record.getMessage(), *self.urls)
        record.args = ()
        return True


_POOL_LOG = _RedactPasswords()
logging.getLogger("psycopg.pool").addFilter(_POOL_LOG)


def _libpq_options() -> frozenset[str]:
    return frozenset(option.keyword.decode() for option in psycopg.pq.Conninfo.get_defaults())


def schema_sql(schema: str = "liveops_rules") -> str:
    """The SQL that creates the store's tables in `schema` (idempotent)."""
    _check_schema(schema)
    text = resources.files("liveops_rules.stores").joinpath("postgres_schema.sql").read_text()
    return text.replace("{schema}", f'"{schema}"')


def _check_schema(schema: object) -> None:
    if not isinstance(schema, str) or not _SCHEMA_NAME.fullmatch(schema):
        raise ValidationError.single(
            "schema", "a lower-case SQL name (a-z, 0-9, _; at most 63)", schema
        )


class _Refused(Exception):  # noqa: N818 - control flow: roll the transaction back
    def __init__(self, spec: CounterSpec, state: CounterState | None = None) -> None:
        self.spec = spec
        self.state = state


class _NotRecorded(Exception):  # noqa: N818 - control flow: roll the transaction back
    pass


class _Stale(Exception):  # noqa: N818 - control flow: roll the transaction back
    pass


class _Unmet(Exception):  # noqa: N818 - control flow: roll the transaction back
    def __init__(self, result: CountResult) -> None:
        self.result = result


class PostgresStore:
    """A RedemptionStore on PostgreSQL (see the module's notes on transactions and embedding)."""

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
        _check_schema(schema)
        if (url is None) == (connection is None):
            raise ValidationError.single(
                "url", "either a postgresql:// URL or connection=, not both", url
            )
        if type(pool_size) is not int or not 1 <= pool_size <= 1000:
            raise ValidationError.single("pool_size", "an integer from 1 to 1000", pool_size)
        self._retry_window = check_seconds("retry_window", retry_window)
        self._connect_timeout = check_seconds("connect_timeout", connect_timeout, low=1)
        self.schema = schema
        self.retries = 0
        """How many times an operation was run again (deadlock, serialization failure, lost
        connection): a number to watch, not to act on."""
        self._embedded = connection
        self._embedded_lock = threading.RLock()
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None
        self._pool_size = pool_size
        self._pid = os.getpid()
        self._url = url
        self._where = "PostgreSQL (caller's connection)"
        if url is not None:
            if not isinstance(url, str) or not url.startswith(("postgresql://", "postgres://")):
                raise ValidationError.single("url", "a postgresql:// URL", redact_uri(str(url)))
            _check_url_options(url)
            parts = urlsplit(url)
            self._where = f"PostgreSQL at {parts.hostname or 'localhost'}:{parts.port or 5432}"
            self._where += parts.path if parts.path not in ("", "/") else ""
            self._probe(url)
            self._pool = self._open_pool(url)
        self._sql = _Statements(f'"{schema}"')
        try:
            found = self._transact(lambda cur: _one(cur, self._sql.version), read=True)
        except StoreError:
            self.close()
            raise
        if found is None or found[0] != SCHEMA_VERSION:
            self.close()
            version = None if found is None else found[0]
            raise StoreError(
                f"{self._where}: schema {schema!r} has version {version}, this library uses "
                f"{SCHEMA_VERSION}: upgrade it with PostgresStore.create_schema() (or open the "
                "store with ?create_schema=true)"
            )

    def _probe(self, url: str) -> None:
        """Connect once: the server's own reason, at once, for what no retry can mend (no
        such database, a refused password); an unreachable server is tried again until the
        retry window passes."""
        deadline = time.monotonic() + self._retry_window
        delay = 0.05
        while True:
            try:
                psycopg.connect(url, connect_timeout=int(self._connect_timeout)).close()
                return
            except psycopg.Error as error:
                text = redact_message(str(error).strip(), url)
                reason = text.splitlines()[-1] if text else type(error).__name__
                if not _transient(error) or time.monotonic() + delay > deadline:
                    raise StoreError(f"cannot connect to {self._where}: {reason}") from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _open_pool(self, url: str) -> ConnectionPool[psycopg.Connection[Any]]:
        _POOL_LOG.urls.append(url)
        pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            min_size=1,
            max_size=self._pool_size,
            kwargs={"autocommit": True, "connect_timeout": int(self._connect_timeout)},
            timeout=self._connect_timeout,
            open=False,
            name="liveops_rules",
        )
        try:
            pool.open(wait=True, timeout=self._connect_timeout)
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
            _check_url_options(target)
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

    def _transact(self, work: Callable[[psycopg.Cursor[Any]], _T], *, read: bool = False) -> _T:
        """Run `work` in one transaction (a savepoint when embedded), retrying what is safe.
        A `read` is one statement: it runs without BEGIN and COMMIT around it."""
        deadline = time.monotonic() + self._retry_window
        delay = 0.005
        while True:
            try:
                with self._connection() as connection:
                    # An embedded read runs as a savepoint too: a bare statement would open a
                    # transaction on an idle connection and leave it open.
                    if read and self._embedded is None:
                        with connection.cursor() as cursor:
                            return work(cursor)
                    with connection.transaction(), connection.cursor() as cursor:
                        return work(cursor)
            except _CONFLICTS as error:
                if self._embedded is not None:
                    raise TransactionConflictError(
                        f"{self._where}: {type(error).__name__} ({str(error).strip()}): roll "
                        "your transaction back and run it again"
                    ) from None
                if time.monotonic() + delay > deadline:
                    raise StoreError(
                        f"{self._where}: gave up after repeated conflicts "
                        f"({type(error).__name__}) for {self._retry_window:g} s"
                    ) from None
            except (pg_errors.UndefinedTable, pg_errors.InvalidSchemaName):
                raise StoreError(
                    f"{self._where} has no liveops_rules tables in schema {self.schema!r}: "
                    "create them with PostgresStore.create_schema(), postgres_schema.sql, "
                    "or open the store with ?create_schema=true"
                ) from None
            except psycopg.Error as error:
                if not _transient(error):
                    raise StoreError(f"{self._where} refused the operation: {error}") from None
                if self._embedded is not None:
                    raise StoreError(f"{self._where}: {error}") from None
                if time.monotonic() + delay > deadline:
                    if read:
                        raise StoreError(f"{self._where} is unreachable: {error}") from None
                    raise OutcomeUnknownError(
                        f"{self._where} did not answer within {self._retry_window:g} s "
                        f"({error}); the operation may or may not have been applied"
                    ) from None
            self.retries += 1
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    # -- counting -----------------------------------------------------------------------------

    def count(self, request: CountRequest) -> CountResult:
        """See `CounterStore.count`."""
        nonce = secrets.token_hex(8)  # this call's: a retry finds its own first try by it
        try:
            return self._transact(lambda cur: self._count(cur, request, nonce, slow=False))
        except (_Refused, _NotRecorded):
            pass
        except _Unmet as unmet:
            return unmet.result
        # The slow path: free expired holds on each counter that refuses, then try again.
        try:
            return self._transact(lambda cur: self._count(cur, request, nonce, slow=True))
        except _Stale:
            return _STALE
        except _Unmet as unmet:
            return unmet.result
        except _Refused as refused:
            state = refused.state
            assert state is not None
            return CountResult(
                ok=False,
                exhausted=refused.spec,
                state=CounterState(state.used, state.reserved, state.extra, refused.spec.limit),
            )

    def _count(
        self, cur: psycopg.Cursor[Any], request: CountRequest, nonce: str, *, slow: bool
    ) -> CountResult:
        """The fast path counts first and records the operation last (a retry whose first
        try committed finds its operation there and rolls back); the slow path claims the
        operation first, so that such a retry is not refused by its own first try."""
        sql = self._sql
        key = request.idempotency_key
        if key is not None:
            cur.execute(sql.claim_key, (key, request.fingerprint, request.result))
            if cur.rowcount == 0:  # the key is taken: by this request (replay) or another
                kept = _one(cur, sql.recall, (key,))
                assert kept is not None
                if kept[0] != request.fingerprint:
                    raise IdempotencyConflict(key)
                return CountResult(ok=True, replayed=kept[1])
        held = request.expires_at is not None
        keys = [spec.key for spec in request.counters]
        quantity = request.quantity
        event = "reserve" if held else "redeem"
        deltas = json.dumps([[k, 0, quantity, 0] if held else [k, quantity, 0, 0] for k in keys])
        operation = (
            request.operation_id,
            "held" if held else "committed",
            request.expires_at,
            quantity,
            keys,
            request.user_id,
            request.promotion,
            request.code,
            key,
            nonce,
        )
        if slow:
            cur.execute(sql.claim_operation, operation)
            if cur.rowcount == 0:
                found = _one(cur, sql.nonce_of, (request.operation_id,))
                if found is not None and found[0] == nonce:
                    return _COUNTED  # this call's first try committed; its reply was lost
                raise OperationCollision(request.operation_id)
            if request.code is not None:
                owner = _one(cur, sql.code_owner, (request.code,))
                if owner is None or owner[0] != request.promotion:
                    raise _Stale
            if request.version is not None:
                current = _one(cur, sql.version_of, (request.versioned,))
                if (current is None and not request.absent_ok) or (
                    current is not None and current[0] != request.version
                ):
                    raise _Stale
        counted = {spec.key for spec in request.counters}
        for requirement in request.requires:  # locked: no cancel lowers it before we commit
            # A counter this count also changes is locked for the update at once: two counts
            # each holding a share lock would wait on each other to upgrade it (a deadlock).
            lock = sql.lock_for_update if requirement.key in counted else sql.lock_used
            row = _one(cur, lock, (requirement.key,))
            state = CounterState() if row is None else CounterState(*row)
            if state.used < requirement.at_least:
                raise _Unmet(CountResult(ok=False, unmet=requirement, state=state))
        used, reserved = (0, quantity) if held else (quantity, 0)
        reclaimed: set[str] = set()
        while True:
            failed, epochs = self._count_all(cur, request.counters, used, reserved, savepoint=slow)
            if failed is None:
                break
            if not slow:
                raise _Refused(failed)
            if failed.key in reclaimed:
                raise _Refused(failed, self._state(cur, failed.key))
            self._reclaim(cur, failed.key, request.at)
            reclaimed.add(failed.key)
        counted_in = epochs if any(epochs) else None
        if slow:  # the ledger line after those of the holds it reclaimed
            if counted_in is not None:
                cur.execute(sql.set_epochs, (counted_in, request.operation_id))
            line = (request.operation_id, request.user_id, request.promotion, request.code)
            cur.execute(sql.append, (request.at, event, *line, quantity, key, deltas))
        else:
            version = (
                request.version,
                request.version,
                request.versioned,
                request.absent_ok,
                request.versioned,
                request.code,
                request.code,
                request.promotion,
            )
            cur.execute(sql.record, (*operation, counted_in, *version, request.at, event, deltas))
            if cur.rowcount == 0:  # counted by an earlier try, or stale: the slow path tells
                raise _NotRecorded
        if held:
            cur.executemany(
                sql.add_hold, [(k, request.expires_at, request.operation_id) for k in keys]
            )
        return _COUNTED

    def _count_all(
        self,
        cur: psycopg.Cursor[Any],
        specs: Sequence[CounterSpec],
        used: int,
        reserved: int,
        *,
        savepoint: bool,
    ) -> tuple[CounterSpec | None, list[int]]:
        """Count every counter, in order: the first that refuses, or None, and the epochs of
        those counted. With `savepoint`, a refusal undoes the counts made before it and
        leaves the transaction usable."""
        connection = cur.connection
        epochs: list[int] = []
        try:
            with connection.transaction() if savepoint else _nothing():
                for spec in specs:
                    epoch = self._count_one(cur, spec, used, reserved)
                    if epoch is None:
                        raise _Refused(spec)
                    epochs.append(epoch)
        except _Refused as refused:
            if savepoint:
                return refused.spec, epochs
            raise
        return None, epochs

    def _count_one(
        self, cur: psycopg.Cursor[Any], spec: CounterSpec, used: int, reserved: int
    ) -> int | None:
        """Add to one counter if its limit allows: its epoch, or None (nothing written)."""
        limit = spec.limit
        # A new row over its limit at once: only an existing row's extra could allow that.
        if (
            limit is not None
            and used + reserved > limit
            and _one(cur, self._sql.exists, (spec.key,)) is None
        ):
            return None
        row = _one(cur, self._sql.count, (spec.key, used, reserved, limit))
        return None if row is None else int(row[0])

    def _reclaim(self, cur: psycopg.Cursor[Any], key: str, at: datetime) -> None:
        cur.execute(self._sql.expired_holds, (key, at))
        for (operation_id,) in cur.fetchall():
            self._expire(cur, operation_id, at)

    def _change(
        self,
        cur: psycopg.Cursor[Any],
        keys: list[str],
        epochs: list[int] | None,
        used: int,
        reserved: int,
    ) -> list[list[Any]]:
        """Add `used` and `reserved` to each counter still in the epoch the operation was
        counted in; the ledger deltas (0 for a counter a reset has forgiven)."""
        deltas: list[list[Any]] = []
        for index, key in enumerate(keys):
            epoch = 0 if epochs is None else epochs[index]
            cur.execute(self._sql.change, (used, reserved, key, epoch))
            deltas.append([key, used, reserved, 0] if cur.rowcount else [key, 0, 0, 0])
        return deltas

    def _expire(self, cur: psycopg.Cursor[Any], operation_id: str, at: datetime) -> None:
        row = _one(cur, self._sql.mark_expired, (operation_id,))
        if row is None:
            return
        quantity, keys, user_id, promotion, code, key, epochs = row
        deltas = self._change(cur, keys, epochs, 0, -quantity)
        cur.execute(self._sql.drop_holds, (operation_id,))
        cur.execute(
            self._sql.append,
            (
                at,
                "expire",
                operation_id,
                user_id,
                promotion,
                code,
                quantity,
                key,
                json.dumps(deltas),
            ),
        )

    def settle(self, action: SettleAction, operation_id: str, at: datetime) -> SettleResult:
        """See `CounterStore.settle`."""
        return self._transact(lambda cur: self._settle(cur, action, operation_id, at))

    def _settle(
        self, cur: psycopg.Cursor[Any], action: SettleAction, operation_id: str, at: datetime
    ) -> SettleResult:
        sql = self._sql
        row = _one(cur, sql.operation, (operation_id,))
        if row is None:
            return SettleResult(ok=False, status=None)
        status, expires_at, quantity, keys, user_id, promotion, code, key, epochs = row
        if status == "held" and expires_at <= at:
            self._expire(cur, operation_id, at)
            status = "expired"
        new_status = status
        deltas: list[list[Any]] = []
        if action is SettleAction.COMMIT and status == "held":
            deltas = self._change(cur, keys, epochs, quantity, -quantity)
            new_status = "committed"
        elif action is SettleAction.RELEASE and status == "held":
            deltas = self._change(cur, keys, epochs, 0, -quantity)
            new_status = "released"
        elif action is SettleAction.CANCEL and status == "committed":
            deltas = self._change(cur, keys, epochs, -quantity, 0)
            new_status = "cancelled"
        if new_status != status:
            cur.execute(sql.set_status, (new_status, operation_id))
            cur.execute(sql.drop_holds, (operation_id,))
            cur.execute(
                sql.append,
                (
                    at,
                    action.value,
                    operation_id,
                    user_id,
                    promotion,
                    code,
                    quantity,
                    key,
                    json.dumps(deltas),
                ),
            )
        return SettleResult(
            ok=Status(new_status) in SETTLED[action],
            status=Status(new_status),
            changed=new_status != status,
            quantity=quantity,
            promotion=promotion,
            user_id=user_id,
            code=code,
        )

    def _state(self, cur: psycopg.Cursor[Any], key: str) -> CounterState:
        row = _one(cur, self._sql.state, (key,))
        return CounterState() if row is None else CounterState(*row)

    def counter(self, key: str, at: datetime) -> CounterState:
        """See `CounterStore.counter`."""

        def work(cur: psycopg.Cursor[Any]) -> CounterState:
            self._reclaim(cur, key, at)
            return self._state(cur, key)

        return self._transact(work)

    def _once(
        self, work: Callable[[psycopg.Cursor[Any]], str]
    ) -> Callable[[psycopg.Cursor[Any]], str]:
        """Make an admin change idempotent by a one-use token: a re-run after a lost commit
        reply returns the first reply instead of applying the change again."""
        token = secrets.token_hex(12)

        def once(cur: psycopg.Cursor[Any]) -> str:
            kept = _one(cur, self._sql.once_reply, (token,))
            if kept is not None:
                return str(kept[0])
            reply = work(cur)
            cur.execute(self._sql.once_keep, (token, reply))
            return reply

        return once

    def adjust(self, key: str, limit: int, available: int, at: datetime) -> CounterState | None:
        """See `CounterStore.adjust`."""

        def work(cur: psycopg.Cursor[Any]) -> str:
            self._reclaim(cur, key, at)
            state = self._state(cur, key)
            extra = available - limit + state.used + state.reserved
            if limit + extra > COUNT_MAX:
                return "null"
            cur.execute(self._sql.set_extra, (key, extra, limit))
            self._append_admin(cur, "adjust", at, [[key, 0, 0, extra - state.extra]])
            return json.dumps([state.used, state.reserved, extra, limit])

        found = json.loads(self._transact(self._once(work)))
        return None if found is None else CounterState(*found)

    def add_extra(self, key: str, limit: int, change: int, at: datetime) -> CounterState | None:
        """See `CounterStore.add_extra`."""

        def work(cur: psycopg.Cursor[Any]) -> str:
            self._reclaim(cur, key, at)
            state = self._state(cur, key)
            total = limit + state.extra + change
            if total - state.used - state.reserved < 0 or total > COUNT_MAX:
                return "null"
            cur.execute(self._sql.set_extra, (key, state.extra + change, limit))
            self._append_admin(cur, "adjust", at, [[key, 0, 0, change]])
            return json.dumps([state.used, state.reserved, state.extra + change, limit])

        found = json.loads(self._transact(self._once(work)))
        return None if found is None else CounterState(*found)

    def reset(self, prefix: str, at: datetime, *, exact: bool = False) -> int:
        """See `CounterStore.reset`."""
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern += "" if exact else "%"

        def work(cur: psycopg.Cursor[Any]) -> str:
            cur.execute(self._sql.reset, (pattern,))
            rows = cur.fetchall()
            if rows:
                self._append_admin(cur, "reset", at, [[k, -u, -r, -x] for k, u, r, x in rows])
            return str(len(rows))

        return int(self._transact(self._once(work)))

    def _append_admin(
        self, cur: psycopg.Cursor[Any], event: str, at: datetime, deltas: list[list[Any]]
    ) -> None:
        cur.execute(
            self._sql.append, (at, event, None, None, None, None, 0, None, json.dumps(deltas))
        )

    def counters(self) -> dict[str, CounterState]:
        """See `CounterStore.counters`."""

        def work(cur: psycopg.Cursor[Any]) -> list[Any]:
            cur.execute(self._sql.all_counters)
            return cur.fetchall()

        return _counters(self._transact(work, read=True))

    def counters_with_prefix(self, prefix: str) -> dict[str, CounterState]:
        """See `CounterStore.counters_with_prefix` (a range of the "C"-collated key index)."""

        def work(cur: psycopg.Cursor[Any]) -> list[Any]:
            cur.execute(self._sql.counters_with_prefix, (prefix, prefix + "\U0010ffff"))
            return cur.fetchall()

        found = _counters(self._transact(work, read=True))
        return {key: state for key, state in found.items() if key.startswith(prefix)}

    def audit(self) -> tuple[list[LedgerEntry], dict[str, CounterState]]:
        """See `LedgerStore.audit`: one REPEATABLE READ transaction reads both."""

        def work(cur: psycopg.Cursor[Any]) -> tuple[list[Any], list[Any]]:
            if self._embedded is None:  # a caller's transaction keeps its own isolation
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cur.execute(self._sql.ledger)
            ledger = cur.fetchall()
            cur.execute(self._sql.all_counters)
            return ledger, cur.fetchall()

        ledger, counters = self._transact(work)
        return _entries(ledger), _counters(counters)

    # -- idempotency --------------------------------------------------------------------------

    def remember(self, key: str, fingerprint: str, result: str) -> str:
        """See `IdempotencyStore.remember`."""

        def work(cur: psycopg.Cursor[Any]) -> str:
            cur.execute(self._sql.claim_key, (key, fingerprint, result))
            if cur.rowcount == 1:
                return result
            kept = _one(cur, self._sql.recall, (key,))
            assert kept is not None
            if kept[0] != fingerprint:
                raise IdempotencyConflict(key)
            return str(kept[1])

        return self._transact(work)

    def recall(self, key: str, fingerprint: str) -> str | None:
        """See `IdempotencyStore.recall`."""
        kept = self._transact(lambda cur: _one(cur, self._sql.recall, (key,)), read=True)
        if kept is None:
            return None
        if kept[0] != fingerprint:
            raise IdempotencyConflict(key)
        return str(kept[1])

    # -- ledger, codes, promotions ------------------------------------------------------------

    def ledger(self) -> list[LedgerEntry]:
        """See `LedgerStore.ledger`."""

        def work(cur: psycopg.Cursor[Any]) -> list[Any]:
            cur.execute(self._sql.ledger)
            return cur.fetchall()

        return _entries(self._transact(work, read=True))

    def add_codes(self, ref: str, codes: Sequence[str]) -> tuple[str, ...]:
        """See `CodeStore.add_codes`."""
        return self.add_code_sets([(ref, codes)])[0]

    def add_code_sets(
        self, assignments: Sequence[tuple[str, Sequence[str]]]
    ) -> list[tuple[str, ...]]:
        """See `CodeStore.add_code_sets`: one transaction."""

        def work(cur: psycopg.Cursor[Any]) -> str:
            answers = []
            for ref, codes in assignments:
                cur.execute(self._sql.add_codes, (ref, list(codes)))
                added = {row[0] for row in cur.fetchall()}
                seen: set[str] = set()
                taken = []
                for code in codes:  # a code repeated in `codes` is taken by its first copy
                    if code in added and code not in seen:
                        seen.add(code)
                    else:
                        taken.append(code)
                answers.append(taken)
            return json.dumps(answers)

        return [tuple(taken) for taken in json.loads(self._transact(self._once(work)))]

    def remove_codes(self, ref: str, codes: Sequence[str]) -> tuple[str, ...]:
        """See `CodeStore.remove_codes`."""

        def work(cur: psycopg.Cursor[Any]) -> str:
            cur.execute(self._sql.remove_codes, (ref, list(codes)))
            removed = {row[0] for row in cur.fetchall()}
            return json.dumps([code for code in codes if code in removed])

        return tuple(json.loads(self._transact(self._once(work))))

    def code_owner(self, code: str) -> str | None:
        """See `CodeStore.code_owner`."""
        row = self._transact(lambda cur: _one(cur, self._sql.code_owner, (code,)), read=True)
        return None if row is None else str(row[0])

    def code_owners(self, codes: Sequence[str]) -> dict[str, str]:
        """See `CodeStore.code_owners`."""

        def work(cur: psycopg.Cursor[Any]) -> dict[str, str]:
            cur.execute(self._sql.code_owners, (list(codes),))
            return dict(cur.fetchall())

        return self._transact(work, read=True)

    def code_map(self) -> dict[str, str]:
        """See `CodeStore.code_map`."""

        def work(cur: psycopg.Cursor[Any]) -> dict[str, str]:
            cur.execute(self._sql.code_map)
            return dict(cur.fetchall())

        return self._transact(work, read=True)

    def codes(self, ref: str, offset: int = 0, limit: int | None = None) -> list[str]:
        """See `CodeStore.codes`."""

        def work(cur: psycopg.Cursor[Any]) -> list[str]:
            cur.execute(self._sql.codes, (ref, limit, offset))
            return [row[0] for row in cur.fetchall()]

        return self._transact(work, read=True)

    def code_count(self, ref: str) -> int:
        """See `CodeStore.code_count`."""
        row = self._transact(lambda cur: _one(cur, self._sql.code_count, (ref,)), read=True)
        return int(row[0])

    def put_promotion(self, ref: str, document: str) -> None:
        """See `PromotionStore.put_promotion`."""
        self.put_promotions([(ref, document)])

    def put_promotions(self, documents: Sequence[tuple[str, str]]) -> None:
        """See `PromotionStore.put_promotions`: one transaction."""
        rows = [(ref, document, document_version(document)) for ref, document in documents]
        self._transact(lambda cur: cur.executemany(self._sql.put_promotion, rows))

    def swap_promotion(self, ref: str, expected: str | None, document: str) -> bool:
        """See `PromotionStore.swap_promotion`."""
        version = document_version(document)

        def work(cur: psycopg.Cursor[Any]) -> str:
            if expected is None:  # a row lock cannot guard a row that does not exist yet
                cur.execute(self._sql.add_promotion, (ref, document, version))
                return "true" if cur.rowcount == 1 else "false"
            current = _one(cur, self._sql.lock_version, (ref,))
            if current is None or current[0] != expected:
                return "false"
            cur.execute(self._sql.put_promotion, (ref, document, version))
            return "true"

        return bool(json.loads(self._transact(self._once(work))))

    def retire_promotion(self, ref: str, expected: str, document: str) -> int | None:
        """See `PromotionStore.retire_promotion`."""

        def work(cur: psycopg.Cursor[Any]) -> str:
            current = _one(cur, self._sql.lock_version, (ref,))
            if current is None or current[0] != expected:
                return "null"
            cur.execute(self._sql.put_promotion, (ref, document, document_version(document)))
            cur.execute(self._sql.free_codes, (ref,))
            return str(cur.rowcount)

        freed = json.loads(self._transact(self._once(work)))
        return None if freed is None else int(freed)

    def promotion(self, ref: str) -> str | None:
        """See `PromotionStore.promotion`."""
        row = self._transact(lambda cur: _one(cur, self._sql.promotion, (ref,)), read=True)
        return None if row is None else str(row[0])

    def promotion_version(self, ref: str) -> str | None:
        """See `PromotionStore.promotion_version`."""
        row = self._transact(lambda cur: _one(cur, self._sql.version_of, (ref,)), read=True)
        return None if row is None else str(row[0])

    def promotion_refs(self, prefix: str = "") -> list[str]:
        """See `PromotionStore.promotion_refs`."""

        def work(cur: psycopg.Cursor[Any]) -> list[str]:
            cur.execute(self._sql.promotion_refs, (prefix,))
            return [row[0] for row in cur.fetchall()]

        return self._transact(work, read=True)

    def promotion_documents(self, prefix: str = "") -> dict[str, str]:
        """See `PromotionStore.promotion_documents`."""

        def work(cur: psycopg.Cursor[Any]) -> dict[str, str]:
            cur.execute(self._sql.promotion_documents, (prefix,))
            return {row[0]: row[1] for row in cur.fetchall()}

        return self._transact(work, read=True)

    def close(self) -> None:
        """Close the pool (a caller's connection stays open: it is the caller's)."""
        if self._pid != os.getpid():  # a child closes only what it opened
            if self._pool is not None:
                _ABANDONED.append(self._pool)
            self._pool = None
        if self._pool is not None:
            self._pool.close()


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _check_url_options(url: str) -> None:
    """Refuse query options libpq does not know, naming them and the known ones (libpq would
    only fail at connect time)."""
    known = _libpq_options()
    for name, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if name not in known:
            raise ValidationError.single(
                "url",
                "options libpq knows (" + ", ".join(sorted(known)) + ")",
                f"unknown option {name}",
            )


def _counters(rows: list[Any]) -> dict[str, CounterState]:
    return {row[0]: CounterState(*row[1:]) for row in rows}


def _entries(rows: list[Any]) -> list[LedgerEntry]:
    return [
        LedgerEntry(
            seq=row[0],
            at=row[1],
            event=row[2],
            operation_id=row[3],
            user_id=row[4],
            promotion=row[5],
            code=row[6],
            quantity=row[7],
            idempotency_key=row[8],
            deltas=tuple((d[0], d[1], d[2], d[3]) for d in row[9]),
        )
        for row in rows
    ]


def _one(cur: psycopg.Cursor[Any], query: str, params: Sequence[Any] = ()) -> Any:
    cur.execute(query, params)
    return cur.fetchone()


def _create(connection: psycopg.Connection[Any], schema: str, text: str) -> None:
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"liveops:{schema}",))
        connection.execute(text)


class _Statements:
    """Every statement the store runs, with the schema's name filled in once."""

    def __init__(self, schema: str) -> None:
        s = schema
        self.version = f"SELECT version FROM {s}.schema_version"
        self.claim_key = (
            f"INSERT INTO {s}.idempotency (key, fingerprint, result) VALUES (%s, %s, %s)"
            " ON CONFLICT (key) DO NOTHING"
        )
        self.recall = f"SELECT fingerprint, result FROM {s}.idempotency WHERE key = %s"
        self.claim_operation = (
            f"INSERT INTO {s}.operations (id, status, expires_at, quantity, counters, user_id,"
            " promotion, code, idempotency_key, nonce)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING"
        )
        self.nonce_of = f"SELECT nonce FROM {s}.operations WHERE id = %s"
        self.set_epochs = f"UPDATE {s}.operations SET epochs = %s WHERE id = %s"
        # The operation's row and its ledger line in one statement: nothing when it exists
        # or when the promotion's version is not the one evaluated.
        self.record = (
            f"WITH op AS (INSERT INTO {s}.operations (id, status, expires_at, quantity,"
            " counters, user_id, promotion, code, idempotency_key, nonce, epochs)"
            " SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::bigint[]"
            f" WHERE (%s::text IS NULL OR %s = (SELECT version FROM {s}.promotions WHERE ref = %s)"
            f" OR (%s AND NOT EXISTS (SELECT 1 FROM {s}.promotions WHERE ref = %s)))"
            f" AND (%s::text IS NULL OR EXISTS (SELECT 1 FROM {s}.codes"
            " WHERE code = %s AND promotion = %s))"
            " ON CONFLICT (id) DO NOTHING"
            " RETURNING id, user_id, promotion, code, quantity, idempotency_key)"
            f" INSERT INTO {s}.ledger (at, event, operation_id, user_id, promotion, code,"
            " quantity, idempotency_key, deltas)"
            " SELECT %s, %s, id, user_id, promotion, code, quantity, idempotency_key,"
            " %s::jsonb FROM op"
        )
        self.exists = f"SELECT 1 FROM {s}.counters WHERE key = %s"
        self.count = (
            f"INSERT INTO {s}.counters AS c (key, used, reserved, lim) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (key) DO UPDATE SET used = c.used + excluded.used,"
            " reserved = c.reserved + excluded.reserved, lim = excluded.lim"
            " WHERE excluded.lim IS NULL"
            " OR c.used + c.reserved + excluded.used + excluded.reserved <= excluded.lim + c.extra"
            " RETURNING c.epoch"
        )
        self.add_hold = (
            f"INSERT INTO {s}.holds (counter_key, expires_at, operation_id) VALUES (%s, %s, %s)"
        )
        self.append = (
            f"INSERT INTO {s}.ledger (at, event, operation_id, user_id, promotion, code,"
            " quantity, idempotency_key, deltas) VALUES (%s, %s, %s, %s, %s, %s, %s, %s,"
            " %s::jsonb)"
        )
        self.expired_holds = (
            f"SELECT DISTINCT operation_id FROM {s}.holds"
            " WHERE counter_key = %s AND expires_at <= %s ORDER BY operation_id"
        )
        self.mark_expired = (
            f"UPDATE {s}.operations SET status = 'expired' WHERE id = %s AND status = 'held'"
            " RETURNING quantity, counters, user_id, promotion, code, idempotency_key, epochs"
        )
        self.change = (
            f"UPDATE {s}.counters SET used = used + %s, reserved = reserved + %s"
            " WHERE key = %s AND epoch = %s"
        )
        self.drop_holds = f"DELETE FROM {s}.holds WHERE operation_id = %s"
        self.operation = (
            f"SELECT status, expires_at, quantity, counters, user_id, promotion, code,"
            f" idempotency_key, epochs FROM {s}.operations WHERE id = %s FOR UPDATE"
        )
        self.set_status = f"UPDATE {s}.operations SET status = %s WHERE id = %s"
        self.state = f"SELECT used, reserved, extra, lim FROM {s}.counters WHERE key = %s"
        self.lock_used = f"{self.state} FOR SHARE"
        self.lock_for_update = f"{self.state} FOR UPDATE"
        self.counters_with_prefix = (
            f"SELECT key, used, reserved, extra, lim FROM {s}.counters WHERE key >= %s AND key < %s"
        )
        self.set_extra = (
            f"INSERT INTO {s}.counters AS c (key, extra, lim) VALUES (%s, %s, %s)"
            " ON CONFLICT (key) DO UPDATE SET extra = excluded.extra, lim = excluded.lim"
        )
        self.reset = (
            f"UPDATE {s}.counters AS c SET used = 0, reserved = 0, extra = 0,"
            f" epoch = c.epoch + 1 FROM (SELECT key, used, reserved, extra FROM {s}.counters"
            " WHERE key LIKE %s AND (used != 0 OR reserved != 0 OR extra != 0)"
            " ORDER BY key FOR UPDATE) AS old"
            " WHERE c.key = old.key RETURNING c.key, old.used, old.reserved, old.extra"
        )
        self.all_counters = f"SELECT key, used, reserved, extra, lim FROM {s}.counters"
        self.once_reply = f"SELECT reply FROM {s}.once WHERE token = %s"
        self.once_keep = (
            f"WITH old AS (DELETE FROM {s}.once WHERE created < now() - interval '1 day')"
            f" INSERT INTO {s}.once (token, reply) VALUES (%s, %s)"
        )
        self.ledger = (
            f"SELECT seq, at, event, operation_id, user_id, promotion, code, quantity,"
            f" idempotency_key, deltas FROM {s}.ledger ORDER BY seq"
        )
        self.add_codes = (
            f"INSERT INTO {s}.codes (code, promotion) SELECT DISTINCT code, %s::text"
            " FROM unnest(%s::text[]) AS code ON CONFLICT (code) DO NOTHING RETURNING code"
        )
        self.code_owner = f"SELECT promotion FROM {s}.codes WHERE code = %s"
        self.codes = (
            f"SELECT code FROM {s}.codes WHERE promotion = %s ORDER BY code LIMIT %s OFFSET %s"
        )
        self.code_owners = f"SELECT code, promotion FROM {s}.codes WHERE code = ANY(%s::text[])"
        self.code_map = f"SELECT code, promotion FROM {s}.codes"
        self.code_count = f"SELECT count(*) FROM {s}.codes WHERE promotion = %s"
        self.remove_codes = (
            f"DELETE FROM {s}.codes WHERE promotion = %s AND code = ANY(%s::text[]) RETURNING code"
        )
        self.free_codes = f"DELETE FROM {s}.codes WHERE promotion = %s"
        self.add_promotion = (
            f"INSERT INTO {s}.promotions (ref, document, version) VALUES (%s, %s, %s)"
            " ON CONFLICT (ref) DO NOTHING"
        )
        self.lock_version = f"SELECT version FROM {s}.promotions WHERE ref = %s FOR UPDATE"
        self.promotion_documents = (
            f"SELECT ref, document FROM {s}.promotions WHERE starts_with(ref, %s)"
        )
        self.put_promotion = (
            f"INSERT INTO {s}.promotions (ref, document, version) VALUES (%s, %s, %s)"
            " ON CONFLICT (ref) DO UPDATE SET document = excluded.document,"
            " version = excluded.version"
        )
        self.version_of = f"SELECT version FROM {s}.promotions WHERE ref = %s"
        self.promotion = f"SELECT document FROM {s}.promotions WHERE ref = %s"
        self.promotion_refs = (
            f"SELECT ref FROM {s}.promotions WHERE starts_with(ref, %s) ORDER BY ref"
        )
