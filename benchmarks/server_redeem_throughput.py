"""Redeem throughput on Redis and PostgreSQL, against the raw driver doing the same work.

Run: python benchmarks/server_redeem_throughput.py [--count 10000] [--chunk 250]

Starts a throwaway redis-server (AOF, appendfsync everysec) and PostgreSQL cluster (initdb in a
temporary directory) on loopback, as the tests do. For each store:
- one client: the library's `Accounting.redeem` (promotion load, evaluation, three limits:
  total, per user, per code; ledger) against a raw floor on the same server, alternating rounds:
  - redis: one EVALSHA of a Lua script that checks three counters, increments them and
    appends a ledger line (redis-py, retries off as in the store);
  - postgres: one transaction with three conditional upserts and a ledger INSERT (psycopg,
    autocommit connection, BEGIN/COMMIT);
- 1, 4 and 16 concurrent clients, each its own process with its own store, against one
  coupon (the total and per-code counters are contended by all of them).
Prints redeems per second and the ratio library / raw.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import redis  # noqa: E402
from redis.backoff import NoBackoff  # noqa: E402
from redis.retry import Retry  # noqa: E402

from liveops_rules import Coupon, RewardItem, User, open_store  # noqa: E402
from liveops_rules.accounting import Accounting, check_ledger  # noqa: E402
from liveops_rules.stores import RedemptionStore  # noqa: E402
from tests.servers import PostgresServer, RedisServer  # noqa: E402

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)
BIG = 10**9

RAW_LUA = """
local keys = {KEYS[1], KEYS[2], KEYS[3]}
local limits = {tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])}
for i = 1, 3 do
  if (tonumber(redis.call('HGET', keys[i], 'u')) or 0) + 1 > limits[i] then return 0 end
end
for i = 1, 3 do redis.call('HINCRBY', keys[i], 'u', 1) end
redis.call('RPUSH', KEYS[4], ARGV[4])
return 1
"""


def prepare(store: RedemptionStore) -> Accounting:
    accounting = Accounting(store)
    promotion = Coupon(
        external_id="bench",
        enabled=True,
        bonus=[RewardItem("gem")],
        redeem_total_limit=BIG,
        redeem_user_limit=5,
        redeem_code_limit=BIG,
    )
    accounting.import_promotions([promotion])
    accounting.add_codes(promotion, ["BENCH1"])
    return accounting


def library_runner(uri: str) -> tuple[Any, Any]:
    """A function timing `n` library redeems (new users each time), and a closer."""
    store = open_store(uri)
    accounting = prepare(store)
    done = [0]

    def run(n: int) -> float:
        users = [User(f"user-{done[0] + i}") for i in range(n)]
        done[0] += n
        started = time.perf_counter()
        for user in users:
            if not accounting.redeem("BENCH1", user, AT).ok:
                raise AssertionError("a benchmark redeem was refused")
        return time.perf_counter() - started

    def close() -> None:
        assert check_ledger(store) == []
        store.close()

    return run, close


def raw_redis_runner(url: str) -> tuple[Any, Any]:
    """A function timing `n` raw redeems on Redis, and a closer."""
    client = redis.Redis.from_url(url, decode_responses=True, retry=Retry(NoBackoff(), 0))
    sha = client.script_load(RAW_LUA)
    base = f"{{raw-{uuid.uuid4().hex}}}:"
    done = [0]

    def run(n: int) -> float:
        first = done[0]
        done[0] += n
        started = time.perf_counter()
        for m in range(first, first + n):
            line = f'["{AT.isoformat()}","redeem","op-{m}","user-{m}"]'
            keys = (base + "t", f"{base}u|user-{m}", base + "c", base + "ledger")
            if client.evalsha(sha, 4, *keys, BIG, 5, BIG, line) != 1:
                raise AssertionError("a raw redeem was refused")
        return time.perf_counter() - started

    return run, client.close


def raw_postgres_runner(url: str) -> tuple[Any, Any]:
    """A function timing `n` raw redeems on PostgreSQL, and a closer."""
    schema = f"raw_{uuid.uuid4().hex}"
    db = psycopg.connect(url, autocommit=True)
    db.execute(f"CREATE SCHEMA {schema}")
    db.execute(
        f'CREATE TABLE {schema}.counters (key text COLLATE "C" PRIMARY KEY,'
        " used bigint NOT NULL, lim bigint)"
    )
    db.execute(
        f"CREATE TABLE {schema}.ledger (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " at timestamptz, event text, operation_id text, user_id text, deltas jsonb)"
    )
    upsert = (
        f"INSERT INTO {schema}.counters AS c VALUES (%s, 1, %s) ON CONFLICT (key)"
        " DO UPDATE SET used = c.used + 1 WHERE c.used + 1 <= c.lim"
    )
    insert = (
        f"INSERT INTO {schema}.ledger (at, event, operation_id, user_id, deltas)"
        " VALUES (%s, %s, %s, %s, %s::jsonb)"
    )
    done = [0]

    def run(n: int) -> float:
        first = done[0]
        done[0] += n
        started = time.perf_counter()
        for m in range(first, first + n):
            with db.transaction(), db.cursor() as cur:
                for key, limit in (("t|bench", BIG), (f"u|bench|user-{m}", 5), ("c|bench", BIG)):
                    cur.execute(upsert, (key, limit))
                    if cur.rowcount != 1:
                        raise AssertionError("a raw redeem was refused")
                cur.execute(insert, (AT, "redeem", f"op-{m}", f"user-{m}", "[]"))
        return time.perf_counter() - started

    return run, db.close


def paired(library: Any, raw: Any, count: int, chunk: int) -> tuple[float, float, float]:
    """Alternate chunks of library and raw redeems (a noisy spell hits both alike): the
    rates over all chunks and the median of the chunk pairs' ratios."""
    library(chunk)  # warm-up: connections, scripts, prepared statements
    raw(chunk)
    spent_library, spent_raw, ratios = 0.0, 0.0, []
    for _ in range(max(1, count // chunk)):
        a, b = library(chunk), raw(chunk)
        spent_library += a
        spent_raw += b
        ratios.append(b / a)
    ratios.sort()
    total = max(1, count // chunk) * chunk
    return total / spent_library, total / spent_raw, ratios[len(ratios) // 2]


def _client(uri: str, count: int, tag: str, start: Any, results: Any) -> None:
    store = open_store(uri)
    accounting = Accounting(store)
    users = [User(f"{tag}-{n}") for n in range(count)]
    accounting.redeem("BENCH1", User(f"{tag}-warm"), AT)
    start.wait()
    for user in users:
        accounting.redeem("BENCH1", user, AT)
    results.put(time.perf_counter())
    store.close()


def concurrent_rate(uri: str, clients: int, per_client: int) -> float:
    store = open_store(uri)
    prepare(store)
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(clients + 1)
    results = context.Queue()
    workers = [
        context.Process(target=_client, args=(uri, per_client, f"c{n}", start, results))
        for n in range(clients)
    ]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    finished = max(results.get(timeout=600) for _ in workers)
    for worker in workers:
        worker.join()
    assert check_ledger(store) == []
    store.close()
    return clients * per_client / (finished - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=250)
    args = parser.parse_args()
    print(
        f"Python {sys.version.split()[0]}; {args.count} redeems each, alternating chunks of "
        f"{args.chunk} library / raw"
    )
    redis_server = RedisServer(appendfsync="everysec")
    postgres_server = PostgresServer()
    try:
        uris = {
            "redis": lambda: f"{redis_server.url}?prefix=bench-{uuid.uuid4().hex}",
            "postgres": lambda: (
                f"{postgres_server.url}?schema=bench_{uuid.uuid4().hex}"
                "&create_schema=true&pool_size=1"
            ),
        }
        raws = {
            "redis": lambda: raw_redis_runner(redis_server.url),
            "postgres": lambda: raw_postgres_runner(postgres_server.url),
        }
        for kind in ("redis", "postgres"):
            library, close_library = library_runner(uris[kind]())
            raw, close_raw = raws[kind]()
            library_rate, raw_rate, ratio = paired(library, raw, args.count, args.chunk)
            close_library()
            close_raw()
            print(
                f"{kind:8} 1 client: library {library_rate:8,.0f}/s  raw floor {raw_rate:8,.0f}/s"
                f"  ratio {library_rate / raw_rate:5.0%} (median of chunk pairs {ratio:5.0%})"
            )
            for clients in (1, 4, 16):
                uri = uris[kind]()
                if kind == "postgres":
                    created = open_store(uri)  # the schema, before the clients open it
                    created.close()
                    uri = uri.replace("&create_schema=true", "")
                rate = concurrent_rate(uri, clients, max(200, args.count // 2 // clients))
                print(f"{kind:8} {clients:2} concurrent clients (processes): {rate:8,.0f}/s")
    finally:
        redis_server.stop()
        postgres_server.destroy()


if __name__ == "__main__":
    main()
