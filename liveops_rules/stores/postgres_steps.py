"""What the PostgreSQL stores run, written once for the sync and the async driver.

An operation is a generator of `Transaction`s: each holds a unit of work (a generator of `Sql`
statements that is sent each statement's answer) and whether it only reads. A driver runs each
transaction on a connection, again from the start when `verdict` says the failure may pass
(a lost connection, a deadlock, a serialization failure), and sends the work's result back to
the operation (or throws its exception in). `PostgresStore` (psycopg) and `AsyncPostgresStore`
(psycopg's async connections) are the drivers; the statements, their order and the reading of
their answers exist here alone.
"""

from __future__ import annotations

import collections
import json
import logging
import re
import secrets
from collections.abc import Callable, Generator, Sequence
from datetime import datetime
from importlib import resources
from typing import Any, NamedTuple, TypeAlias, TypeVar
from urllib.parse import parse_qsl, urlsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import PoolTimeout

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
    STORE_OPERATIONS,
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

__all__ = [
    "OPERATIONS",
    "POOL_LOG",
    "SCHEMA_VERSION",
    "Operation",
    "PostgresSettings",
    "PostgresSteps",
    "Sql",
    "Statements",
    "T",
    "Transaction",
    "Work",
    "check_schema_name",
    "check_url_options",
    "probe_failure",
    "schema_sql",
    "transient",
    "verdict",
]

SCHEMA_VERSION = 2

T = TypeVar("T")
"""The result of an operation or a unit of work."""
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_COUNTED = CountResult(ok=True)
_STALE = CountResult(ok=False, stale=True)
_CONFLICTS = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)


def transient(error: psycopg.Error) -> bool:
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


POOL_LOG = _RedactPasswords()
"""The filter on psycopg_pool's log: a driver adds each pool's URL to `POOL_LOG.urls`."""
logging.getLogger("psycopg.pool").addFilter(POOL_LOG)


def _libpq_options() -> frozenset[str]:
    return frozenset(option.keyword.decode() for option in psycopg.pq.Conninfo.get_defaults())


def schema_sql(schema: str = "liveops_rules") -> str:
    """The SQL that creates the store's tables in `schema` (idempotent)."""
    check_schema_name(schema)
    text = resources.files("liveops_rules.stores").joinpath("postgres_schema.sql").read_text()
    return text.replace("{schema}", f'"{schema}"')


def check_schema_name(schema: object) -> None:
    """Refuse a schema name the store cannot quote safely."""
    if not isinstance(schema, str) or not _SCHEMA_NAME.fullmatch(schema):
        raise ValidationError.single(
            "schema", "a lower-case SQL name (a-z, 0-9, _; at most 63)", schema
        )


def check_url_options(url: str) -> None:
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


class PostgresSettings:
    """A PostgreSQL store's arguments, checked before any connection: either a `url` or a
    caller's `connection` (embedded), the `schema`, `pool_size`, `retry_window` and
    `connect_timeout` (seconds); `where` names the server for messages, with no password."""

    __slots__ = (
        "connect_timeout",
        "embedded",
        "pool_size",
        "retry_window",
        "schema",
        "url",
        "where",
    )

    def __init__(
        self,
        url: str | None,
        *,
        embedded: bool,
        schema: str,
        pool_size: int,
        retry_window: float,
        connect_timeout: float,
    ) -> None:
        check_schema_name(schema)
        if (url is None) != embedded:
            raise ValidationError.single(
                "url", "either a postgresql:// URL or connection=, not both", url
            )
        if type(pool_size) is not int or not 1 <= pool_size <= 1000:
            raise ValidationError.single("pool_size", "an integer from 1 to 1000", pool_size)
        self.retry_window = check_seconds("retry_window", retry_window)
        self.connect_timeout = check_seconds("connect_timeout", connect_timeout, low=1)
        self.schema = schema
        self.pool_size = pool_size
        self.embedded = embedded
        self.url = url
        self.where = "PostgreSQL (caller's connection)"
        if url is not None:
            if not isinstance(url, str) or not url.startswith(("postgresql://", "postgres://")):
                raise ValidationError.single("url", "a postgresql:// URL", redact_uri(str(url)))
            check_url_options(url)
            parts = urlsplit(url)
            self.where = f"PostgreSQL at {parts.hostname or 'localhost'}:{parts.port or 5432}"
            self.where += parts.path if parts.path not in ("", "/") else ""

    def pool_options(self) -> dict[str, Any]:
        """The options both drivers' pools are made with."""
        return {
            "min_size": 1,
            "max_size": self.pool_size,
            "kwargs": {"autocommit": True, "connect_timeout": int(self.connect_timeout)},
            "timeout": self.connect_timeout,
            "open": False,
            "name": "liveops_rules",
        }

    def __repr__(self) -> str:
        where = "connection=..." if self.url is None else repr(redact_uri(self.url))
        return f"PostgresSettings({where}, schema={self.schema!r})"


# A refused connection carries no SQLSTATE (libpq gives only the server's message): these are
# the refusals no retry mends.
_REFUSED_FOR_GOOD = re.compile(
    r"FATAL:.*(does not exist|password authentication failed|no pg_hba\.conf entry"
    r"|not permitted to log in|permission denied for database)",
    re.DOTALL,
)


def probe_failure(
    error: psycopg.Error, where: str, url: str, *, expired: bool
) -> StoreError | None:
    """What a failed first connection means: the server's own reason when no retry can mend
    it (no such database or role, a refused password) or the window has passed; None to try
    again."""
    if transient(error) and not expired and not _REFUSED_FOR_GOOD.search(str(error)):
        return None
    text = redact_message(str(error).strip(), url)
    reason = text.splitlines()[-1] if text else type(error).__name__
    return StoreError(f"cannot connect to {where}: {reason}")


def verdict(
    error: psycopg.Error, settings: PostgresSettings, *, read: bool, expired: bool
) -> Exception | None:
    """What a transaction's failure means: the error to raise, or None to run it again (a
    lost connection, a deadlock or a serialization failure, while the window lasts and the
    transaction is the store's own)."""
    where = settings.where
    if isinstance(error, _CONFLICTS):
        if settings.embedded:
            return TransactionConflictError(
                f"{where}: {type(error).__name__} ({str(error).strip()}): roll "
                "your transaction back and run it again"
            )
        if expired:
            return StoreError(
                f"{where}: gave up after repeated conflicts "
                f"({type(error).__name__}) for {settings.retry_window:g} s"
            )
        return None
    if isinstance(error, pg_errors.UndefinedTable | pg_errors.InvalidSchemaName):
        return StoreError(
            f"{where} has no liveops_rules tables in schema {settings.schema!r}: "
            "create them with PostgresStore.create_schema(), postgres_schema.sql, "
            "or open the store with ?create_schema=true"
        )
    if not transient(error):
        return StoreError(f"{where} refused the operation: {error}")
    if settings.embedded:
        return StoreError(f"{where}: {error}")
    if not expired:
        return None
    if read:
        return StoreError(f"{where} is unreachable: {error}")
    return OutcomeUnknownError(
        f"{where} did not answer within {settings.retry_window:g} s "
        f"({error}); the operation may or may not have been applied"
    )


class Sql(NamedTuple):
    """One statement for a driver to run on the transaction's cursor, and what to answer:
    `kind` "rowcount" (the rows it changed), "one" (the first row or None), "all" (every
    row) or "many" (`params` is a list of parameter rows; answers None)."""

    kind: str
    query: str
    params: Any = None


Work: TypeAlias = Generator[Sql, Any, T]
"""A transaction's work: yields statements, is sent their answers, returns its result."""


class Transaction(NamedTuple):
    """A unit of work for a driver to run in one transaction (a savepoint when embedded),
    from the start again each time it is retried; a `read` is one statement run without
    BEGIN and COMMIT; `snapshot` reads run in one REPEATABLE READ READ ONLY transaction
    (a caller's transaction keeps its own isolation)."""

    work: Callable[[], Work[Any]]
    read: bool = False
    snapshot: bool = False


Operation: TypeAlias = Generator[Transaction, Any, T]
"""A store operation: yields transactions, is sent their results (or has their errors thrown
in), returns the operation's result."""


def _one(query: str, params: Any = None) -> Sql:
    return Sql("one", query, params)


def _all(query: str, params: Any = None) -> Sql:
    return Sql("all", query, params)


def _run(query: str, params: Any = None) -> Sql:
    return Sql("rowcount", query, params)


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


def _answer(sql: Sql) -> Work[Any]:
    """The work of one statement: its answer."""
    return (yield sql)


_SAVEPOINT = "SAVEPOINT liveops_count"
_ROLLBACK_TO = "ROLLBACK TO SAVEPOINT liveops_count"
_RELEASE = "RELEASE SAVEPOINT liveops_count"


OPERATIONS = STORE_OPERATIONS
"""The RedemptionStore methods the steps have (every one but `close`)."""


class PostgresSteps:
    """The PostgreSQL stores' operations as transactions of statements, for one schema: each
    method is the `RedemptionStore` method of the same name."""

    __slots__ = ("_sql", "settings")

    def __init__(self, settings: PostgresSettings) -> None:
        self.settings = settings
        self._sql = Statements(f'"{settings.schema}"')

    # -- the schema ---------------------------------------------------------------------------

    def check_version(self) -> Operation[None]:
        """Refuse tables of another version than this library's."""
        found = yield Transaction(lambda: _answer(_one(self._sql.version)), read=True)
        if found is None or found[0] != SCHEMA_VERSION:
            version = None if found is None else found[0]
            raise StoreError(
                f"{self.settings.where}: schema {self.settings.schema!r} has version {version}, "
                f"this library uses {SCHEMA_VERSION}: upgrade it with "
                "PostgresStore.create_schema() (or open the store with ?create_schema=true)"
            )

    # -- counting -----------------------------------------------------------------------------

    def count(self, request: CountRequest) -> Operation[CountResult]:
        """See `CounterStore.count`."""
        nonce = secrets.token_hex(8)  # this call's: a retry finds its own first try by it
        try:
            fast: CountResult = yield Transaction(lambda: self._count(request, nonce, slow=False))
            return fast
        except (_Refused, _NotRecorded):
            pass
        except _Unmet as unmet:
            return unmet.result
        # The slow path: free expired holds on each counter that refuses, then try again.
        try:
            slow: CountResult = yield Transaction(lambda: self._count(request, nonce, slow=True))
            return slow
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

    def _count(self, request: CountRequest, nonce: str, *, slow: bool) -> Work[CountResult]:
        """The fast path counts first and records the operation last (a retry whose first
        try committed finds its operation there and rolls back); the slow path claims the
        operation first, so that such a retry is not refused by its own first try."""
        sql = self._sql
        key = request.idempotency_key
        if key is not None:
            claimed = yield _run(sql.claim_key, (key, request.fingerprint, request.result))
            if claimed == 0:  # the key is taken: by this request (replay) or another
                kept = yield _one(sql.recall, (key,))
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
            if (yield _run(sql.claim_operation, operation)) == 0:
                found = yield _one(sql.nonce_of, (request.operation_id,))
                if found is not None and found[0] == nonce:
                    return _COUNTED  # this call's first try committed; its reply was lost
                raise OperationCollision(request.operation_id)
            if request.code is not None:
                owner = yield _one(sql.code_owner, (request.code,))
                if owner is None or owner[0] != request.promotion:
                    raise _Stale
            if request.version is not None:
                current = yield _one(sql.version_of, (request.versioned,))
                if (current is None and not request.absent_ok) or (
                    current is not None and current[0] != request.version
                ):
                    raise _Stale
        counted = {spec.key for spec in request.counters}
        for requirement in request.requires:  # locked: no cancel lowers it before we commit
            # A counter this count also changes is locked for the update at once: two counts
            # each holding a share lock would wait on each other to upgrade it (a deadlock).
            lock = sql.lock_for_update if requirement.key in counted else sql.lock_used
            row = yield _one(lock, (requirement.key,))
            state = CounterState() if row is None else CounterState(*row)
            if state.used < requirement.at_least:
                raise _Unmet(CountResult(ok=False, unmet=requirement, state=state))
        used, reserved = (0, quantity) if held else (quantity, 0)
        reclaimed: set[str] = set()
        while True:
            failed, epochs = yield from self._count_all(
                request.counters, used, reserved, savepoint=slow
            )
            if failed is None:
                break
            if not slow:
                raise _Refused(failed)
            if failed.key in reclaimed:
                raise _Refused(failed, (yield from self._state(failed.key)))
            yield from self._reclaim(failed.key, request.at)
            reclaimed.add(failed.key)
        counted_in = epochs if any(epochs) else None
        if slow:  # the ledger line after those of the holds it reclaimed
            if counted_in is not None:
                yield _run(sql.set_epochs, (counted_in, request.operation_id))
            line = (request.operation_id, request.user_id, request.promotion, request.code)
            yield _run(sql.append, (request.at, event, *line, quantity, key, deltas))
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
            recorded = yield _run(
                sql.record, (*operation, counted_in, *version, request.at, event, deltas)
            )
            if recorded == 0:  # counted by an earlier try, or stale: the slow path tells
                raise _NotRecorded
        if held:
            yield Sql(
                "many", sql.add_hold, [(k, request.expires_at, request.operation_id) for k in keys]
            )
        return _COUNTED

    def _count_all(
        self, specs: Sequence[CounterSpec], used: int, reserved: int, *, savepoint: bool
    ) -> Work[tuple[CounterSpec | None, list[int]]]:
        """Count every counter, in order: the first that refuses, or None, and the epochs of
        those counted. With `savepoint`, a refusal undoes the counts made before it and
        leaves the transaction usable."""
        epochs: list[int] = []
        if savepoint:
            yield _run(_SAVEPOINT)
        for spec in specs:
            epoch = yield from self._count_one(spec, used, reserved)
            if epoch is None:
                if not savepoint:
                    raise _Refused(spec)
                yield _run(_ROLLBACK_TO)
                yield _run(_RELEASE)
                return spec, epochs
            epochs.append(epoch)
        if savepoint:
            yield _run(_RELEASE)
        return None, epochs

    def _count_one(self, spec: CounterSpec, used: int, reserved: int) -> Work[int | None]:
        """Add to one counter if its limit allows: its epoch, or None (nothing written)."""
        limit = spec.limit
        # A new row over its limit at once: only an existing row's extra could allow that.
        if (
            limit is not None
            and used + reserved > limit
            and (yield _one(self._sql.exists, (spec.key,))) is None
        ):
            return None
        row = yield _one(self._sql.count, (spec.key, used, reserved, limit))
        return None if row is None else int(row[0])

    def _reclaim(self, key: str, at: datetime) -> Work[None]:
        for (operation_id,) in (yield _all(self._sql.expired_holds, (key, at))):
            yield from self._expire(operation_id, at)

    def _change(
        self, keys: list[str], epochs: list[int] | None, used: int, reserved: int
    ) -> Work[list[list[Any]]]:
        """Add `used` and `reserved` to each counter still in the epoch the operation was
        counted in; the ledger deltas (0 for a counter a reset has forgiven)."""
        deltas: list[list[Any]] = []
        for index, key in enumerate(keys):
            epoch = 0 if epochs is None else epochs[index]
            changed = yield _run(self._sql.change, (used, reserved, key, epoch))
            deltas.append([key, used, reserved, 0] if changed else [key, 0, 0, 0])
        return deltas

    def _expire(self, operation_id: str, at: datetime) -> Work[None]:
        row = yield _one(self._sql.mark_expired, (operation_id,))
        if row is None:
            return
        quantity, keys, user_id, promotion, code, key, epochs = row
        deltas = yield from self._change(keys, epochs, 0, -quantity)
        yield _run(self._sql.drop_holds, (operation_id,))
        yield _run(
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

    def settle(
        self, action: SettleAction, operation_id: str, at: datetime
    ) -> Operation[SettleResult]:
        """See `CounterStore.settle`."""
        settled: SettleResult = yield Transaction(lambda: self._settle(action, operation_id, at))
        return settled

    def _settle(self, action: SettleAction, operation_id: str, at: datetime) -> Work[SettleResult]:
        sql = self._sql
        row = yield _one(sql.operation, (operation_id,))
        if row is None:
            return SettleResult(ok=False, status=None)
        status, expires_at, quantity, keys, user_id, promotion, code, key, epochs = row
        if status == "held" and expires_at <= at:
            yield from self._expire(operation_id, at)
            status = "expired"
        new_status = status
        deltas: list[list[Any]] = []
        if action is SettleAction.COMMIT and status == "held":
            deltas = yield from self._change(keys, epochs, quantity, -quantity)
            new_status = "committed"
        elif action is SettleAction.RELEASE and status == "held":
            deltas = yield from self._change(keys, epochs, 0, -quantity)
            new_status = "released"
        elif action is SettleAction.CANCEL and status == "committed":
            deltas = yield from self._change(keys, epochs, -quantity, 0)
            new_status = "cancelled"
        if new_status != status:
            yield _run(sql.set_status, (new_status, operation_id))
            yield _run(sql.drop_holds, (operation_id,))
            line = (operation_id, user_id, promotion, code, quantity, key, json.dumps(deltas))
            yield _run(sql.append, (at, action.value, *line))
        return SettleResult(
            ok=Status(new_status) in SETTLED[action],
            status=Status(new_status),
            changed=new_status != status,
            quantity=quantity,
            promotion=promotion,
            user_id=user_id,
            code=code,
        )

    def _state(self, key: str) -> Work[CounterState]:
        row = yield _one(self._sql.state, (key,))
        return CounterState() if row is None else CounterState(*row)

    def counter(self, key: str, at: datetime) -> Operation[CounterState]:
        """See `CounterStore.counter`."""

        def work() -> Work[CounterState]:
            yield from self._reclaim(key, at)
            return (yield from self._state(key))

        state: CounterState = yield Transaction(work)
        return state

    def _once(self, work: Callable[[], Work[str]]) -> Transaction:
        """An admin change made idempotent by a one-use token: a re-run after a lost commit
        reply returns the first reply instead of applying the change again."""
        token = secrets.token_hex(12)

        def once() -> Work[str]:
            kept = yield _one(self._sql.once_reply, (token,))
            if kept is not None:
                return str(kept[0])
            reply = yield from work()
            yield _run(self._sql.once_keep, (token, reply))
            return reply

        return Transaction(once)

    def adjust(
        self, key: str, limit: int, available: int, at: datetime
    ) -> Operation[CounterState | None]:
        """See `CounterStore.adjust`."""

        def work() -> Work[str]:
            yield from self._reclaim(key, at)
            state = yield from self._state(key)
            extra = available - limit + state.used + state.reserved
            if limit + extra > COUNT_MAX:
                return "null"
            yield _run(self._sql.set_extra, (key, extra, limit))
            yield from self._append_admin("adjust", at, [[key, 0, 0, extra - state.extra]])
            return json.dumps([state.used, state.reserved, extra, limit])

        found = json.loads((yield self._once(work)))
        return None if found is None else CounterState(*found)

    def add_extra(
        self, key: str, limit: int, change: int, at: datetime
    ) -> Operation[CounterState | None]:
        """See `CounterStore.add_extra`."""

        def work() -> Work[str]:
            yield from self._reclaim(key, at)
            state = yield from self._state(key)
            total = limit + state.extra + change
            if total - state.used - state.reserved < 0 or total > COUNT_MAX:
                return "null"
            yield _run(self._sql.set_extra, (key, state.extra + change, limit))
            yield from self._append_admin("adjust", at, [[key, 0, 0, change]])
            return json.dumps([state.used, state.reserved, state.extra + change, limit])

        found = json.loads((yield self._once(work)))
        return None if found is None else CounterState(*found)

    def reset(self, prefix: str, at: datetime, *, exact: bool = False) -> Operation[int]:
        """See `CounterStore.reset`."""
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern += "" if exact else "%"

        def work() -> Work[str]:
            rows = yield _all(self._sql.reset, (pattern,))
            if rows:
                yield from self._append_admin("reset", at, [[k, -u, -r, -x] for k, u, r, x in rows])
            return str(len(rows))

        return int((yield self._once(work)))

    def _append_admin(self, event: str, at: datetime, deltas: list[list[Any]]) -> Work[None]:
        yield _run(
            self._sql.append, (at, event, None, None, None, None, 0, None, json.dumps(deltas))
        )

    def _read(self, sql: Sql) -> Operation[Any]:
        """One statement read outside a transaction: its answer."""
        return (yield Transaction(lambda: _answer(sql), read=True))

    def counters(self) -> Operation[dict[str, CounterState]]:
        """See `CounterStore.counters`."""
        return _counters((yield from self._read(_all(self._sql.all_counters))))

    def counters_with_prefix(self, prefix: str) -> Operation[dict[str, CounterState]]:
        """See `CounterStore.counters_with_prefix` (a range of the "C"-collated key index)."""
        query = _all(self._sql.counters_with_prefix, (prefix, prefix + "\U0010ffff"))
        found = _counters((yield from self._read(query)))
        return {key: state for key, state in found.items() if key.startswith(prefix)}

    def audit(self) -> Operation[tuple[list[LedgerEntry], dict[str, CounterState]]]:
        """See `LedgerStore.audit`: one REPEATABLE READ transaction reads both."""

        def work() -> Work[tuple[list[Any], list[Any]]]:
            ledger = yield _all(self._sql.ledger)
            return ledger, (yield _all(self._sql.all_counters))

        ledger, counters = yield Transaction(work, snapshot=True)
        return _entries(ledger), _counters(counters)

    # -- idempotency --------------------------------------------------------------------------

    def remember(self, key: str, fingerprint: str, result: str) -> Operation[str]:
        """See `IdempotencyStore.remember`."""

        def work() -> Work[str]:
            if (yield _run(self._sql.claim_key, (key, fingerprint, result))) == 1:
                return result
            kept = yield _one(self._sql.recall, (key,))
            assert kept is not None
            if kept[0] != fingerprint:
                raise IdempotencyConflict(key)
            return str(kept[1])

        return str((yield Transaction(work)))

    def recall(self, key: str, fingerprint: str) -> Operation[str | None]:
        """See `IdempotencyStore.recall`."""
        kept = yield from self._read(_one(self._sql.recall, (key,)))
        if kept is None:
            return None
        if kept[0] != fingerprint:
            raise IdempotencyConflict(key)
        return str(kept[1])

    # -- ledger, codes, promotions ------------------------------------------------------------

    def ledger(self) -> Operation[list[LedgerEntry]]:
        """See `LedgerStore.ledger`."""
        return _entries((yield from self._read(_all(self._sql.ledger))))

    def add_codes(self, ref: str, codes: Sequence[str]) -> Operation[tuple[str, ...]]:
        """See `CodeStore.add_codes`."""
        return (yield from self.add_code_sets([(ref, codes)]))[0]

    def add_code_sets(
        self, assignments: Sequence[tuple[str, Sequence[str]]]
    ) -> Operation[list[tuple[str, ...]]]:
        """See `CodeStore.add_code_sets`: one transaction."""

        def work() -> Work[str]:
            answers = []
            for ref, codes in assignments:
                added = {row[0] for row in (yield _all(self._sql.add_codes, (ref, list(codes))))}
                seen: set[str] = set()
                taken = []
                for code in codes:  # a code repeated in `codes` is taken by its first copy
                    if code in added and code not in seen:
                        seen.add(code)
                    else:
                        taken.append(code)
                answers.append(taken)
            return json.dumps(answers)

        return [tuple(taken) for taken in json.loads((yield self._once(work)))]

    def remove_codes(self, ref: str, codes: Sequence[str]) -> Operation[tuple[str, ...]]:
        """See `CodeStore.remove_codes`."""

        def work() -> Work[str]:
            rows = yield _all(self._sql.remove_codes, (ref, list(codes)))
            removed = {row[0] for row in rows}
            return json.dumps([code for code in codes if code in removed])

        return tuple(json.loads((yield self._once(work))))

    def code_owner(self, code: str) -> Operation[str | None]:
        """See `CodeStore.code_owner`."""
        row = yield from self._read(_one(self._sql.code_owner, (code,)))
        return None if row is None else str(row[0])

    def code_owners(self, codes: Sequence[str]) -> Operation[dict[str, str]]:
        """See `CodeStore.code_owners`."""
        return dict((yield from self._read(_all(self._sql.code_owners, (list(codes),)))))

    def code_map(self) -> Operation[dict[str, str]]:
        """See `CodeStore.code_map`."""
        return dict((yield from self._read(_all(self._sql.code_map))))

    def codes(self, ref: str, offset: int = 0, limit: int | None = None) -> Operation[list[str]]:
        """See `CodeStore.codes`."""
        rows = yield from self._read(_all(self._sql.codes, (ref, limit, offset)))
        return [row[0] for row in rows]

    def code_count(self, ref: str) -> Operation[int]:
        """See `CodeStore.code_count`."""
        return int((yield from self._read(_one(self._sql.code_count, (ref,))))[0])

    def put_promotion(self, ref: str, document: str) -> Operation[None]:
        """See `PromotionStore.put_promotion`."""
        yield from self.put_promotions([(ref, document)])

    def put_promotions(self, documents: Sequence[tuple[str, str]]) -> Operation[None]:
        """See `PromotionStore.put_promotions`: one transaction."""
        rows = [(ref, document, document_version(document)) for ref, document in documents]
        yield Transaction(lambda: _answer(Sql("many", self._sql.put_promotion, rows)))

    def swap_promotion(self, ref: str, expected: str | None, document: str) -> Operation[bool]:
        """See `PromotionStore.swap_promotion`."""
        version = document_version(document)

        def work() -> Work[str]:
            if expected is None:  # a row lock cannot guard a row that does not exist yet
                added = yield _run(self._sql.add_promotion, (ref, document, version))
                return "true" if added == 1 else "false"
            current = yield _one(self._sql.lock_version, (ref,))
            if current is None or current[0] != expected:
                return "false"
            yield _run(self._sql.put_promotion, (ref, document, version))
            return "true"

        return bool(json.loads((yield self._once(work))))

    def retire_promotion(self, ref: str, expected: str, document: str) -> Operation[int | None]:
        """See `PromotionStore.retire_promotion`."""

        def work() -> Work[str]:
            current = yield _one(self._sql.lock_version, (ref,))
            if current is None or current[0] != expected:
                return "null"
            yield _run(self._sql.put_promotion, (ref, document, document_version(document)))
            return str((yield _run(self._sql.free_codes, (ref,))))

        freed = json.loads((yield self._once(work)))
        return None if freed is None else int(freed)

    def promotion(self, ref: str) -> Operation[str | None]:
        """See `PromotionStore.promotion`."""
        row = yield from self._read(_one(self._sql.promotion, (ref,)))
        return None if row is None else str(row[0])

    def promotion_version(self, ref: str) -> Operation[str | None]:
        """See `PromotionStore.promotion_version`."""
        row = yield from self._read(_one(self._sql.version_of, (ref,)))
        return None if row is None else str(row[0])

    def promotion_refs(self, prefix: str = "") -> Operation[list[str]]:
        """See `PromotionStore.promotion_refs`."""
        rows = yield from self._read(_all(self._sql.promotion_refs, (prefix,)))
        return [row[0] for row in rows]

    def promotion_documents(self, prefix: str = "") -> Operation[dict[str, str]]:
        """See `PromotionStore.promotion_documents`."""
        rows = yield from self._read(_all(self._sql.promotion_documents, (prefix,)))
        return {row[0]: row[1] for row in rows}


class Statements:
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
