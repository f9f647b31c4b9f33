"""InMemoryStore: a thread-safe store in this process's memory (tests, single-process apps)."""

from __future__ import annotations

import heapq
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from liveops_rules.stores.protocol import (
    CounterSpec,
    CounterState,
    CountRequest,
    CountResult,
    IdempotencyConflict,
    LedgerEntry,
    SettleAction,
    SettleResult,
    Status,
)

__all__ = ["InMemoryStore"]


class _Counter:
    __slots__ = ("extra", "limit", "reserved", "used")

    def __init__(self) -> None:
        self.used = 0
        self.reserved = 0
        self.extra = 0
        self.limit: int | None = None

    def state(self) -> CounterState:
        return CounterState(self.used, self.reserved, self.extra, self.limit)


class _Operation:
    """A counted request and where it stands; its fields are read through the request."""

    __slots__ = ("request", "status")

    def __init__(self, request: CountRequest) -> None:
        self.request = request
        self.status = Status.COMMITTED if request.expires_at is None else Status.HELD

    @property
    def operation_id(self) -> str:
        return self.request.operation_id

    @property
    def expires_at(self) -> datetime | None:
        return self.request.expires_at

    @property
    def quantity(self) -> int:
        return self.request.quantity

    @property
    def counters(self) -> tuple[str, ...]:
        return tuple(spec.key for spec in self.request.counters)

    @property
    def user_id(self) -> str:
        return self.request.user_id

    @property
    def promotion(self) -> str:
        return self.request.promotion

    @property
    def code(self) -> str | None:
        return self.request.code

    @property
    def idempotency_key(self) -> str | None:
        return self.request.idempotency_key


_COUNTED = CountResult(ok=True)


class _Uniform(NamedTuple):
    """The same change to every counter of a request, expanded only when the ledger is read
    (building the per-counter tuples on every redeem costs more than the rest of the write)."""

    counters: tuple[CounterSpec, ...]
    used: int
    reserved: int

    def expand(self) -> tuple[tuple[str, int, int, int], ...]:
        return tuple((spec.key, self.used, self.reserved, 0) for spec in self.counters)


class InMemoryStore:
    """Counters, holds, idempotency records, ledger, codes and promotions in dicts, behind one
    lock: every operation is atomic with respect to the others in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, _Counter] = {}
        self._operations: dict[str, _Operation] = {}
        self._holds: dict[str, list[tuple[datetime, str]]] = {}
        self._results: dict[str, tuple[str, str]] = {}
        self._ledger: list[tuple[Any, ...]] = []  # LedgerEntry fields, built when read
        self._codes: dict[str, str] = {}
        self._promotions: dict[str, str] = {}

    # -- counting ---------------------------------------------------------------------------

    def _counter(self, key: str) -> _Counter:
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = _Counter()
        return counter

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

    def _expire(self, operation: _Operation, at: datetime) -> None:
        for key in operation.counters:
            self._counters[key].reserved -= operation.quantity
        operation.status = Status.EXPIRED
        self._append(
            "expire",
            at,
            tuple((k, 0, -operation.quantity, 0) for k in operation.counters),
            operation,
        )

    def _reclaim(self, key: str, at: datetime) -> None:
        heap = self._holds.get(key)
        while heap and heap[0][0] <= at:
            _, operation_id = heapq.heappop(heap)
            operation = self._operations[operation_id]
            if operation.status is Status.HELD:
                self._expire(operation, at)

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
            counters = []
            for spec in request.counters:
                counter = self._counters.get(spec.key)
                if counter is None:
                    counter = self._counters[spec.key] = _Counter()
                counters.append(counter)
                limit = spec.limit
                if (
                    limit is not None
                    and counter.used + counter.reserved + quantity > limit + counter.extra
                ):
                    self._reclaim(spec.key, request.at)
                    if counter.used + counter.reserved + quantity > limit + counter.extra:
                        counter.limit = limit
                        return CountResult(ok=False, exhausted=spec, state=counter.state())
            operation = _Operation(request)
            if operation.status is Status.HELD:
                expires: datetime = request.expires_at  # type: ignore[assignment]
                for spec, counter in zip(request.counters, counters, strict=True):
                    counter.limit = spec.limit
                    counter.reserved += quantity
                    heapq.heappush(
                        self._holds.setdefault(spec.key, []), (expires, request.operation_id)
                    )
                deltas: object = _Uniform(request.counters, 0, quantity)
                event = "reserve"
            else:
                for spec, counter in zip(request.counters, counters, strict=True):
                    counter.limit = spec.limit
                    counter.used += quantity
                deltas = _Uniform(request.counters, quantity, 0)
                event = "redeem"
            self._operations[request.operation_id] = operation
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
            operation = self._operations.get(operation_id)
            if operation is None:
                return SettleResult(ok=False, status=None)
            quantity, keys = operation.quantity, operation.counters
            if operation.status is Status.HELD and operation.expires_at <= at:  # type: ignore[operator]
                self._expire(operation, at)
            status = operation.status
            ok = False
            if action is SettleAction.COMMIT:
                if status is Status.HELD:
                    for key in keys:
                        self._counters[key].reserved -= quantity
                        self._counters[key].used += quantity
                    operation.status = Status.COMMITTED
                    self._append(
                        "commit", at, tuple((k, quantity, -quantity, 0) for k in keys), operation
                    )
                ok = operation.status is Status.COMMITTED
            elif action is SettleAction.RELEASE:
                if status is Status.HELD:
                    for key in keys:
                        self._counters[key].reserved -= quantity
                    operation.status = Status.RELEASED
                    self._append(
                        "release", at, tuple((k, 0, -quantity, 0) for k in keys), operation
                    )
                ok = operation.status in (Status.RELEASED, Status.EXPIRED)
            else:
                if status is Status.COMMITTED:
                    deltas = []
                    for key in keys:
                        # A reset may already have given this use back: never go below zero.
                        taken = min(quantity, self._counters[key].used)
                        self._counters[key].used -= taken
                        deltas.append((key, -taken, 0, 0))
                    operation.status = Status.CANCELLED
                    self._append("cancel", at, tuple(deltas), operation)
                ok = operation.status is Status.CANCELLED
            return SettleResult(
                ok=ok,
                status=operation.status,
                quantity=quantity,
                promotion=operation.promotion,
                user_id=operation.user_id,
                code=operation.code,
            )

    # -- admin --------------------------------------------------------------------------------

    def counter(self, key: str, at: datetime) -> CounterState:
        """See `CounterStore.counter`."""
        with self._lock:
            self._reclaim(key, at)
            found = self._counters.get(key)
            return CounterState() if found is None else found.state()

    def adjust(self, key: str, limit: int, available: int, at: datetime) -> CounterState:
        """See `CounterStore.adjust`."""
        with self._lock:
            self._reclaim(key, at)
            counter = self._counter(key)
            counter.limit = limit
            extra = available - limit + counter.used + counter.reserved
            self._append("adjust", at, ((key, 0, 0, extra - counter.extra),))
            counter.extra = extra
            return counter.state()

    def add_extra(self, key: str, limit: int, change: int, at: datetime) -> CounterState | None:
        """See `CounterStore.add_extra`."""
        with self._lock:
            self._reclaim(key, at)
            counter = self._counter(key)
            counter.limit = limit
            if limit + counter.extra + change - counter.used - counter.reserved < 0:
                return None
            counter.extra += change
            self._append("adjust", at, ((key, 0, 0, change),))
            return counter.state()

    def reset(self, prefix: str, at: datetime) -> int:
        """See `CounterStore.reset`."""
        with self._lock:
            deltas = []
            for key, counter in self._counters.items():
                if key.startswith(prefix) and (counter.used or counter.extra):
                    deltas.append((key, -counter.used, 0, -counter.extra))
                    counter.used = counter.extra = 0
            if deltas:
                self._append("reset", at, tuple(deltas))
            return len(deltas)

    def counters(self) -> dict[str, CounterState]:
        """See `CounterStore.counters`."""
        with self._lock:
            return {key: counter.state() for key, counter in self._counters.items()}

    def ledger(self) -> list[LedgerEntry]:
        """See `LedgerStore.ledger`."""
        with self._lock:
            rows = list(self._ledger)
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
                deltas=deltas.expand() if isinstance(deltas, _Uniform) else deltas,
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
        with self._lock:
            self._promotions[ref] = document

    def promotion(self, ref: str) -> str | None:
        """See `PromotionStore.promotion`."""
        return self._promotions.get(ref)

    def promotion_refs(self) -> list[str]:
        """See `PromotionStore.promotion_refs`."""
        with self._lock:
            return sorted(self._promotions)

    def add_codes(self, ref: str, codes: Sequence[str]) -> tuple[str, ...]:
        """See `CodeStore.add_codes`."""
        with self._lock:
            taken = []
            for code in codes:
                if code in self._codes:
                    taken.append(code)
                else:
                    self._codes[code] = ref
            return tuple(taken)

    def code_owner(self, code: str) -> str | None:
        """See `CodeStore.code_owner`."""
        return self._codes.get(code)

    def codes(self, ref: str) -> list[str]:
        """See `CodeStore.codes`."""
        with self._lock:
            return sorted(code for code, owner in self._codes.items() if owner == ref)

    def close(self) -> None:
        """Nothing to release."""
