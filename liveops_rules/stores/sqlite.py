"""SQLiteStore: the embedded default, on the standard library's sqlite3.

One file, shared by threads (a connection each) and by processes. Every operation is one
`BEGIN IMMEDIATE` transaction, so writers queue on SQLite's lock and no check is ever made on
a stale read. WAL journal; `synchronous=FULL` by default, so a committed redemption survives a
power loss (`synchronous=NORMAL` is faster and survives a crash of the process, not of the
machine).

A writer waits up to `timeout` seconds for another's lock, then gets a `StoreError` that says
so. After `os.fork()` the child opens connections of its own (SQLite connections must not
cross a fork; the parent's are left untouched). `":memory:"` is one in-memory database shared
by the threads of this process, one operation at a time.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from liveops_rules.errors import StoreError, ValidationError
from liveops_rules.stores.bounds import COUNT_MAX
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

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    used INTEGER NOT NULL DEFAULT 0,
    reserved INTEGER NOT NULL DEFAULT 0,
    extra INTEGER NOT NULL DEFAULT 0,
    lim INTEGER,
    epoch INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    expires_us INTEGER,
    quantity INTEGER NOT NULL,
    counters TEXT NOT NULL,
    user_id TEXT NOT NULL,
    promotion TEXT NOT NULL,
    code TEXT,
    idempotency_key TEXT,
    epochs TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS holds (
    counter_key TEXT NOT NULL,
    expires_us INTEGER NOT NULL,
    operation_id TEXT NOT NULL,
    PRIMARY KEY (counter_key, expires_us, operation_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS holds_by_operation ON holds (operation_id);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    result TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ledger (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    operation_id TEXT,
    user_id TEXT,
    promotion TEXT,
    code TEXT,
    quantity INTEGER NOT NULL,
    idempotency_key TEXT,
    deltas TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS codes (code TEXT PRIMARY KEY, promotion TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS codes_by_promotion ON codes (promotion, code);
CREATE TABLE IF NOT EXISTS promotions (
    ref TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    version TEXT NOT NULL
) WITHOUT ROWID;
"""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COUNTED = CountResult(ok=True)
_STALE = CountResult(ok=False, stale=True)


def _micros(at: datetime) -> int:
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


_ABANDONED: list[sqlite3.Connection] = []
"""Connections a forked child inherited: never used, and never closed (closing one could
checkpoint and remove the parent's WAL files)."""

_MEMORY = (":memory:", "")


class SQLiteStore:
    """A RedemptionStore in one SQLite file (see the module's notes on durability)."""

    def __init__(self, path: str | Path, *, synchronous: str = "FULL", timeout: float = 60.0):
        if not isinstance(synchronous, str) or synchronous.upper() not in (
            "FULL",
            "NORMAL",
            "EXTRA",
        ):
            raise ValidationError.single("synchronous", "FULL, NORMAL or EXTRA", synchronous)
        if (
            not isinstance(timeout, int | float)
            or isinstance(timeout, bool)
            or not 0 <= timeout <= 3600
        ):
            raise ValidationError.single("timeout", "seconds from 0 to 3600", timeout)
        self.path = str(path)
        self._synchronous = synchronous.upper()
        self._timeout = float(timeout)
        self._pid = os.getpid()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        # An in-memory database exists once per connection: threads share one, in turn.
        self._shared: sqlite3.Connection | None = None
        self._serial: threading.RLock | None = threading.RLock() if self.path in _MEMORY else None
        with self._errors():
            self._connection().executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
        with self._transaction() as db:
            found = db.execute("SELECT version FROM schema_version").fetchone()
            if found is None:
                db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            elif found[0] in (1, 2):
                self._migrate(db, found[0])
            elif found[0] != SCHEMA_VERSION:
                raise ValidationError.single(
                    self.path, f"a store of schema version {SCHEMA_VERSION}", found[0]
                )

    @staticmethod
    def _migrate(db: sqlite3.Connection, version: int) -> None:
        """Version 2 keeps each promotion document's version beside it; version 3 each
        counter's epoch and the epochs an operation was counted in."""
        if version == 1:
            db.execute("ALTER TABLE promotions ADD COLUMN version TEXT NOT NULL DEFAULT ''")
            rows = db.execute("SELECT ref, document FROM promotions").fetchall()
            db.executemany(
                "UPDATE promotions SET version = ? WHERE ref = ?",
                [(document_version(document), ref) for ref, document in rows],
            )
        for table, column, declaration in (
            ("counters", "epoch", "INTEGER NOT NULL DEFAULT 0"),
            ("operations", "epochs", "TEXT"),  # NULL: every epoch 0
        ):
            columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            if column not in columns:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
        db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))

    # -- connections and transactions --------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._pid != os.getpid():
            self._forked()
        if self._shared is not None:
            return self._shared
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            try:
                db = sqlite3.connect(
                    self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
                )
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(f"PRAGMA synchronous={self._synchronous}")
                db.execute(f"PRAGMA busy_timeout={int(self._timeout * 1000)}")
            except sqlite3.Error as error:
                raise StoreError(f"cannot open SQLite store {self.path!r}: {error}") from None
            if self._serial is not None:
                self._shared = db
            else:
                self._local.db = db
            with self._all_lock:
                self._all.append(db)
        return db

    def _forked(self) -> None:
        """In a child after fork(): leave the parent's connections alone, open new ones."""
        with self._all_lock:
            _ABANDONED.extend(self._all)
            self._all = []
        self._local = threading.local()
        self._shared = None
        self._pid = os.getpid()
        self._all_lock = threading.Lock()
        if self._serial is not None:
            self._serial = threading.RLock()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """SQLite's errors as StoreErrors that name the store (a lock held past the busy
        timeout says so)."""
        try:
            yield
        except sqlite3.OperationalError as error:
            text = str(error)
            if "locked" in text or "busy" in text:
                raise StoreError(
                    f"SQLite store {self.path!r} stayed locked by another writer for more than "
                    f"the {self._timeout:g} s busy timeout ({text})"
                ) from None
            raise StoreError(f"SQLite store {self.path!r}: {text}") from None
        except sqlite3.Error as error:
            raise StoreError(f"SQLite store {self.path!r}: {error}") from None

    @contextmanager
    def _turn(self) -> Iterator[None]:
        """One operation at a time on a shared in-memory database (else nothing to wait for)."""
        if self._serial is None:
            yield
        else:
            with self._serial:
                yield

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """A connection for a read of one statement."""
        with self._turn(), self._errors():
            yield self._connection()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._turn(), self._errors():
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @staticmethod
    def _append(
        db: sqlite3.Connection,
        event: str,
        at: datetime,
        deltas: Sequence[tuple[str, int, int, int]],
        operation: tuple[str | None, str | None, str | None, str | None, int, str | None]
        | None = None,
    ) -> None:
        op_id, user_id, promotion, code, quantity, key = operation or (
            None,
            None,
            None,
            None,
            0,
            None,
        )
        db.execute(
            "INSERT INTO ledger (at, event, operation_id, user_id, promotion, code, quantity,"
            " idempotency_key, deltas) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                at.isoformat(),
                event,
                op_id,
                user_id,
                promotion,
                code,
                quantity,
                key,
                json.dumps(deltas),
            ),
        )

    @staticmethod
    def _change(
        db: sqlite3.Connection,
        keys: list[str],
        epochs: list[int],
        used: int,
        reserved: int,
    ) -> list[tuple[str, int, int, int]]:
        """Add `used` and `reserved` to each counter still in the epoch the operation was
        counted in; the ledger deltas (0 for a counter a reset has forgiven)."""
        deltas = []
        for key, epoch in zip(keys, epochs, strict=True):
            changed = db.execute(
                "UPDATE counters SET used = used + ?, reserved = reserved + ?"
                " WHERE key = ? AND epoch = ?",
                (used, reserved, key, epoch),
            ).rowcount
            deltas.append((key, used, reserved, 0) if changed else (key, 0, 0, 0))
        return deltas

    def _expire(self, db: sqlite3.Connection, operation_id: str, at: datetime) -> None:
        row = db.execute(
            "SELECT quantity, counters, user_id, promotion, code, idempotency_key, epochs"
            " FROM operations WHERE id = ? AND status = 'held'",
            (operation_id,),
        ).fetchone()
        if row is None:
            return
        quantity, counters, user_id, promotion, code, key, epochs = row
        keys = json.loads(counters)
        deltas = self._change(db, keys, _epochs(epochs, keys), 0, -quantity)
        db.execute("UPDATE operations SET status = 'expired' WHERE id = ?", (operation_id,))
        db.execute("DELETE FROM holds WHERE operation_id = ?", (operation_id,))
        self._append(
            db, "expire", at, deltas, (operation_id, user_id, promotion, code, quantity, key)
        )

    def _reclaim(self, db: sqlite3.Connection, key: str, at: datetime) -> None:
        expired = db.execute(
            "SELECT DISTINCT operation_id FROM holds WHERE counter_key = ? AND expires_us <= ?",
            (key, _micros(at)),
        ).fetchall()
        for (operation_id,) in expired:
            self._expire(db, operation_id, at)

    @staticmethod
    def _kept(db: sqlite3.Connection, key: str | None, fingerprint: str) -> str | None:
        if key is None:
            return None
        row = db.execute(
            "SELECT fingerprint, result FROM idempotency WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        if row[0] != fingerprint:
            raise IdempotencyConflict(key)
        return str(row[1])

    @staticmethod
    def _count_one(
        db: sqlite3.Connection, key: str, limit: int | None, used: int, reserved: int
    ) -> int | None:
        """Add to one counter if its limit allows: its epoch, or None (nothing written)."""
        # A new row over its limit at once: only an existing row's extra could allow that.
        if (
            limit is not None
            and used + reserved > limit
            and db.execute("SELECT 1 FROM counters WHERE key = ?", (key,)).fetchone() is None
        ):
            return None
        row = db.execute(
            "INSERT INTO counters (key, used, reserved, lim) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET used = used + excluded.used,"
            " reserved = reserved + excluded.reserved, lim = excluded.lim"
            " WHERE excluded.lim IS NULL"
            " OR used + reserved + excluded.used + excluded.reserved <= excluded.lim + extra"
            " RETURNING epoch",
            (key, used, reserved, limit),
        ).fetchone()
        return None if row is None else int(row[0])

    def _stale(self, db: sqlite3.Connection, request: CountRequest) -> bool:
        if request.code is not None:
            owner = db.execute(
                "SELECT promotion FROM codes WHERE code = ?", (request.code,)
            ).fetchone()
            if owner is None or owner[0] != request.promotion:
                return True
        if request.version is None:
            return False
        kept = self._version(db, request.versioned)
        return kept != request.version and not (kept is None and request.absent_ok)

    def count(self, request: CountRequest) -> CountResult:
        """See `CounterStore.count`."""
        with self._turn(), self._errors():
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                replayed = self._kept(db, request.idempotency_key, request.fingerprint)
                if replayed is not None:
                    db.execute("COMMIT")
                    return CountResult(ok=True, replayed=replayed)
                if self._stale(db, request):
                    db.execute("COMMIT")
                    return _STALE
                unmet = self._unmet(db, request)
                if unmet is not None:
                    db.execute("COMMIT")
                    return unmet
                failed, epochs = self._count_all(db, request)
                if failed is None:
                    self._record(db, request, epochs)
                    db.execute("COMMIT")
                    return _COUNTED
                db.execute("ROLLBACK")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        # The slow path: free the holds that expired on the counter that refused, try again.
        with self._transaction() as db:
            replayed = self._kept(db, request.idempotency_key, request.fingerprint)
            if replayed is not None:
                return CountResult(ok=True, replayed=replayed)
            if self._stale(db, request):
                return _STALE
            unmet = self._unmet(db, request)
            if unmet is not None:
                return unmet
            reclaimed: set[str] = set()
            while failed is not None and failed.key not in reclaimed:
                # Each counter that refuses may be full of expired holds of its own.
                self._reclaim(db, failed.key, request.at)
                reclaimed.add(failed.key)
                db.execute("SAVEPOINT counting")
                failed, epochs = self._count_all(db, request)
                if failed is None:
                    db.execute("RELEASE counting")
                    self._record(db, request, epochs)
                    return _COUNTED
                db.execute("ROLLBACK TO counting")
                db.execute("RELEASE counting")
            assert failed is not None
            row = db.execute(
                "SELECT used, reserved, extra FROM counters WHERE key = ?", (failed.key,)
            ).fetchone() or (0, 0, 0)
            return CountResult(
                ok=False, exhausted=failed, state=CounterState(row[0], row[1], row[2], failed.limit)
            )

    def _unmet(self, db: sqlite3.Connection, request: CountRequest) -> CountResult | None:
        """The first requirement whose counter has fewer uses than it needs, as a refusal."""
        for requirement in request.requires:
            state = self._state(db, requirement.key)
            if state.used < requirement.at_least:
                return CountResult(ok=False, unmet=requirement, state=state)
        return None

    @staticmethod
    def _version(db: sqlite3.Connection, ref: str) -> str | None:
        row = db.execute("SELECT version FROM promotions WHERE ref = ?", (ref,)).fetchone()
        return None if row is None else str(row[0])

    def _count_all(
        self, db: sqlite3.Connection, request: CountRequest
    ) -> tuple[CounterSpec | None, list[int]]:
        """Count every counter: the first that refuses (earlier ones stay written) or None,
        and the epochs of those counted."""
        held = request.expires_at is not None
        used, reserved = (0, request.quantity) if held else (request.quantity, 0)
        epochs: list[int] = []
        for spec in request.counters:
            epoch = self._count_one(db, spec.key, spec.limit, used, reserved)
            if epoch is None:
                return spec, epochs
            epochs.append(epoch)
        return None, epochs

    def _record(self, db: sqlite3.Connection, request: CountRequest, epochs: list[int]) -> None:
        """The operation's row, its holds, its ledger line and its idempotency record."""
        quantity = request.quantity
        held = request.expires_at is not None
        keys = [spec.key for spec in request.counters]
        expires = None if request.expires_at is None else _micros(request.expires_at)
        try:
            db.execute(
                "INSERT INTO operations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    request.operation_id,
                    "held" if held else "committed",
                    expires,
                    quantity,
                    json.dumps(keys),
                    request.user_id,
                    request.promotion,
                    request.code,
                    request.idempotency_key,
                    json.dumps(epochs) if any(epochs) else None,
                ),
            )
        except sqlite3.IntegrityError:
            raise OperationCollision(request.operation_id) from None
        if held:
            db.executemany(
                "INSERT INTO holds VALUES (?, ?, ?)",
                [(key, expires, request.operation_id) for key in keys],
            )
        self._append(
            db,
            "reserve" if held else "redeem",
            request.at,
            [(key, 0, quantity, 0) if held else (key, quantity, 0, 0) for key in keys],
            (
                request.operation_id,
                request.user_id,
                request.promotion,
                request.code,
                quantity,
                request.idempotency_key,
            ),
        )
        if request.idempotency_key is not None:
            db.execute(
                "INSERT INTO idempotency VALUES (?, ?, ?)",
                (request.idempotency_key, request.fingerprint, request.result),
            )

    def remember(self, key: str, fingerprint: str, result: str) -> str:
        """See `IdempotencyStore.remember`."""
        with self._transaction() as db:
            kept = self._kept(db, key, fingerprint)
            if kept is not None:
                return kept
            db.execute("INSERT INTO idempotency VALUES (?, ?, ?)", (key, fingerprint, result))
            return result

    def recall(self, key: str, fingerprint: str) -> str | None:
        """See `IdempotencyStore.recall`."""
        with self._reading() as db:
            return self._kept(db, key, fingerprint)

    def settle(self, action: SettleAction, operation_id: str, at: datetime) -> SettleResult:
        """See `CounterStore.settle`."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT status, expires_us, quantity, counters, user_id, promotion, code,"
                " idempotency_key, epochs FROM operations WHERE id = ?",
                (operation_id,),
            ).fetchone()
            if row is None:
                return SettleResult(ok=False, status=None)
            status, expires, quantity, counters, user_id, promotion, code, key, epochs = row
            keys = json.loads(counters)
            counted = _epochs(epochs, keys)
            operation = (operation_id, user_id, promotion, code, quantity, key)
            if status == "held" and expires <= _micros(at):
                self._expire(db, operation_id, at)
                status = "expired"
            new_status = status
            if action is SettleAction.COMMIT and status == "held":
                deltas = self._change(db, keys, counted, quantity, -quantity)
                new_status = "committed"
                self._append(db, "commit", at, deltas, operation)
            elif action is SettleAction.RELEASE and status == "held":
                deltas = self._change(db, keys, counted, 0, -quantity)
                new_status = "released"
                self._append(db, "release", at, deltas, operation)
            elif action is SettleAction.CANCEL and status == "committed":
                deltas = self._change(db, keys, counted, -quantity, 0)
                new_status = "cancelled"
                self._append(db, "cancel", at, deltas, operation)
            if new_status != status:
                db.execute(
                    "UPDATE operations SET status = ? WHERE id = ?", (new_status, operation_id)
                )
                db.execute("DELETE FROM holds WHERE operation_id = ?", (operation_id,))
            return SettleResult(
                ok=Status(new_status) in SETTLED[action],
                status=Status(new_status),
                changed=new_status != status,
                quantity=quantity,
                promotion=promotion,
                user_id=user_id,
                code=code,
            )

    @staticmethod
    def _state(db: sqlite3.Connection, key: str) -> CounterState:
        row = db.execute(
            "SELECT used, reserved, extra, lim FROM counters WHERE key = ?", (key,)
        ).fetchone()
        return CounterState() if row is None else CounterState(*row)

    def counter(self, key: str, at: datetime) -> CounterState:
        """See `CounterStore.counter`."""
        with self._transaction() as db:
            self._reclaim(db, key, at)
            return self._state(db, key)

    def adjust(self, key: str, limit: int, available: int, at: datetime) -> CounterState | None:
        """See `CounterStore.adjust`."""
        with self._transaction() as db:
            self._reclaim(db, key, at)
            state = self._state(db, key)
            extra = available - limit + state.used + state.reserved
            if limit + extra > COUNT_MAX:
                return None
            self._set_extra(db, key, extra, limit)
            self._append(db, "adjust", at, [(key, 0, 0, extra - state.extra)])
            return self._state(db, key)

    def add_extra(self, key: str, limit: int, change: int, at: datetime) -> CounterState | None:
        """See `CounterStore.add_extra`."""
        with self._transaction() as db:
            self._reclaim(db, key, at)
            state = self._state(db, key)
            total = limit + state.extra + change
            if total - state.used - state.reserved < 0 or total > COUNT_MAX:
                return None
            self._set_extra(db, key, state.extra + change, limit)
            self._append(db, "adjust", at, [(key, 0, 0, change)])
            return self._state(db, key)

    @staticmethod
    def _set_extra(db: sqlite3.Connection, key: str, extra: int, limit: int) -> None:
        db.execute(
            "INSERT INTO counters (key, extra, lim) VALUES (?, ?, ?) ON CONFLICT (key)"
            " DO UPDATE SET extra = excluded.extra, lim = excluded.lim",
            (key, extra, limit),
        )

    def reset(self, prefix: str, at: datetime, *, exact: bool = False) -> int:
        """See `CounterStore.reset`."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self._transaction() as db:
            rows = db.execute(
                "SELECT key, used, reserved, extra FROM counters WHERE key LIKE ? ESCAPE '\\'"
                " AND (used != 0 OR reserved != 0 OR extra != 0)",
                (escaped if exact else escaped + "%",),
            ).fetchall()
            # LIKE ignores ASCII case
            rows = [
                row for row in rows if (row[0] == prefix if exact else row[0].startswith(prefix))
            ]
            if rows:
                db.executemany(
                    "UPDATE counters SET used = 0, reserved = 0, extra = 0, epoch = epoch + 1"
                    " WHERE key = ?",
                    [(r[0],) for r in rows],
                )
                self._append(db, "reset", at, [(k, -u, -r, -x) for k, u, r, x in rows])
            return len(rows)

    @staticmethod
    def _counters(db: sqlite3.Connection) -> dict[str, CounterState]:
        rows = db.execute("SELECT key, used, reserved, extra, lim FROM counters").fetchall()
        return {row[0]: CounterState(*row[1:]) for row in rows}

    @staticmethod
    def _ledger(db: sqlite3.Connection) -> list[LedgerEntry]:
        rows = db.execute(
            "SELECT seq, at, event, operation_id, user_id, promotion, code, quantity,"
            " idempotency_key, deltas FROM ledger ORDER BY seq"
        ).fetchall()
        return [
            LedgerEntry(
                seq=row[0],
                at=datetime.fromisoformat(row[1]),
                event=row[2],
                operation_id=row[3],
                user_id=row[4],
                promotion=row[5],
                code=row[6],
                quantity=row[7],
                idempotency_key=row[8],
                deltas=tuple((d[0], d[1], d[2], d[3]) for d in json.loads(row[9])),
            )
            for row in rows
        ]

    def counters_with_prefix(self, prefix: str) -> dict[str, CounterState]:
        """See `CounterStore.counters_with_prefix`."""
        with self._reading() as db:  # a range of the key's index: keys sort as UTF-8 bytes
            rows = db.execute(
                "SELECT key, used, reserved, extra, lim FROM counters WHERE key >= ? AND key < ?",
                (prefix, prefix + "\U0010ffff"),
            ).fetchall()
        return {row[0]: CounterState(*row[1:]) for row in rows if row[0].startswith(prefix)}

    def counters(self) -> dict[str, CounterState]:
        """See `CounterStore.counters`."""
        with self._reading() as db:
            return self._counters(db)

    def ledger(self) -> list[LedgerEntry]:
        """See `LedgerStore.ledger`."""
        with self._reading() as db:
            return self._ledger(db)

    def audit(self) -> tuple[list[LedgerEntry], dict[str, CounterState]]:
        """See `LedgerStore.audit`: one read transaction (WAL readers see one snapshot)."""
        with self._reading() as db:
            db.execute("BEGIN")
            try:
                return self._ledger(db), self._counters(db)
            finally:
                db.execute("COMMIT")

    _PUT = (
        "INSERT INTO promotions (ref, document, version) VALUES (?, ?, ?) ON CONFLICT"
        " (ref) DO UPDATE SET document = excluded.document, version = excluded.version"
    )

    def put_promotion(self, ref: str, document: str) -> None:
        """See `PromotionStore.put_promotion`."""
        self.put_promotions([(ref, document)])

    def put_promotions(self, documents: Sequence[tuple[str, str]]) -> None:
        """See `PromotionStore.put_promotions`: one transaction."""
        rows = [(ref, document, document_version(document)) for ref, document in documents]
        with self._transaction() as db:
            db.executemany(self._PUT, rows)

    def swap_promotion(self, ref: str, expected: str | None, document: str) -> bool:
        """See `PromotionStore.swap_promotion`."""
        with self._transaction() as db:
            if self._version(db, ref) != expected:
                return False
            db.execute(self._PUT, (ref, document, document_version(document)))
            return True

    def retire_promotion(self, ref: str, expected: str, document: str) -> int | None:
        """See `PromotionStore.retire_promotion`."""
        with self._transaction() as db:
            if self._version(db, ref) != expected:
                return None
            db.execute(self._PUT, (ref, document, document_version(document)))
            freed: int = db.execute("DELETE FROM codes WHERE promotion = ?", (ref,)).rowcount
            return freed

    def promotion(self, ref: str) -> str | None:
        """See `PromotionStore.promotion`."""
        with self._reading() as db:
            row = db.execute("SELECT document FROM promotions WHERE ref = ?", (ref,)).fetchone()
        return None if row is None else str(row[0])

    def promotion_version(self, ref: str) -> str | None:
        """See `PromotionStore.promotion_version`."""
        with self._reading() as db:
            return self._version(db, ref)

    def promotion_refs(self, prefix: str = "") -> list[str]:
        """See `PromotionStore.promotion_refs` (a range of the key's index)."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT ref FROM promotions WHERE ref >= ? AND ref < ? ORDER BY ref",
                (prefix, prefix + "\U0010ffff"),
            ).fetchall()
        return [row[0] for row in rows if row[0].startswith(prefix)]

    def promotion_documents(self, prefix: str = "") -> dict[str, str]:
        """See `PromotionStore.promotion_documents`."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT ref, document FROM promotions WHERE ref >= ? AND ref < ?",
                (prefix, prefix + "\U0010ffff"),
            ).fetchall()
        return {row[0]: row[1] for row in rows if row[0].startswith(prefix)}

    def add_codes(self, ref: str, codes: Sequence[str]) -> tuple[str, ...]:
        """See `CodeStore.add_codes`."""
        return self.add_code_sets([(ref, codes)])[0]

    def add_code_sets(
        self, assignments: Sequence[tuple[str, Sequence[str]]]
    ) -> list[tuple[str, ...]]:
        """See `CodeStore.add_code_sets`: one transaction."""
        answers = []
        with self._transaction() as db:
            for ref, codes in assignments:
                taken = []
                for code in codes:
                    changed = db.execute(
                        "INSERT INTO codes VALUES (?, ?) ON CONFLICT (code) DO NOTHING",
                        (code, ref),
                    ).rowcount
                    if not changed:
                        taken.append(code)
                answers.append(tuple(taken))
        return answers

    def remove_codes(self, ref: str, codes: Sequence[str]) -> tuple[str, ...]:
        """See `CodeStore.remove_codes`."""
        removed = []
        with self._transaction() as db:
            for code in codes:
                if db.execute(
                    "DELETE FROM codes WHERE code = ? AND promotion = ?", (code, ref)
                ).rowcount:
                    removed.append(code)
        return tuple(removed)

    def code_owner(self, code: str) -> str | None:
        """See `CodeStore.code_owner`."""
        with self._reading() as db:
            row = db.execute("SELECT promotion FROM codes WHERE code = ?", (code,)).fetchone()
        return None if row is None else str(row[0])

    def code_owners(self, codes: Sequence[str]) -> dict[str, str]:
        """See `CodeStore.code_owners`."""
        found: dict[str, str] = {}
        with self._reading() as db:
            for start in range(0, len(codes), 500):
                chunk = list(codes[start : start + 500])
                marks = ", ".join("?" * len(chunk))
                query = f"SELECT code, promotion FROM codes WHERE code IN ({marks})"
                found.update(db.execute(query, chunk).fetchall())
        return found

    def code_map(self) -> dict[str, str]:
        """See `CodeStore.code_map`."""
        with self._reading() as db:
            return dict(db.execute("SELECT code, promotion FROM codes").fetchall())

    def codes(self, ref: str, offset: int = 0, limit: int | None = None) -> list[str]:
        """See `CodeStore.codes`."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT code FROM codes WHERE promotion = ? ORDER BY code LIMIT ? OFFSET ?",
                (ref, -1 if limit is None else limit, offset),
            ).fetchall()
        return [row[0] for row in rows]

    def code_count(self, ref: str) -> int:
        """See `CodeStore.code_count`."""
        with self._reading() as db:
            (count,) = db.execute(
                "SELECT count(*) FROM codes WHERE promotion = ?", (ref,)
            ).fetchone()
        return int(count)

    def close(self) -> None:
        """Close every connection this store opened (in this process)."""
        if self._pid != os.getpid():
            self._forked()
        with self._all_lock:
            for db in self._all:
                with contextlib.suppress(sqlite3.Error):
                    db.close()
            self._all.clear()
        self._local = threading.local()
        self._shared = None


def _epochs(stored: Any, keys: list[str]) -> list[int]:
    """The epochs an operation was counted in (NULL: all 0, as before version 3)."""
    return [0] * len(keys) if stored is None else list(json.loads(stored))
