"""InMemoryStore: a thread-safe store in this process's memory (tests, single-process apps)."""

from __future__ import annotations

import heapq
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from liveops_rules.stores.bounds import COUNT_MAX
from liveops_rules.stores.protocol import (
    SETTLED,
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

__all__ = ["InMemoryStore"]


# An operation is kept as a plain tuple of strings, numbers and a datetime: the garbage
# collector stops tracking such tuples, while objects made per redeem would be scanned again
# and again for the life of the store.
# (operation_id, expires_at, quantity, counter keys, user_id, promotion, code, idempotency key,
# the epoch of each counter when it was counted)
_Record = tuple[
    str, datetime | None, int, tuple[str, ...], str, str, str | None, str | None, tuple[int, ...]
]


class _Operation:
    """A view of an operation's record and status while it is being settled."""

    __slots__ = ("record", "status")

    def __init__(self, record: _Record, status: Status) -> None:
        self.record = record
        self.status = status

    @property
    def operation_id(self) -> str:
        return self.record[0]

    @property
    def expires_at(self) -> datetime | None:
        return self.record[1]

    @property
    def quantity(self) -> int:
        return self.record[2]

    @property
    def counters(self) -> tuple[str, ...]:
        return self.record[3]

    @property
    def user_id(self) -> str:
        return self.record[4]

    @property
    def promotion(self) -> str:
        return self.record[5]

    @property
    def code(self) -> str | None:
        return self.record[6]

    @property
    def idempotency_key(self) -> str | None:
        return self.record[7]

    @property
    def epochs(self) -> tuple[int, ...]:
        return self.record[8]


_ZEROS = tuple((0,) * n for n in range(8))
_COUNTED = CountResult(ok=True)
_STALE = CountResult(ok=False, stale=True)


def _expand(deltas: tuple[Any, ...]) -> tuple[tuple[str, int, int, int], ...]:
    """Ledger changes as stored: ("=", keys, used, reserved) for the same change to every
    counter, built per counter only when the ledger is read; else the explicit tuple."""
    if deltas and deltas[0] == "=":
        _, keys, used, reserved = deltas
        return tuple((key, used, reserved, 0) for key in keys)
    return deltas


class InMemoryStore:
    """Counters, holds, idempotency records, ledger, codes and promotions in dicts, behind one
    lock: every operation is atomic with respect to the others in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Counters as four dicts of numbers, not an object each: see _Record.
        self._used: dict[str, int] = {}
        self._reserved: dict[str, int] = {}
        self._extra: dict[str, int] = {}
        self._limit: dict[str, int | None] = {}
        self._epoch: dict[str, int] = {}  # only counters a reset has moved on
        # The requests counted and their statuses, in plain dicts: per-operation objects
        # would stay tracked by the garbage collector for the life of the store.
        self._operations: dict[str, _Record] = {}
        self._statuses: dict[str, Status] = {}
        self._holds: dict[str, list[tuple[datetime, str]]] = {}
        self._results: dict[str, tuple[str, str]] = {}
        self._ledger: list[tuple[Any, ...]] = []  # LedgerEntry fields, built when read
        self._codes: dict[str, str] = {}
        self._by_promotion: dict[str, set[str]] = {}
        self._promotions: dict[str, str] = {}
        self._versions: dict[str, str] = {}

    # -- counting ---------------------------------------------------------------------------

    def _state(self, key: str) -> CounterState:
        return CounterState(
            self._used.get(key, 0),
            self._reserved.get(key, 0),
            self._extra.get(key, 0),
            self._limit.get(key),
        )

    def _fits(self, key: str, quantity: int, limit: int) -> bool:
        return self._used.get(key, 0) + self._reserved.get(
            key, 0
        ) + quantity <= limit + self._extra.get(key, 0)

    def _append(
        self,
        event: str,
        at: datetime,
        deltas: tuple[tuple[str, int, int, int], ...],
        operation: _Operation | None = None,
    ) -> None:
        if operation is None:
            self._ledger.append((at, event, None, None, None, None, 0, None, deltas))
        else:
            self._ledger.append(
                (
                    at,
                    event,
                    operation.operation_id,
                    operation.user_id,
                    operation.promotion,
                    operation.code,
                    operation.quantity,
                    operation.idempotency_key,
                    deltas,
                )
            )

    def _epochs(self, keys: tuple[str, ...]) -> tuple[int, ...]:
        """The epoch of each counter (shared tuples of zeros until a reset has run)."""
        if not self._epoch and len(keys) < len(_ZEROS):
            return _ZEROS[len(keys)]
        return tuple([self._epoch.get(key, 0) for key in keys])

    def _live(self, operation: _Operation) -> tuple[str, ...]:
        """The operation's counters still in the epoch it was counted in."""
        epoch = self._epoch
        if not epoch:
            return operation.counters
        return tuple(
            key
            for key, counted in zip(operation.counters, operation.epochs, strict=True)
            if epoch.get(key, 0) == counted
        )

    def _change(
        self, operation: _Operation, used: int, reserved: int
    ) -> tuple[tuple[str, int, int, int], ...]:
        """Add `used` and `reserved` to the operation's live counters; the ledger deltas (0
        for a counter a reset has forgiven)."""
        live = self._live(operation)
        deltas = []
        for key in operation.counters:
            if key in live:
                if used:
                    self._used[key] = self._used.get(key, 0) + used
                if reserved:
                    self._reserved[key] = self._reserved.get(key, 0) + reserved
                deltas.append((key, used, reserved, 0))
            else:
                deltas.append((key, 0, 0, 0))
        return tuple(deltas)

    def _expire(self, operation: _Operation, at: datetime) -> None:
        deltas = self._change(operation, 0, -operation.quantity)
        operation.status = self._statuses[operation.operation_id] = Status.EXPIRED
        self._append("expire", at, deltas, operation)

    def _reclaim(self, key: str, at: datetime) -> None:
        heap = self._holds.get(key)
        while heap and heap[0][0] <= at:
            _, operation_id = heapq.heappop(heap)
            if self._statuses[operation_id] is Status.HELD:
                self._expire(_Operation(self._operations[operation_id], Status.HELD), at)

    def _check_idempotency(self, key: str | None, fingerprint: str) -> str | None:
        if key is None:
            return None
        kept = self._results.get(key)
        if kept is None:
            return None
        if kept[0] != fingerprint:
            raise IdempotencyConflict(key)
        return kept[1]

    def count(self, request: CountRequest) -> CountResult:
        """See `CounterStore.count`."""
        quantity = request.quantity
        with self._lock:
            if request.idempotency_key is not None:
                replayed = self._check_idempotency(request.idempotency_key, request.fingerprint)
                if replayed is not None:
                    return CountResult(ok=True, replayed=replayed)
            if request.version is not None:
                kept = self._versions.get(request.versioned)
                if kept != request.version and not (kept is None and request.absent_ok):
                    return _STALE
            if request.code is not None and self._codes.get(request.code) != request.promotion:
                return _STALE
            if request.operation_id in self._operations:
                raise OperationCollision(request.operation_id)
            used, reserved, extra = self._used, self._reserved, self._extra
            for requirement in request.requires:
                if used.get(requirement.key, 0) < requirement.at_least:
                    state = self._state(requirement.key)
                    return CountResult(ok=False, unmet=requirement, state=state)
            for spec in request.counters:
                limit = spec.limit
                if limit is None:
                    continue
                key = spec.key
                # The common case, inline: this loop runs for every counter of every redeem.
                if used.get(key, 0) + reserved.get(key, 0) + quantity > limit + extra.get(key, 0):
                    self._reclaim(spec.key, request.at)
                    if not self._fits(spec.key, quantity, limit):
                        state = attrs.evolve(self._state(spec.key), limit=limit)
                        return CountResult(ok=False, exhausted=spec, state=state)
            keys = tuple([spec.key for spec in request.counters])
            limits, amounts = self._limit, self._used
            if request.expires_at is not None:
                amounts = self._reserved
                expires: datetime = request.expires_at
                for key in keys:
                    heapq.heappush(self._holds.setdefault(key, []), (expires, request.operation_id))
                deltas: tuple[Any, ...] = ("=", keys, 0, quantity)
                event = "reserve"
            else:
                deltas = ("=", keys, quantity, 0)
                event = "redeem"
            for spec in request.counters:
                limits[spec.key] = spec.limit
                amounts[spec.key] = amounts.get(spec.key, 0) + quantity
            self._operations[request.operation_id] = (
                request.operation_id,
                request.expires_at,
                quantity,
                keys,
                request.user_id,
                request.promotion,
                request.code,
                request.idempotency_key,
                self._epochs(keys),
            )
            self._statuses[request.operation_id] = (
                Status.COMMITTED if request.expires_at is None else Status.HELD
            )
            self._ledger.append(
                (
                    request.at,
                    event,
                    request.operation_id,
                    request.user_id,
                    request.promotion,
                    request.code,
                    quantity,
                    request.idempotency_key,
                    deltas,
                )
            )
            if request.idempotency_key is not None:
                self._results[request.idempotency_key] = (request.fingerprint, request.result)
            return _COUNTED

    def remember(self, key: str, fingerprint: str, result: str) -> str:
        """See `IdempotencyStore.remember`."""
        with self._lock:
            kept = self._check_idempotency(key, fingerprint)
            if kept is not None:
                return kept
            self._results[key] = (fingerprint, result)
            return result

    def recall(self, key: str, fingerprint: str) -> str | None:
        """See `IdempotencyStore.recall`."""
        with self._lock:
            return self._check_idempotency(key, fingerprint)

    def settle(self, action: SettleAction, operation_id: str, at: datetime) -> SettleResult:
        """See `CounterStore.settle`."""
        with self._lock:
            record = self._operations.get(operation_id)
            if record is None:
                return SettleResult(ok=False, status=None)
            operation = _Operation(record, self._statuses[operation_id])
            quantity = operation.quantity
            if operation.status is Status.HELD and operation.expires_at <= at:  # type: ignore[operator]
                self._expire(operation, at)
            status = before = operation.status
            if action is SettleAction.COMMIT and status is Status.HELD:
                deltas = self._change(operation, quantity, -quantity)
                operation.status = Status.COMMITTED
                self._append("commit", at, deltas, operation)
            elif action is SettleAction.RELEASE and status is Status.HELD:
                deltas = self._change(operation, 0, -quantity)
                operation.status = Status.RELEASED
                self._append("release", at, deltas, operation)
            elif action is SettleAction.CANCEL and status is Status.COMMITTED:
                deltas = self._change(operation, -quantity, 0)
                operation.status = Status.CANCELLED
                self._append("cancel", at, deltas, operation)
            ok = operation.status in SETTLED[action]
            self._statuses[operation_id] = operation.status
            return SettleResult(
                ok=ok,
                status=operation.status,
                quantity=quantity,
                promotion=operation.promotion,
                user_id=operation.user_id,
                code=operation.code,
                changed=operation.status is not before,
            )

    # -- admin --------------------------------------------------------------------------------

    def counter(self, key: str, at: datetime) -> CounterState:
        """See `CounterStore.counter`."""
        with self._lock:
            self._reclaim(key, at)
            return self._state(key)

    def adjust(self, key: str, limit: int, available: int, at: datetime) -> CounterState | None:
        """See `CounterStore.adjust`."""
        with self._lock:
            self._reclaim(key, at)
            state = self._state(key)
            extra = available - limit + state.used + state.reserved
            if limit + extra > COUNT_MAX:
                return None
            self._limit[key] = limit
            self._append("adjust", at, ((key, 0, 0, extra - state.extra),))
            self._extra[key] = extra
            return self._state(key)

    def add_extra(self, key: str, limit: int, change: int, at: datetime) -> CounterState | None:
        """See `CounterStore.add_extra`."""
        with self._lock:
            self._reclaim(key, at)
            state = self._state(key)
            total = limit + state.extra + change
            if total - state.used - state.reserved < 0 or total > COUNT_MAX:
                return None
            self._limit[key] = limit
            self._extra[key] = state.extra + change
            self._append("adjust", at, ((key, 0, 0, change),))
            return self._state(key)

    def reset(self, prefix: str, at: datetime, *, exact: bool = False) -> int:
        """See `CounterStore.reset`."""
        with self._lock:
            deltas = []
            for key in self._limit:
                if key != prefix if exact else not key.startswith(prefix):
                    continue
                used, reserved = self._used.get(key, 0), self._reserved.get(key, 0)
                extra = self._extra.get(key, 0)
                if used or reserved or extra:
                    deltas.append((key, -used, -reserved, -extra))
                    self._used[key] = self._reserved[key] = self._extra[key] = 0
                    self._epoch[key] = self._epoch.get(key, 0) + 1
            if deltas:
                self._append("reset", at, tuple(deltas))
            return len(deltas)

    def counters(self) -> dict[str, CounterState]:
        """See `CounterStore.counters`."""
        with self._lock:
            return {key: self._state(key) for key in self._limit}

    def counters_with_prefix(self, prefix: str) -> dict[str, CounterState]:
        """See `CounterStore.counters_with_prefix`."""
        with self._lock:
            return {key: self._state(key) for key in self._limit if key.startswith(prefix)}

    def audit(self) -> tuple[list[LedgerEntry], dict[str, CounterState]]:
        """See `LedgerStore.audit`."""
        with self._lock:
            rows = list(self._ledger)
            counters = {key: self._state(key) for key in self._limit}
        return self._entries(rows), counters

    def ledger(self) -> list[LedgerEntry]:
        """See `LedgerStore.ledger`."""
        with self._lock:
            rows = list(self._ledger)
        return self._entries(rows)

    @staticmethod
    def _entries(rows: list[tuple[Any, ...]]) -> list[LedgerEntry]:
        return [
            LedgerEntry(
                seq=seq,
                at=at,
                event=event,
                operation_id=operation_id,
                user_id=user_id,
                promotion=promotion,
                code=code,
                quantity=quantity,
                idempotency_key=key,
                deltas=_expand(deltas),
            )
            for seq, (
                at,
                event,
                operation_id,
                user_id,
                promotion,
                code,
                quantity,
                key,
                deltas,
            ) in enumerate(rows, 1)
        ]

    # -- configuration ------------------------------------------------------------------------

    def put_promotion(self, ref: str, document: str) -> None:
        """See `PromotionStore.put_promotion`."""
        self.put_promotions([(ref, document)])

    def put_promotions(self, documents: Sequence[tuple[str, str]]) -> None:
        """See `PromotionStore.put_promotions`."""
        versions = [(ref, document, document_version(document)) for ref, document in documents]
        with self._lock:
            for ref, document, version in versions:
                self._promotions[ref] = document
                self._versions[ref] = version

    def swap_promotion(self, ref: str, expected: str | None, document: str) -> bool:
        """See `PromotionStore.swap_promotion`."""
        version = document_version(document)
        with self._lock:
            if self._versions.get(ref) != expected:
                return False
            self._promotions[ref] = document
            self._versions[ref] = version
            return True

    def retire_promotion(self, ref: str, expected: str, document: str) -> int | None:
        """See `PromotionStore.retire_promotion`."""
        version = document_version(document)
        with self._lock:
            if self._versions.get(ref) != expected:
                return None
            self._promotions[ref] = document
            self._versions[ref] = version
            freed = self._by_promotion.pop(ref, set())
            for code in freed:
                del self._codes[code]
            return len(freed)

    def promotion(self, ref: str) -> str | None:
        """See `PromotionStore.promotion`."""
        return self._promotions.get(ref)

    def promotion_version(self, ref: str) -> str | None:
        """See `PromotionStore.promotion_version`."""
        return self._versions.get(ref)

    def promotion_refs(self, prefix: str = "") -> list[str]:
        """See `PromotionStore.promotion_refs`."""
        with self._lock:
            return sorted(ref for ref in self._promotions if ref.startswith(prefix))

    def promotion_documents(self, prefix: str = "") -> dict[str, str]:
        """See `PromotionStore.promotion_documents`."""
        with self._lock:
            if not prefix:
                return dict(self._promotions)
            return {ref: doc for ref, doc in self._promotions.items() if ref.startswith(prefix)}

    def add_codes(self, ref: str, codes: Sequence[str]) -> tuple[str, ...]:
        """See `CodeStore.add_codes`."""
        return self.add_code_sets([(ref, codes)])[0]

    def add_code_sets(
        self, assignments: Sequence[tuple[str, Sequence[str]]]
    ) -> list[tuple[str, ...]]:
        """See `CodeStore.add_code_sets`."""
        with self._lock:
            answers = []
            for ref, codes in assignments:
                taken = []
                owned = self._by_promotion.setdefault(ref, set())
                for code in codes:
                    if code in self._codes:
                        taken.append(code)
                    else:
                        self._codes[code] = ref
                        owned.add(code)
                answers.append(tuple(taken))
            return answers

    def remove_codes(self, ref: str, codes: Sequence[str]) -> tuple[str, ...]:
        """See `CodeStore.remove_codes`."""
        with self._lock:
            removed = []
            owned = self._by_promotion.get(ref, set())
            for code in codes:
                if self._codes.get(code) == ref:
                    del self._codes[code]
                    owned.discard(code)
                    removed.append(code)
            return tuple(removed)

    def code_owner(self, code: str) -> str | None:
        """See `CodeStore.code_owner`."""
        return self._codes.get(code)

    def code_owners(self, codes: Sequence[str]) -> dict[str, str]:
        """See `CodeStore.code_owners`."""
        with self._lock:
            return {code: self._codes[code] for code in codes if code in self._codes}

    def code_map(self) -> dict[str, str]:
        """See `CodeStore.code_map`."""
        with self._lock:
            return dict(self._codes)

    def codes(self, ref: str, offset: int = 0, limit: int | None = None) -> list[str]:
        """See `CodeStore.codes`."""
        with self._lock:
            ordered = sorted(self._by_promotion.get(ref, ()))
        return ordered[offset:] if limit is None else ordered[offset : offset + limit]

    def code_count(self, ref: str) -> int:
        """See `CodeStore.code_count`."""
        with self._lock:
            return len(self._by_promotion.get(ref, ()))

    def close(self) -> None:
        """Nothing to release."""
