"""Redeem throughput per store, against the raw work each store must at least do, same process.

Run: python benchmarks/redeem_throughput.py [--count 20000]

For each store, the library's `Accounting.redeem` (code lookup, evaluation, three limits:
total, per user, per code; ledger) is timed against a raw floor doing only the counting:
- memory: three dict counters checked and incremented and a ledger append, under a lock;
- sqlite (WAL, synchronous=NORMAL): one BEGIN IMMEDIATE transaction with three conditional
  counter updates (an upsert `... DO UPDATE SET used = used + 1 WHERE used + 1 <= lim`, since
  each new user's counter is created on first use) and one ledger INSERT, with the stdlib
  driver.
In memory, the store's own part is timed too: the `count` requests of a library run replayed
on a fresh store, alone (what a redeem would cost if the engine around it cost nothing).
Prints redeems per second and the ratio library / raw.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from liveops_rules import Coupon, RewardItem, User
from liveops_rules.accounting import Accounting, check_ledger
from liveops_rules.stores import (
    CountRequest,
    CountResult,
    InMemoryStore,
    RedemptionStore,
    SQLiteStore,
)

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)


def _accounting(store: RedemptionStore) -> Accounting:
    """The benchmark's coupon and code in `store`."""
    accounting = Accounting(store)
    promotion = Coupon(
        external_id="bench",
        enabled=True,
        bonus=[RewardItem("gem")],
        redeem_total_limit=10**9,
        redeem_user_limit=5,
        redeem_code_limit=10**9,
    )
    accounting.import_promotions([promotion])
    accounting.add_codes(promotion, ["BENCH1"])
    return accounting


def library_rate(store: RedemptionStore, count: int) -> float:
    accounting = _accounting(store)
    users = [User(f"user-{n}") for n in range(count)]
    started = time.perf_counter()
    for user in users:
        if not accounting.redeem("BENCH1", user, AT).ok:
            raise AssertionError("a benchmark redeem was refused")
    elapsed = time.perf_counter() - started
    assert check_ledger(store) == []
    return count / elapsed


def count_requests(count: int) -> list[CountRequest]:
    """The `count` requests a library run of `count` redeems sends its store."""
    store = InMemoryStore()
    accounting = _accounting(store)
    requests: list[CountRequest] = []
    counted = store.count

    def recording(request: CountRequest) -> CountResult:
        requests.append(request)
        return counted(request)

    store.count = recording  # type: ignore[method-assign]
    for n in range(count):
        if not accounting.redeem("BENCH1", User(f"user-{n}"), AT).ok:
            raise AssertionError("a benchmark redeem was refused")
    return requests


def store_count_rate(requests: list[CountRequest]) -> float:
    """Redeems per second of a fresh in-memory store answering `requests` alone."""
    store = InMemoryStore()
    _accounting(store)
    count = store.count
    started = time.perf_counter()
    for request in requests:
        if not count(request).ok:
            raise AssertionError("a replayed count was refused")
    elapsed = time.perf_counter() - started
    assert check_ledger(store) == []
    return len(requests) / elapsed


def raw_memory_rate(count: int) -> float:
    lock = threading.Lock()
    counters: dict[str, int] = {}
    ledger: list[tuple[object, ...]] = []
    limits = {"t": 10**9, "u": 5, "c": 10**9}
    started = time.perf_counter()
    for n in range(count):
        keys = ("t|bench", f"u|bench|user-{n}", "c|bench|BENCH1")
        with lock:
            if all(counters.get(k, 0) + 1 <= limits[k[0]] for k in keys):
                for key in keys:
                    counters[key] = counters.get(key, 0) + 1
                ledger.append((AT, "redeem", f"op-{n}", keys))
    return count / (time.perf_counter() - started)


def raw_sqlite_rate(path: Path, count: int) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE counters (key TEXT PRIMARY KEY, used INTEGER, lim INTEGER)")
    db.execute(
        "CREATE TABLE ledger (seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT, event TEXT,"
        " operation_id TEXT, user_id TEXT, deltas TEXT)"
    )
    db.execute("INSERT INTO counters VALUES ('t|bench', 0, 1000000000), ('c|bench', 0, 1000000000)")
    started = time.perf_counter()
    for n in range(count):
        db.execute("BEGIN IMMEDIATE")
        ok = True
        for key in ("t|bench", f"u|bench|user-{n}", "c|bench"):
            # A new user's counter is created on first use, as the library must do too.
            changed = db.execute(
                "INSERT INTO counters VALUES (?, 1, 5) ON CONFLICT (key)"
                " DO UPDATE SET used = used + 1 WHERE used + 1 <= lim",
                (key,),
            ).rowcount
            ok = ok and changed == 1
        db.execute(
            "INSERT INTO ledger (at, event, operation_id, user_id, deltas) VALUES (?, ?, ?, ?, ?)",
            (AT.isoformat(), "redeem", f"op-{n}", f"user-{n}", "[]"),
        )
        db.execute("COMMIT" if ok else "ROLLBACK")
    elapsed = time.perf_counter() - started
    db.close()
    return count / elapsed


def sqlite_library_rate(directory: Path, count: int) -> float:
    store = SQLiteStore(directory / "library.db", synchronous="NORMAL")
    try:
        return library_rate(store, count)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(
        f"Python {sys.version.split()[0]}; {args.count} redeems per run; best of "
        f"{args.rounds} alternating rounds"
    )
    requests = count_requests(args.count)
    libraries, counts, raws = [], [], []
    for _ in range(args.rounds):  # alternate, so that a noisy spell hits all three
        libraries.append(library_rate(InMemoryStore(), args.count))
        counts.append(store_count_rate(requests))
        raws.append(raw_memory_rate(args.count))
    library, alone, raw = max(libraries), max(counts), max(raws)
    print(f"memory: library {library:9,.0f}/s  raw floor {raw:9,.0f}/s  ratio {library / raw:5.0%}")
    print(
        f"memory: the store's count alone {alone:9,.0f}/s  ratio to the raw floor "
        f"{alone / raw:5.0%} (the most a redeem could reach with an engine costing nothing)"
    )
    libraries, raws = [], []
    for _ in range(args.rounds):  # alternate, so that a noisy spell hits both
        with tempfile.TemporaryDirectory() as directory:
            libraries.append(sqlite_library_rate(Path(directory), args.count))
            raws.append(raw_sqlite_rate(Path(directory) / "raw.db", args.count))
    library, raw = max(libraries), max(raws)
    print(f"sqlite: library {library:9,.0f}/s  raw floor {raw:9,.0f}/s  ratio {library / raw:5.0%}")


if __name__ == "__main__":
    main()
