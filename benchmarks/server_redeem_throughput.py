"""Redeem throughput on Redis and PostgreSQL, against the raw driver doing the same work.

Run: python benchmarks/server_redeem_throughput.py [--count 5000] [--rounds 3]

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


def library_rate(uri: str, count: int, tag: str) -> float:
    store = open_store(uri)
    accounting = prepare(store)
    users = [User(f"{tag}-{n}") for n in range(count)]
    started = time.perf_counter()
    for user in users:
        if not accounting.redeem("BENCH1", user, AT).ok:
            raise AssertionError("a benchmark redeem was refused")
    rate = count / (time.perf_counter() - started)
    store.close()
    return rate


def raw_redis_rate(url: str, count: int) -> float:
    client = redis.Redis.from_url(url, decode_responses=True, retry=Retry(NoBackoff(), 0))
    sha = client.script_load(RAW_LUA)
    base = f"{{raw-{uuid.uuid4().hex}}}:"
    started = time.perf_counter()
    for n in range(count):
        line = f'["{AT.isoformat()}","redeem","op-{n}","user-{n}"]'
        keys = (base + "t", f"{base}u|user-{n}", base + "c", base + "ledger")
        if client.evalsha(sha, 4, *keys, BIG, 5, BIG, line) != 1:
            raise AssertionError("a raw redeem was refused")
    rate = count / (time.perf_counter() - started)
    client.close()
    return rate


def raw_postgres_rate(url: str, count: int) -> float:
    schema = f"raw_{uuid.uuid4().hex}"
    with psycopg.connect(url, autocommit=True) as db:
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
        started = time.perf_counter()
        for n in range(count):
            with db.transaction(), db.cursor() as cur:
                for key, limit in (("t|bench", BIG), (f"u|bench|user-{n}", 5), ("c|bench", BIG)):
                    cur.execute(upsert, (key, limit))
                    if cur.rowcount != 1:
                        raise AssertionError("a raw redeem was refused")
                cur.execute(insert, (AT, "redeem", f"op-{n}", f"user-{n}", "[]"))
        return count / (time.perf_counter() - started)


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
    parser.add_argument("--count", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(
        f"Python {sys.version.split()[0]}; {args.count} redeems per run; best of "
        f"{args.rounds} alternating rounds"
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
            "redis": lambda: raw_redis_rate(redis_server.url, args.count),
            "postgres": lambda: raw_postgres_rate(postgres_server.url, args.count),
        }
        for kind in ("redis", "postgres"):
            libraries, floors = [], []
            for _ in range(args.rounds):  # alternate, so that a noisy spell hits both
                libraries.append(library_rate(uris[kind](), args.count, "user"))
                floors.append(raws[kind]())
            library, raw = max(libraries), max(floors)
            print(
                f"{kind:8} 1 client: library {library:8,.0f}/s  raw floor {raw:8,.0f}/s  "
                f"ratio {library / raw:5.0%}"
            )
            for clients in (1, 4, 16):
                uri = uris[kind]()
                if kind == "postgres":
                    created = open_store(uri)  # the schema, before the clients open it
                    created.close()
                    uri = uri.replace("&create_schema=true", "")
                rate = concurrent_rate(uri, clients, max(200, args.count // clients))
                print(f"{kind:8} {clients:2} concurrent clients (processes): {rate:8,.0f}/s")
    finally:
        redis_server.stop()
        postgres_server.destroy()


if __name__ == "__main__":
    main()
