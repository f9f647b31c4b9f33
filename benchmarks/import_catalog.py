"""Importing a catalog file into a store, against loading the same file (the floor).

Run: python benchmarks/import_catalog.py [--size 10000] [--stores memory,sqlite,redis,postgres]

A seeded catalog of `size` promotions (coupons, promo codes and item discounts, a code each for
the coupons and promo codes) is written to a JSON file. The floor is what any import must do:
read the file, parse it and build the models (`load_catalog_codes` of `read_json_file`). Each
store then gets, in the same process and alternating with a fresh floor measurement:
- the first import into an empty store (every promotion and code written);
- a second import of the same file (nothing changed: what `redeem --catalog` costs each time);
- a sync of the same file (`--sync`: reads every code of the store as well).
Each figure includes loading the file, as the command line does. Printed: seconds and the
ratio to the floor. Redis and PostgreSQL servers are started on loopback as the tests do.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from liveops_rules import Accounting, open_store  # noqa: E402
from liveops_rules.wire import load_catalog_codes, read_json_file  # noqa: E402
from tests.servers import PostgresServer, RedisServer  # noqa: E402

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)


def write_catalog(path: Path, size: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    coupons, promocodes, discounts = [], [], []
    for n in range(size):
        conditions = [
            {
                "attribute": f"attr{rng.randrange(20)}",
                "type": "string",
                "operator": rng.choice(["eq", "ne"]),
                "value": f"v{rng.randrange(30)}",
            }
            for _ in range(rng.randrange(1, 5))
        ]
        common = {
            "name": {"en-US": f"Promotion {n}"},
            "date_start": "2026-11-01T00:00:00+00:00",
            "date_end": "2027-01-01T00:00:00+00:00",
            "attribute_conditions": conditions,
            "is_enabled": True,
        }
        kind = n % 3
        if kind == 0:
            coupons.append(
                {
                    **common,
                    "external_id": f"coupon_{n}",
                    "bonus": [{"sku": f"item_{rng.randrange(500)}", "quantity": 1}],
                    "redeem_total_limit": 1000,
                    "redeem_user_limit": 1,
                    "codes": [f"C{n:07d}"],
                }
            )
        elif kind == 1:
            promocodes.append(
                {
                    **common,
                    "external_id": f"promo_{n}",
                    "discount": {"percent": "10.00"},
                    "codes": [f"P{n:07d}"],
                }
            )
        else:
            discounts.append(
                {
                    **common,
                    "id": n + 1,
                    "discount": {"percent": "5.00"},
                    "items": [{"sku": f"item_{rng.randrange(500)}"}],
                }
            )
    document = {"coupons": coupons, "promocodes": promocodes, "discounts": discounts}
    path.write_text(json.dumps(document))


def floor(path: Path) -> float:
    start = time.perf_counter()
    load_catalog_codes(read_json_file(path))
    return time.perf_counter() - start


def timed_import(uri: str, path: Path, *, sync: bool = False) -> float:
    start = time.perf_counter()
    promotions, codes = load_catalog_codes(read_json_file(path))
    store = open_store(uri)
    try:
        Accounting(store).import_catalog(promotions, codes, sync=sync, at=AT)
    finally:
        store.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--stores", default="memory,sqlite,redis,postgres")
    args = parser.parse_args()
    wanted = args.stores.split(",")
    print(f"Python {sys.version.split()[0]}; {args.size} promotions")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "catalog.json"
        write_catalog(path, args.size)
        redis_server = RedisServer(appendfsync="everysec") if "redis" in wanted else None
        postgres_server = PostgresServer() if "postgres" in wanted else None
        try:
            for name in wanted:
                if name == "memory":
                    uri = None
                elif name == "sqlite":
                    uri = f"sqlite:///{Path(directory) / 'import.db'}"
                elif name == "redis":
                    assert redis_server is not None
                    uri = f"{redis_server.url}?prefix=import-{uuid.uuid4().hex}"
                else:
                    assert postgres_server is not None
                    schema = f"import_{uuid.uuid4().hex}"
                    uri = f"{postgres_server.url}?schema={schema}&create_schema=true"
                if uri is None:  # one store object: a memory store lives in one process
                    rows = memory_rows(path)
                else:
                    rows = [
                        ("first import", timed_import(uri, path), floor(path)),
                        ("same file again", timed_import(uri, path), floor(path)),
                        ("sync, unchanged", timed_import(uri, path, sync=True), floor(path)),
                    ]
                for label, seconds, base in rows:
                    print(
                        f"{name:8s} {label:16s} {seconds:6.2f} s   load alone {base:5.2f} s"
                        f"   ratio {seconds / base:4.2f}x"
                    )
        finally:
            if redis_server is not None:
                redis_server.stop()
            if postgres_server is not None:
                postgres_server.destroy()


def memory_rows(path: Path) -> list[tuple[str, float, float]]:
    store = open_store("memory://")
    accounting = Accounting(store)
    rows = []
    for label, sync in (("first import", False), ("same file again", False), ("sync", True)):
        start = time.perf_counter()
        promotions, codes = load_catalog_codes(read_json_file(path))
        accounting.import_catalog(promotions, codes, sync=sync, at=AT)
        rows.append((label, time.perf_counter() - start, floor(path)))
    return rows


if __name__ == "__main__":
    main()
