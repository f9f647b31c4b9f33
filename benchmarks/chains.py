"""Reward chains: earns and claims per second against a raw floor on the same store, and the
client view of a player with 20 chains of 31 steps.

Run: python benchmarks/chains.py [--count 6000] [--chunk 250] [--no-postgres]

For SQLite (WAL, synchronous=NORMAL) and PostgreSQL (a throwaway cluster on loopback, as the
tests start one), alternating chunks of library and raw operations, so that the machine's
noisy spells hit both alike:
- earn: `RewardChains.earn` of a one-line order (a value point mapped, one chain credited,
  idempotent by order id) against the floor: in one transaction, the order's idempotency row,
  the balance counter's upsert and a ledger line;
- claim: `RewardChains.claim` of a step (once a period, the balance checked in the same step)
  against the floor: in one transaction, the balance read, the claim counter's conditional
  upsert and a ledger line.
The floors' ledger lines and counters are those of `redeem_throughput.py`'s floors, so the
ratios compare with redeem's. The library does more in the same transaction: the
configuration's version check and the operation's row (which a refund or replay needs).
Then the view: `player_chains` for a player who sees 20 chains of 31 steps, 3 claimed in each.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from liveops_rules import User, ValidityWindow, open_store  # noqa: E402
from liveops_rules.chains.reward import RewardChains  # noqa: E402
from liveops_rules.models.chains import (  # noqa: E402
    ChainReward,
    RewardChain,
    RewardChainStep,
    ValuePoint,
    ValuePointReward,
)
from liveops_rules.stores import InMemoryStore, RedemptionStore  # noqa: E402

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)
Runner = Callable[[int], float]  # runs n operations, returns the seconds they took


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


def library_runner(store: RedemptionStore, claim: bool) -> Runner:
    chains = prepared(store)
    done = [0]

    def run(n: int) -> float:
        first = done[0]
        done[0] += n
        users = [User(f"u{m}") for m in range(first, first + n)]
        if claim:  # each claimer's balance, earned before the clock starts
            for user in users:
                chains.earn(f"pre-{user.id}", user, [("gem", 1)], AT)
        started = time.perf_counter()
        for m, user in enumerate(users, first):
            if claim:
                if not chains.claim(1, 1, user, AT).ok:
                    raise AssertionError("a benchmark claim was refused")
            else:
                chains.earn(f"order-{m}", user, [("gem", 1)], AT)
        return time.perf_counter() - started

    return run


def raw_sqlite_runner(path: Path, claim: bool) -> tuple[Runner, Callable[[], None]]:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE counters (key TEXT PRIMARY KEY, used INTEGER, lim INTEGER)")
    db.execute("CREATE TABLE idempotency (key TEXT PRIMARY KEY, result TEXT)")
    db.execute(
        "CREATE TABLE ledger (seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT, event TEXT,"
        " operation_id TEXT, user_id TEXT, deltas TEXT)"
    )
    ledger = "INSERT INTO ledger (at, event, operation_id, user_id, deltas) VALUES (?, ?, ?, ?, ?)"
    done = [0]

    def run(n: int) -> float:
        first = done[0]
        done[0] += n
        if claim:
            db.executemany(
                "INSERT INTO counters VALUES (?, 10, NULL)",
                [(f"b{m}",) for m in range(first, first + n)],
            )
        started = time.perf_counter()
        for m in range(first, first + n):
            db.execute("BEGIN IMMEDIATE")
            if claim:
                (balance,) = db.execute(
                    "SELECT used FROM counters WHERE key = ?", (f"b{m}",)
                ).fetchone()
                ok = (
                    balance >= 10
                    and db.execute(
                        "INSERT INTO counters VALUES (?, 1, 1) ON CONFLICT (key)"
                        " DO UPDATE SET used = used + 1 WHERE used + 1 <= lim",
                        (f"c{m}",),
                    ).rowcount
                    == 1
                )
            else:
                db.execute("INSERT INTO idempotency VALUES (?, 'result')", (f"order-{m}",))
                db.execute(
                    "INSERT INTO counters VALUES (?, 10, NULL) ON CONFLICT (key)"
                    " DO UPDATE SET used = used + 10",
                    (f"b{m}",),
                )
                ok = True
            db.execute(ledger, (AT.isoformat(), "redeem", f"op-{m}", f"u{m}", "[]"))
            db.execute("COMMIT" if ok else "ROLLBACK")
            if not ok:
                raise AssertionError("a raw claim was refused")
        return time.perf_counter() - started

    return run, db.close


def raw_postgres_runner(url: str, claim: bool) -> tuple[Runner, Callable[[], None]]:
    import psycopg

    schema = f"raw_{uuid.uuid4().hex}"
    db = psycopg.connect(url, autocommit=True)
    db.execute(f"CREATE SCHEMA {schema}")
    db.execute(
        f'CREATE TABLE {schema}.counters (key text COLLATE "C" PRIMARY KEY,'
        " used bigint NOT NULL, lim bigint)"
    )
    db.execute(f'CREATE TABLE {schema}.idempotency (key text COLLATE "C" PRIMARY KEY, result text)')
    db.execute(
        f"CREATE TABLE {schema}.ledger (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " at timestamptz, event text, operation_id text, user_id text, deltas jsonb)"
    )
    ledger = (
        f"INSERT INTO {schema}.ledger (at, event, operation_id, user_id, deltas)"
        " VALUES (%s, %s, %s, %s, %s::jsonb)"
    )
    done = [0]

    def run(n: int) -> float:
        first = done[0]
        done[0] += n
        if claim:
            with db.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO {schema}.counters VALUES (%s, 10, NULL)",
                    [(f"b{m}",) for m in range(first, first + n)],
                )
        started = time.perf_counter()
        for m in range(first, first + n):
            with db.transaction(), db.cursor() as cur:
                if claim:
                    # The balance locked (FOR SHARE): no refund lowers it before the commit.
                    cur.execute(
                        f"SELECT used FROM {schema}.counters WHERE key = %s FOR SHARE", (f"b{m}",)
                    )
                    row = cur.fetchone()
                    cur.execute(
                        f"INSERT INTO {schema}.counters AS c VALUES (%s, 1, 1) ON CONFLICT (key)"
                        " DO UPDATE SET used = c.used + 1 WHERE c.used + 1 <= c.lim",
                        (f"c{m}",),
                    )
                    if row is None or row[0] < 10 or cur.rowcount != 1:
                        raise AssertionError("a raw claim was refused")
                else:
                    cur.execute(
                        f"INSERT INTO {schema}.idempotency VALUES (%s, 'result')", (f"order-{m}",)
                    )
                    cur.execute(
                        f"INSERT INTO {schema}.counters AS c VALUES (%s, 10, NULL)"
                        " ON CONFLICT (key) DO UPDATE SET used = c.used + 10",
                        (f"b{m}",),
                    )
                cur.execute(ledger, (AT, "redeem", f"op-{m}", f"u{m}", "[]"))
        return time.perf_counter() - started

    return run, db.close


def paired(library: Runner, raw: Runner, count: int, chunk: int) -> tuple[float, float, float]:
    """Alternate chunks of library and raw operations: the rates over all chunks and the
    median of the chunk pairs' ratios."""
    library(chunk)  # warm-up: connections, caches, prepared statements
    raw(chunk)
    spent_library, spent_raw, ratios = 0.0, 0.0, []
    rounds = max(1, count // chunk)
    for _ in range(rounds):
        a, b = library(chunk), raw(chunk)
        spent_library += a
        spent_raw += b
        ratios.append(b / a)
    ratios.sort()
    return rounds * chunk / spent_library, rounds * chunk / spent_raw, ratios[len(ratios) // 2]


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
        if total != 20 or len(views[0].claimed) != 3:
            raise AssertionError("the view is wrong")
    return best


def report(kind: str, label: str, rates: tuple[float, float, float]) -> None:
    mine, raw, median = rates
    print(
        f"{kind:8} {label:5}: library {mine:8,.0f}/s  raw floor {raw:8,.0f}/s"
        f"  ratio {mine / raw:5.0%} (median of chunk pairs {median:5.0%})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=6_000)
    parser.add_argument("--chunk", type=int, default=250)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite and memory only")
    args = parser.parse_args()
    print(
        f"Python {sys.version.split()[0]}; {args.count} each, alternating chunks of "
        f"{args.chunk} library / raw"
    )
    closers: list[Callable[[], Any]] = []
    with tempfile.TemporaryDirectory() as directory:
        stores: dict[str, Callable[[], RedemptionStore]] = {
            "sqlite": lambda: open_store(
                f"sqlite:///{Path(directory) / uuid.uuid4().hex}.db?synchronous=NORMAL"
            )
        }
        raws: dict[str, Callable[[bool], tuple[Runner, Callable[[], None]]]] = {
            "sqlite": lambda claim: raw_sqlite_runner(
                Path(directory) / f"raw-{uuid.uuid4().hex}.db", claim
            )
        }
        if not args.no_postgres:
            from tests.servers import PostgresServer

            server = PostgresServer()
            closers.append(server.destroy)
            stores["postgres"] = lambda: open_store(
                f"{server.url}?schema=bench_{uuid.uuid4().hex}&create_schema=true&pool_size=1"
            )
            raws["postgres"] = lambda claim: raw_postgres_runner(server.url, claim)
        try:
            for kind, opener in stores.items():
                for label, claim in (("earn", False), ("claim", True)):
                    store = opener()
                    raw, close_raw = raws[kind](claim)
                    try:
                        report(
                            kind,
                            label,
                            paired(library_runner(store, claim), raw, args.count, args.chunk),
                        )
                    finally:
                        store.close()
                        close_raw()
            for kind, opener in {"memory": InMemoryStore, **stores}.items():
                store = opener()
                try:
                    print(f"{kind:8} view, 20 chains x 31 steps: {view_time(store) * 1e6:6.0f} µs")
                finally:
                    store.close()
        finally:
            for close in closers:
                close()


if __name__ == "__main__":
    main()
