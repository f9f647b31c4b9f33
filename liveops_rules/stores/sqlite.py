"""SQLiteStore: the embedded default, on the standard library's sqlite3.

One file, shared by threads (a connection each) and by processes. Every operation is one
`BEGIN IMMEDIATE` transaction, so writers queue on SQLite's lock and no check is ever made on
a stale read. WAL journal; `synchronous=FULL` by default, so a committed redemption survives a
power loss (`synchronous=NORMAL` is faster and survives a crash of the process, not of the
machine).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from liveops_rules.errors import StoreError, ValidationError
from liveops_rules.stores.protocol import (
    SETTLED,
    CounterSpec,
    CounterState,
    CountRequest,
    CountResult,
    IdempotencyConflict,
    LedgerEntry,
    SettleAction,
    SettleResult,
    Status,
    document_version,
)

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    used INTEGER NOT NULL DEFAULT 0,
    reserved INTEGER NOT NULL DEFAULT 0,
    extra INTEGER NOT NULL DEFAULT 0,
    lim INTEGER
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
    idempotency_key TEXT
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


class SQLiteStore:
    """A RedemptionStore in one SQLite file (see the module's notes on durability)."""

    def __init__(self, path: str | Path, *, synchronous: str = "FULL", timeout: float = 60.0):
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise ValidationError.single("synchronous", "FULL, NORMAL or EXTRA", synchronous)
        self.path = str(path)
        self._synchronous = synchronous.upper()
        self._timeout = timeout
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._connection().executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
        with self._transaction() as db:
            found = db.execute("SELECT version FROM schema_version").fetchone()
            if found is None:
                db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            elif found[0] == 1:
                self._migrate_from_1(db)
            elif found[0] != SCHEMA_VERSION:
                raise ValidationError.single(
                    self.path, f"a store of schema version {SCHEMA_VERSION}", found[0]
                )

    @staticmethod
    def _migrate_from_1(db: sqlite3.Connection) -> None:
        """Version 2 keeps each promotion document's version beside it."""
        db.execute("ALTER TABLE promotions ADD COLUMN version TEXT NOT NULL DEFAULT ''")
        rows = db.execute("SELECT ref, document FROM promotions").fetchall()
        db.executemany(
            "UPDATE promotions SET version = ? WHERE ref = ?",
            [(document_version(document), ref) for ref, document in rows],
        )
        db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            try:
                db = sqlite3.connect(
                    self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
                )
                db.execute("PRAGMA journal_mode=WAL")
            except sqlite3.Error as error:
                raise StoreError(f"cannot open SQLite store {self.path!r}: {error}") from None
            db.execute(f"PRAGMA synchronous={self._synchronous}")
            db.execute(f"PRAGMA busy_timeout={int(self._timeout * 1000)}")
            self._local.db = db
            with self._all_lock:
                self._all.append(db)
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
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

    def _expire(self, db: sqlite3.Connection, operation_id: str, at: datetime) -> None:
        row = db.execute(
            "SELECT quantity, counters, user_id, promotion, code, idempotency_key FROM operations"
            " WHERE id = ? AND status = 'held'",
            (operation_id,),
        ).fetchone()
        if row is None:
            return
        quantity, counters, user_id, promotion, code, key = row
        keys = json.loads(counters)
        db.executemany(
            "UPDATE counters SET reserved = reserved - ? WHERE key = ?",
            [(quantity, k) for k in keys],
        )
        db.execute("UPDATE operations SET status = 'expired' WHERE id = ?", (operation_id,))
        db.execute("DELETE FROM holds WHERE operation_id = ?", (operation_id,))
        self._append(
            db,
            "expire",
            at,
            [(k, 0, -quantity, 0) for k in keys],
            (operation_id, user_id, promotion, code, quantity, key),
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
    ) -> bool:
        """Add to one counter if its limit allows; False (nothing written) otherwise."""
        # A new row over its limit at once: only an existing row's extra could allow that.
        if (
            limit is not None
            and used + reserved > limit
            and db.execute("SELECT 1 FROM counters WHERE key = ?", (key,)).fetchone() is None
        ):
            return False
        changed: int = db.execute(
            "INSERT INTO counters (key, used, reserved, lim) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET used = used + excluded.used,"
            " reserved = reserved + excluded.reserved, lim = excluded.lim"
            " WHERE excluded.lim IS NULL"
            " OR used + reserved + excluded.used + excluded.reserved <= excluded.lim + extra",
            (key, used, reserved, limit),
        ).rowcount
        return changed == 1

    def count(self, request: CountRequest) -> CountResult:
        """See `CounterStore.count`."""
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            replayed = self._kept(db, request.idempotency_key, request.fingerprint)
            if replayed is not None:
                db.execute("COMMIT")
                return CountResult(ok=True, replayed=replayed)
            if request.version is not None and request.version != self._version(
                db, request.promotion
            ):
                db.execute("COMMIT")
                return _STALE
            failed = self._count_all(db, request)
            if failed is None:
                self._record(db, request)
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
            if request.version is not None and request.version != self._version(
                db, request.promotion
            ):
                return _STALE
            reclaimed: set[str] = set()
            while failed is not None and failed.key not in reclaimed:
                # Each counter that refuses may be full of expired holds of its own.
                self._reclaim(db, failed.key, request.at)
                reclaimed.add(failed.key)
                db.execute("SAVEPOINT counting")
                failed = self._count_all(db, request)
                if failed is None:
                    db.execute("RELEASE counting")
                    self._record(db, request)
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

    @staticmethod
    def _version(db: sqlite3.Connection, ref: str) -> str | None:
        row = db.execute("SELECT version FROM promotions WHERE ref = ?", (ref,)).fetchone()
        return None if row is None else str(row[0])

    def _count_all(self, db: sqlite3.Connection, request: CountRequest) -> CounterSpec | None:
        """Count every counter; the first that refuses (earlier ones stay written) or None."""
        held = request.expires_at is not None
        used, reserved = (0, request.quantity) if held else (request.quantity, 0)
        for spec in request.counters:
            if not self._count_one(db, spec.key, spec.limit, used, reserved):
                return spec
        return None

    def _record(self, db: sqlite3.Connection, request: CountRequest) -> None:
        """The operation's row, its holds, its ledger line and its idempotency record."""
        quantity = request.quantity
        held = request.expires_at is not None
        keys = [spec.key for spec in request.counters]
        expires = None if request.expires_at is None else _micros(request.expires_at)
        db.execute(
            "INSERT INTO operations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            ),
        )
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
        return self._kept(self._connection(), key, fingerprint)

    def settle(self, action: SettleAction, operation_id: str, at: datetime) -> SettleResult:
        """See `CounterStore.settle`."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT status, expires_us, quantity, counters, user_id, promotion, code,"
                " idempotency_key FROM operations WHERE id = ?",
                (operation_id,),
            ).fetchone()
            if row is None:
                return SettleResult(ok=False, status=None)
            status, expires, quantity, counters, user_id, promotion, code, key = row
            keys = json.loads(counters)
            operation = (operation_id, user_id, promotion, code, quantity, key)
            if status == "held" and expires <= _micros(at):
                self._expire(db, operation_id, at)
                status = "expired"
            new_status = status
            if action is SettleAction.COMMIT and status == "held":
                db.executemany(
                    "UPDATE counters SET reserved = reserved - ?, used = used + ? WHERE key = ?",
                    [(quantity, quantity, k) for k in keys],
                )
                new_status = "committed"
                self._append(
                    db, "commit", at, [(k, quantity, -quantity, 0) for k in keys], operation
                )
            elif action is SettleAction.RELEASE and status == "held":
                db.executemany(
                    "UPDATE counters SET reserved = reserved - ? WHERE key = ?",
                    [(quantity, k) for k in keys],
                )
                new_status = "released"
                self._append(db, "release", at, [(k, 0, -quantity, 0) for k in keys], operation)
            elif action is SettleAction.CANCEL and status == "committed":
                deltas = []
                for key in keys:
                    # A reset may already have given this use back: never go below zero.
                    (used,) = db.execute(
                        "SELECT used FROM counters WHERE key = ?", (key,)
                    ).fetchone()
                    taken = min(quantity, used)
                    db.execute("UPDATE counters SET used = used - ? WHERE key = ?", (taken, key))
                    deltas.append((key, -taken, 0, 0))
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
                quantity=quantity,
                promotion=promotion,
                user_id=user_id,
                code=code,
            )

    def _state(self, db: sqlite3.Connection, key: str) -> CounterState:
        row = db.execute(
            "SELECT used, reserved, extra, lim FROM counters WHERE key = ?", (key,)
        ).fetchone()
        return CounterState() if row is None else CounterState(*row)

    def counter(self, key: str, at: datetime) -> CounterState:
        """See `CounterStore.counter`."""
        with self._transaction() as db:
            self._reclaim(db, key, at)
            return self._state(db, key)

    def adjust(self, key: str, limit: int, available: int, at: datetime) -> CounterState:
        """See `CounterStore.adjust`."""
        with self._transaction() as db:
            self._reclaim(db, key, at)
            state = self._state(db, key)
            extra = available - limit + state.used + state.reserved
            db.execute(
                "INSERT INTO counters (key, extra, lim) VALUES (?, ?, ?) ON CONFLICT (key)"
                " DO UPDATE SET extra = excluded.extra, lim = excluded.lim",
                (key, extra, limit),
            )
            self._append(db, "adjust", at, [(key, 0, 0, extra - state.extra)])
            return self._state(db, key)

    def add_extra(self, key: str, limit: int, change: int, at: datetime) -> CounterState | None:
        """See `CounterStore.add_extra`."""
        with self._transaction() as db:
            self._reclaim(db, key, at)
            state = self._state(db, key)
            if limit + state.extra + change - state.used - state.reserved < 0:
                return None
            db.execute(
                "INSERT INTO counters (key, extra, lim) VALUES (?, ?, ?) ON CONFLICT (key)"
                " DO UPDATE SET extra = extra + excluded.extra, lim = excluded.lim",
                (key, change, limit),
            )
            self._append(db, "adjust", at, [(key, 0, 0, change)])
            return self._state(db, key)

    def reset(self, prefix: str, at: datetime) -> int:
        """See `CounterStore.reset`."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self._transaction() as db:
            rows = db.execute(
                "SELECT key, used, extra FROM counters WHERE key LIKE ? ESCAPE '\\'"
                " AND (used != 0 OR extra != 0)",
                (escaped + "%",),
            ).fetchall()
            rows = [row for row in rows if row[0].startswith(prefix)]  # LIKE ignores ASCII case
            if rows:
                db.executemany(
                    "UPDATE counters SET used = 0, extra = 0 WHERE key = ?", [(r[0],) for r in rows]
                )
                self._append(db, "reset", at, [(k, -used, 0, -extra) for k, used, extra in rows])
            return len(rows)

    def counters(self) -> dict[str, CounterState]:
        """See `CounterStore.counters`."""
        rows = (
            self._connection()
            .execute("SELECT key, used, reserved, extra, lim FROM counters")
            .fetchall()
        )
        return {row[0]: CounterState(*row[1:]) for row in rows}

    def ledger(self) -> list[LedgerEntry]:
        """See `LedgerStore.ledger`."""
        rows = (
            self._connection()
            .execute(
                "SELECT seq, at, event, operation_id, user_id, promotion, code, quantity,"
                " idempotency_key, deltas FROM ledger ORDER BY seq"
            )
            .fetchall()
        )
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

    def put_promotion(self, ref: str, document: str) -> None:
        """See `PromotionStore.put_promotion`."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO promotions (ref, document, version) VALUES (?, ?, ?) ON CONFLICT"
                " (ref) DO UPDATE SET document = excluded.document, version = excluded.version",
                (ref, document, document_version(document)),
            )

    def promotion(self, ref: str) -> str | None:
        """See `PromotionStore.promotion`."""
        row = (
            self._connection()
            .execute("SELECT document FROM promotions WHERE ref = ?", (ref,))
            .fetchone()
        )
        return None if row is None else str(row[0])

    def promotion_refs(self) -> list[str]:
        """See `PromotionStore.promotion_refs`."""
        rows = self._connection().execute("SELECT ref FROM promotions ORDER BY ref").fetchall()
        return [row[0] for row in rows]

    def add_codes(self, ref: str, codes: Sequence[str]) -> tuple[str, ...]:
        """See `CodeStore.add_codes`."""
        taken = []
        with self._transaction() as db:
            for code in codes:
                changed = db.execute(
                    "INSERT INTO codes VALUES (?, ?) ON CONFLICT (code) DO NOTHING", (code, ref)
                ).rowcount
                if not changed:
                    taken.append(code)
        return tuple(taken)

    def code_owner(self, code: str) -> str | None:
        """See `CodeStore.code_owner`."""
        row = (
            self._connection()
            .execute("SELECT promotion FROM codes WHERE code = ?", (code,))
            .fetchone()
        )
        return None if row is None else str(row[0])

    def codes(self, ref: str) -> list[str]:
        """See `CodeStore.codes`."""
        rows = (
            self._connection()
            .execute("SELECT code FROM codes WHERE promotion = ? ORDER BY code", (ref,))
            .fetchall()
        )
        return [row[0] for row in rows]

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._all_lock:
            for db in self._all:
                db.close()
            self._all.clear()
        self._local = threading.local()
