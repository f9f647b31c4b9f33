"""A deliberately broken store for negative controls: it reads, then writes, without holding a
lock between the two, as a naive implementation would. Race tests run it to prove that they
can catch over-redemption."""

from __future__ import annotations

import time

from liveops_rules.stores import CounterState, CountRequest, CountResult, InMemoryStore, SQLiteStore


class NaiveStore(InMemoryStore):
    """Checks every counter, lets other threads run, then counts: the classic race."""

    def count(self, request: CountRequest) -> CountResult:
        with self._lock:
            fits = all(
                spec.limit is None or self._fits(spec.key, request.quantity, spec.limit)
                for spec in request.counters
            )
        time.sleep(0)  # the window between check and write that real stores must not have
        if not fits:
            exhausted = next(s for s in request.counters if s.limit is not None)
            return CountResult(ok=False, exhausted=exhausted, state=self._state(exhausted.key))
        with self._lock:
            for spec in request.counters:
                self._used[spec.key] = self._used.get(spec.key, 0) + request.quantity
                self._limit[spec.key] = spec.limit
        return CountResult(ok=True)


class NaiveSQLiteStore(SQLiteStore):
    """The same mistake on SQLite: read the counters in one transaction, write in another."""

    def count(self, request: CountRequest) -> CountResult:
        db = self._connection()
        fits = True
        for spec in request.counters:
            row = db.execute("SELECT used FROM counters WHERE key = ?", (spec.key,)).fetchone()
            used = 0 if row is None else row[0]
            if spec.limit is not None and used + request.quantity > spec.limit:
                fits = False
        time.sleep(0.001)  # the window between check and write that real stores must not have
        if not fits:
            exhausted = next(s for s in request.counters if s.limit is not None)
            return CountResult(ok=False, exhausted=exhausted, state=CounterState())
        with self._transaction() as db:
            for spec in request.counters:
                db.execute(
                    "INSERT INTO counters (key, used, lim) VALUES (?, ?, ?) ON CONFLICT (key)"
                    " DO UPDATE SET used = used + excluded.used",
                    (spec.key, request.quantity, spec.limit),
                )
        return CountResult(ok=True)
