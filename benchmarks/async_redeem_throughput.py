"""One event loop with 64 tasks against the sync API with 8 threads, on Redis and PostgreSQL.

Run: python benchmarks/async_redeem_throughput.py [--count 8000] [--rounds 3] [--tasks 64]

Starts a throwaway redis-server (AOF, appendfsync everysec) and PostgreSQL cluster on loopback,
as the tests do. Everything runs in this one process (the servers in their own): per store,
alternating rounds of
- sync: `Accounting` over one store opened by `open_store`, redeemed from 8 threads;
- async: `AsyncAccounting` over one store opened by `open_async_store`, redeemed by 64 tasks
  on one event loop (Redis: redis.asyncio; PostgreSQL: psycopg's AsyncConnectionPool, as many
  connections as the sync pool: 8).
Each round redeems `count` new users on one coupon (three limits: total, per user, per code)
and checks the ledger. Prints redeems per second and the ratio async / sync.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from liveops_rules import AsyncAccounting, Coupon, RewardItem, User, open_store  # noqa: E402
from liveops_rules.accounting import Accounting, check_ledger  # noqa: E402
from liveops_rules.stores.asynchronous import open_async_store  # noqa: E402
from tests.servers import PostgresServer, RedisServer  # noqa: E402

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)
BIG = 10**9
THREADS = 8
TASKS = 64  # --tasks
COUPON = Coupon(
    external_id="bench",
    enabled=True,
    bonus=[RewardItem("gem")],
    redeem_total_limit=BIG,
    redeem_user_limit=5,
    redeem_code_limit=BIG,
)


def sync_rate(uri: str, count: int, tag: str) -> float:
    """Redeems per second of `count` new users from THREADS threads over one store."""
    store = open_store(uri)
    try:
        accounting = Accounting(store)
        accounting.import_promotions([COUPON])
        accounting.add_codes(COUPON, ["BENCH1"])
        accounting.redeem("BENCH1", User(f"{tag}-warm"), AT)
        refused: list[str] = []
        start = threading.Barrier(THREADS + 1)

        def client(n: int) -> None:
            users = [User(f"{tag}-{n}-{m}") for m in range(count // THREADS)]
            start.wait()
            for user in users:
                if not accounting.redeem("BENCH1", user, AT).ok:
                    refused.append(user.id)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        if refused:
            raise AssertionError(f"{len(refused)} benchmark redeems were refused")
        assert check_ledger(store) == []
        return THREADS * (count // THREADS) / elapsed
    finally:
        store.close()


async def _async_rate(uri: str, count: int, tag: str) -> float:
    async with AsyncAccounting(open_async_store(uri)) as accounting:
        await accounting.import_promotions([COUPON])
        await accounting.add_codes(COUPON, ["BENCH1"])
        # warm-up: one connection per task, scripts or statements loaded
        await asyncio.gather(
            *(accounting.redeem("BENCH1", User(f"{tag}-warm-{n}"), AT) for n in range(TASKS))
        )

        async def client(n: int) -> int:
            refused = 0
            for m in range(count // TASKS):
                if not (await accounting.redeem("BENCH1", User(f"{tag}-{n}-{m}"), AT)).ok:
                    refused += 1
            return refused

        began = time.perf_counter()
        refused = sum(await asyncio.gather(*(client(n) for n in range(TASKS))))
        elapsed = time.perf_counter() - began
        if refused:
            raise AssertionError(f"{refused} benchmark redeems were refused")
        return TASKS * (count // TASKS) / elapsed


def async_rate(uri: str, count: int, tag: str) -> float:
    """Redeems per second of `count` new users from TASKS tasks on one event loop."""
    rate = asyncio.run(_async_rate(uri, count, tag))
    store = open_store(uri)
    try:
        assert check_ledger(store) == []
    finally:
        store.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=8_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=64)
    args = parser.parse_args()
    global TASKS
    TASKS = args.tasks  # the one setting every round shares
    print(
        f"Python {sys.version.split()[0]}; {args.count} redeems per round, {args.rounds} "
        f"alternating rounds; sync {THREADS} threads, async {TASKS} tasks on one loop"
    )
    redis_server = RedisServer(appendfsync="everysec")
    postgres_server = PostgresServer()
    try:
        uris = {
            "redis": lambda: f"{redis_server.url}?prefix=bench-{uuid.uuid4().hex}",
            "postgres": lambda: (
                f"{postgres_server.url}?schema=bench_{uuid.uuid4().hex}"
                f"&create_schema=true&pool_size={THREADS}"
            ),
        }
        for kind in ("redis", "postgres"):
            syncs, asyncs = [], []
            for round_ in range(args.rounds):
                syncs.append(sync_rate(uris[kind](), args.count, f"s{round_}"))
                asyncs.append(async_rate(uris[kind](), args.count, f"a{round_}"))
            ratios = sorted(a / s for a, s in zip(asyncs, syncs, strict=True))
            print(
                f"{kind:8} sync {THREADS} threads {sorted(syncs)[len(syncs) // 2]:8,.0f}/s  "
                f"async {TASKS} tasks {sorted(asyncs)[len(asyncs) // 2]:8,.0f}/s  "
                f"async/sync {ratios[len(ratios) // 2]:5.2f}x "
                f"(rounds {', '.join(f'{r:.2f}' for r in ratios)})"
            )
    finally:
        redis_server.stop()
        postgres_server.destroy()


if __name__ == "__main__":
    main()
