"""Daily and offer chains: claims per second against a raw floor on the same store, and the
client view of a player with 20 chains of 30 steps.

Run: python benchmarks/ladders.py [--count 6000] [--chunk 250] [--no-postgres]

For SQLite (WAL, synchronous=NORMAL) and PostgreSQL (a throwaway cluster on loopback), with
alternating chunks of library and raw operations, as `chains.py` does and against its claim
floor (in one transaction: a counter read, a conditional upsert of the claim counter and a
ledger line):
- daily: `DailyChains.claim` of step 1 of a rolling chain by a new player each time (the
  player's progress counter read, then the compare-and-set of it with the configuration's
  version checked in the same atomic step);
- offer: `OfferChains.claim` of a free step 1 (the player's counters in the chain read as one
  range, then the step's counter counted with its requirements and the version check).
Then the views: `player_chains` for a player who sees 20 chains of 30 steps, 3 steps taken in
each (daily: 10 rolling, 10 calendar; offer: free steps).
"""

from __future__ import annotations

import argparse
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

from benchmarks.chains import paired, raw_postgres_runner, raw_sqlite_runner, report  # noqa: E402
from liveops_rules import User, ValidityWindow, open_store  # noqa: E402
from liveops_rules.chains.daily import DailyChains  # noqa: E402
from liveops_rules.chains.offer import OfferChains  # noqa: E402
from liveops_rules.models import RewardItem  # noqa: E402
from liveops_rules.models.daily import DailyChain, DailyChainStep  # noqa: E402
from liveops_rules.models.offer import OfferChain, OfferChainStep, OfferItem  # noqa: E402
from liveops_rules.stores import InMemoryStore, RedemptionStore  # noqa: E402

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)
START = AT - timedelta(days=3, hours=1)
Runner = Callable[[int], float]


def daily_chain(n: int, steps: int, kind: str = "rolling") -> DailyChain:
    return DailyChain(
        name={"en": f"Daily {n}"},
        window=ValidityWindow(START, None),
        enabled=True,
        type=kind,
        steps=[
            DailyChainStep(step_number=s, items=[RewardItem(f"d{s}")]) for s in range(1, steps + 1)
        ],
    )


def offer_chain(n: int, steps: int) -> OfferChain:
    return OfferChain(
        name={"en": f"Offer {n}"},
        window=ValidityWindow(START, None),
        enabled=True,
        steps=[
            OfferChainStep(step_number=s, is_free=True, items=[OfferItem(f"o{n}-{s}")])
            for s in range(1, steps + 1)
        ],
    )


def library_runner(store: RedemptionStore, kind: str) -> Runner:
    engine: Any
    if kind == "daily":
        engine = DailyChains(store)
        engine.create_chain(daily_chain(1, 7))
    else:
        engine = OfferChains(store)
        engine.create_chain(offer_chain(1, 3))
    done = [0]

    def run(n: int) -> float:
        first = done[0]
        done[0] += n
        users = [User(f"u{m}") for m in range(first, first + n)]
        started = time.perf_counter()
        for user in users:
            if not engine.claim(1, 1, user, AT).ok:
                raise AssertionError("a benchmark claim was refused")
        return time.perf_counter() - started

    return run


def view_time(store: RedemptionStore, kind: str) -> float:
    player = User("viewer")
    engine: Any
    if kind == "daily":
        engine = DailyChains(store)
        for n in range(20):
            engine.create_chain(daily_chain(n, 30, "rolling" if n % 2 else "calendar_hard"))
        for chain_id in range(1, 21):
            for day in range(3):
                moment = START + timedelta(days=day, hours=2)
                engine.claim(chain_id, day + 1, player, moment)
    else:
        engine = OfferChains(store)
        for n in range(20):
            engine.create_chain(offer_chain(n, 30))
        for chain_id in range(1, 21):
            for step in (1, 2, 3):
                engine.claim(chain_id, step, player, AT)
    best = float("inf")
    for _ in range(50):
        started = time.perf_counter()
        views, total = engine.player_chains(player, AT, limit=20)
        best = min(best, time.perf_counter() - started)
        if total != 20 or len(views) != 20:
            raise AssertionError("the view is wrong")
    return best


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
        raws: dict[str, Callable[[], tuple[Runner, Callable[[], None]]]] = {
            "sqlite": lambda: raw_sqlite_runner(
                Path(directory) / f"raw-{uuid.uuid4().hex}.db", True
            )
        }
        if not args.no_postgres:
            from tests.servers import PostgresServer

            server = PostgresServer()
            closers.append(server.destroy)
            stores["postgres"] = lambda: open_store(
                f"{server.url}?schema=bench_{uuid.uuid4().hex}&create_schema=true&pool_size=1"
            )
            raws["postgres"] = lambda: raw_postgres_runner(server.url, True)
        try:
            for name, opener in stores.items():
                for kind in ("daily", "offer"):
                    store = opener()
                    raw, close_raw = raws[name]()
                    try:
                        rates = paired(library_runner(store, kind), raw, args.count, args.chunk)
                        report(name, kind, rates)
                    finally:
                        store.close()
                        close_raw()
            for name, opener in {"memory": InMemoryStore, **stores}.items():
                for kind in ("daily", "offer"):
                    store = opener()
                    try:
                        spent = view_time(store, kind)
                        print(f"{name:8} {kind} view, 20 chains x 30 steps: {spent * 1e6:6.0f} µs")
                    finally:
                        store.close()
        finally:
            for close in closers:
                close()


if __name__ == "__main__":
    main()
