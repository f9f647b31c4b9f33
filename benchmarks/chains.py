"""Reward chains: earns and claims per second against a raw floor on the same store, and the
client view of a player with 20 chains of 31 steps.

Run: python benchmarks/chains.py [--count 5000] [--rounds 3]

- earn: `RewardChains.earn` of a one-line order (a value point mapped, one chain credited,
  idempotent by order id) against the floor: the balance counter's upsert and a ledger line
  (memory: dict updates under a lock; SQLite: one BEGIN IMMEDIATE transaction, WAL,
  synchronous=NORMAL, with the idempotency row the library keeps too);
- claim: `RewardChains.claim` of a step (once a period, the balance checked in the same step)
  against the floor: the balance read, the claim counter's conditional upsert and a ledger
  line, in one transaction;
- view: `player_chains` for a player who sees 20 chains of 31 steps with some claimed.
Each prints the library's rate, the floor's, and the ratio (best of alternating rounds).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from liveops_rules import User, ValidityWindow
from liveops_rules.chains.reward import RewardChains
from liveops_rules.models.chains import (
    ChainReward,
    RewardChain,
    RewardChainStep,
    ValuePoint,
    ValuePointReward,
)
from liveops_rules.stores import InMemoryStore, RedemptionStore, SQLiteStore

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)


def prepared(store: RedemptionStore, chains_count: int = 1, steps: int = 3) -> RewardChains:
    chains = RewardChains(store)
    chains.put_value_point(ValuePoint(sku="vp", name={"en": "VP"}))
    chains.set_value_point_rewards("vp", [ValuePointReward("gem", 10)])
    for n in range(chains_count):
        chains.create_chain(
            RewardChain(
                name={"en": f"Chain {n}"},
                window=ValidityWindow(AT - timedelta(days=1), None),
                enabled=True,
                value_point="vp",
                steps=[
                    RewardChainStep(name={"en": str(s)}, price=10 * s, rewards=[ChainReward("x")])
                    for s in range(1, steps + 1)
                ],
            )
        )
    return chains


def library_earns(store: RedemptionStore, count: int) -> float:
    chains = prepared(store)
    started = time.perf_counter()
    for n in range(count):
        chains.earn(f"order-{n}", User(f"u{n}"), [("gem", 1)], AT)
    return count / (time.perf_counter() - started)


def library_claims(store: RedemptionStore, count: int) -> float:
    chains = prepared(store)
    for n in range(count):
        chains.earn(f"order-{n}", User(f"u{n}"), [("gem", 1)], AT)
    started = time.perf_counter()
    for n in range(count):
        if not chains.claim(1, 1, User(f"u{n}"), AT).ok:
            raise AssertionError("a benchmark claim was refused")
    return count / (time.perf_counter() - started)


def raw_memory(count: int, claim: bool) -> float:
    lock = threading.Lock()
    counters: dict[str, int] = {f"b{n}": 10 for n in range(count)} if claim else {}
    ledger: list[tuple[object, ...]] = []
    seen: dict[str, str] = {}
    started = time.perf_counter()
    for n in range(count):
        with lock:
            if claim:
                key = f"c{n}"
                if counters.get(f"b{n}", 0) >= 10 and counters.get(key, 0) < 1:
                    counters[key] = 1
                    ledger.append((AT, "redeem", f"op-{n}", key))
            else:
                seen[f"order-{n}"] = "result"
                counters[f"b{n}"] = counters.get(f"b{n}", 0) + 10
                ledger.append((AT, "redeem", f"op-{n}", f"b{n}"))
    return count / (time.perf_counter() - started)


def raw_sqlite(path: Path, count: int, claim: bool) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE counters (key TEXT PRIMARY KEY, used INTEGER, lim INTEGER)")
    db.execute("CREATE TABLE idempotency (key TEXT PRIMARY KEY, result TEXT)")
    db.execute("CREATE TABLE ledger (seq INTEGER PRIMARY KEY, at TEXT, operation_id TEXT)")
    if claim:
        db.executemany(
            "INSERT INTO counters VALUES (?, 10, NULL)", [(f"b{n}",) for n in range(count)]
        )
    started = time.perf_counter()
    for n in range(count):
        db.execute("BEGIN IMMEDIATE")
        if claim:
            (balance,) = db.execute(
                "SELECT used FROM counters WHERE key = ?", (f"b{n}",)
            ).fetchone()
            ok = (
                balance >= 10
                and db.execute(
                    "INSERT INTO counters VALUES (?, 1, 1) ON CONFLICT (key)"
                    " DO UPDATE SET used = used + 1 WHERE used + 1 <= lim",
                    (f"c{n}",),
                ).rowcount
                == 1
            )
        else:
            db.execute("INSERT INTO idempotency VALUES (?, 'result')", (f"order-{n}",))
            db.execute(
                "INSERT INTO counters VALUES (?, 10, NULL) ON CONFLICT (key)"
                " DO UPDATE SET used = used + 10",
                (f"b{n}",),
            )
            ok = True
        db.execute(
            "INSERT INTO ledger (at, operation_id) VALUES (?, ?)", (AT.isoformat(), f"op-{n}")
        )
        db.execute("COMMIT" if ok else "ROLLBACK")
    elapsed = time.perf_counter() - started
    db.close()
    return count / elapsed


def view_time(store: RedemptionStore) -> float:
    chains = prepared(store, chains_count=20, steps=31)
    player = User("viewer")
    chains.earn("big", player, [("gem", 1000)], AT)
    for chain_id in range(1, 21):
        for step in (1, 2, 3):
            chains.claim(chain_id, step, player, AT)
    best = float("inf")
    for _ in range(50):
        started = time.perf_counter()
        views, total = chains.player_chains(player, AT)
        best = min(best, time.perf_counter() - started)
        if total != 20 or not views[0].claimed:
            raise AssertionError("the view is wrong")
    return best


def report(store: str, label: str, mine: float, raw: float) -> None:
    print(
        f"{store} {label:5s}: library {mine:9,.0f}/s  raw floor {raw:9,.0f}/s"
        f"  ratio {mine / raw:5.0%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}; {args.count} per run; best of {args.rounds} rounds")
    for label, library, claim in (("earn", library_earns, False), ("claim", library_claims, True)):
        mine = max(library(InMemoryStore(), args.count) for _ in range(args.rounds))
        raw = max(raw_memory(args.count, claim) for _ in range(args.rounds))
        report("memory", label, mine, raw)
        mines, raws = [], []
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as directory:
                store = SQLiteStore(Path(directory) / "lib.db", synchronous="NORMAL")
                try:
                    mines.append(library(store, args.count))
                finally:
                    store.close()
                raws.append(raw_sqlite(Path(directory) / "raw.db", args.count, claim))
        mine, raw = max(mines), max(raws)
        report("sqlite", label, mine, raw)
    print(f"memory view, 20 chains x 31 steps: {view_time(InMemoryStore()) * 1e6:8.0f} µs")
    with tempfile.TemporaryDirectory() as directory:
        store = SQLiteStore(Path(directory) / "view.db", synchronous="NORMAL")
        try:
            print(f"sqlite view, 20 chains x 31 steps: {view_time(store) * 1e6:8.0f} µs")
        finally:
            store.close()


if __name__ == "__main__":
    main()
