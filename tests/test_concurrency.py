"""Limits hold under real concurrency: threads and processes against real stores, each race
checked against a naive store that must over-redeem under the very same test."""

from __future__ import annotations

import multiprocessing
import multiprocessing.process
import multiprocessing.queues
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from liveops_rules import Coupon, RewardItem, User
from liveops_rules.accounting import Accounting, check_ledger
from liveops_rules.stores import InMemoryStore, RedemptionStore, SQLiteStore, open_store
from tests.naive_store import NaiveSQLiteStore, NaiveStore

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)


def prepare(store: RedemptionStore, codes: list[str], **limits: int) -> Accounting:
    accounting = Accounting(store)
    promotion = Coupon(external_id="race", enabled=True, bonus=[RewardItem("gem")], **limits)
    accounting.import_promotions([promotion])
    accounting.add_codes(promotion, codes)
    return accounting


def hammer(
    accounting: Accounting,
    threads: int,
    per_thread: int,
    pick: Callable[[int, int], tuple[str, str]],
) -> int:
    """Run `threads` threads, each redeeming `per_thread` times; returns how many succeeded."""
    start = threading.Barrier(threads, timeout=120)
    successes = [0] * threads

    def work(worker: int) -> None:
        start.wait()
        for attempt in range(per_thread):
            code, user = pick(worker, attempt)
            if accounting.redeem(code, User(user), AT).ok:
                successes[worker] += 1

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(successes)


def memory_store(_: Path, __: pytest.FixtureRequest) -> RedemptionStore:
    return InMemoryStore()


def sqlite_store(tmp: Path, _: pytest.FixtureRequest) -> RedemptionStore:
    tmp.mkdir(parents=True, exist_ok=True)
    return SQLiteStore(tmp / "race.db", synchronous="NORMAL")


def redis_store(_: Path, request: pytest.FixtureRequest) -> RedemptionStore:
    return open_store(redis_uri(request))


def postgres_store(_: Path, request: pytest.FixtureRequest) -> RedemptionStore:
    return open_store(postgres_uri(request))


def redis_uri(request: pytest.FixtureRequest) -> str:
    """A new, empty store on the session's Redis server."""
    return f"{request.getfixturevalue('redis_server').url}?prefix=race-{uuid.uuid4().hex}"


def postgres_uri(request: pytest.FixtureRequest) -> str:
    """A new, empty store (its own schema) on the session's PostgreSQL server."""
    server = request.getfixturevalue("postgres_server")
    return f"{server.url}?schema=race_{uuid.uuid4().hex}&create_schema=true&pool_size=8"


STORES = {
    "memory": memory_store,
    "sqlite": sqlite_store,
    "redis": redis_store,
    "postgres": postgres_store,
}
ROUNDS = {"memory": 12, "sqlite": 3, "redis": 2, "postgres": 1}  # a server round trip each redeem
# attempts per thread: always well past the limit of 500 (8 threads), fewer where each costs
# a round trip to a server
ATTEMPTS = {"memory": 1_000, "sqlite": 1_000, "redis": 400, "postgres": 200}
ALL_STORES = {**STORES, "naive": lambda _, __: NaiveStore()}


@pytest.fixture
def new_store(tmp_path, request, closing) -> Callable[[str, str], RedemptionStore]:
    """`new_store(kind, name)`: a new, empty store of that kind, closed after the test."""

    def make(kind: str, name: str = "") -> RedemptionStore:
        return closing(ALL_STORES[kind](tmp_path / name, request))

    return make


@pytest.mark.parametrize("kind", sorted(STORES))
def test_total_limit_of_500_under_8_threads(kind, new_store):
    for round_number in range(ROUNDS[kind]):
        store = new_store(kind, str(round_number))
        accounting = prepare(store, ["RACE1"], redeem_total_limit=500)
        won = hammer(accounting, 8, ATTEMPTS[kind], lambda w, a: ("RACE1", f"user-{w}-{a}"))
        assert won == 500
        assert store.counters()["t|coupon:race"].used == 500
        assert check_ledger(store) == []


def test_the_naive_store_over_redeems_under_the_same_race():
    accounting = prepare(NaiveStore(), ["RACE1"], redeem_total_limit=500)
    won = hammer(accounting, 8, 1_000, lambda w, a: ("RACE1", f"user-{w}-{a}"))
    assert won > 500


@pytest.mark.parametrize("kind", sorted(ALL_STORES))
def test_per_user_limit_3_under_16_threads(kind, new_store):
    accounting = prepare(new_store(kind), ["RACE1"], redeem_user_limit=3)
    won = hammer(accounting, 16, 50, lambda w, a: ("RACE1", "the-same-user"))
    if kind == "naive":
        assert won > 3
    else:
        assert won == 3


@pytest.mark.parametrize("kind", sorted(ALL_STORES))
def test_per_code_limit_10_under_32_threads(kind, new_store):
    accounting = prepare(new_store(kind), ["RACE1"], redeem_code_limit=10)
    won = hammer(accounting, 32, 20, lambda w, a: ("RACE1", f"user-{w}-{a}"))
    if kind == "naive":
        assert won > 10
    else:
        assert won == 10


@pytest.mark.parametrize("kind", sorted(STORES))
def test_concurrent_duplicates_with_one_idempotency_key_count_once(kind, new_store):
    store = new_store(kind)
    accounting = prepare(store, ["RACE1"], redeem_total_limit=100)
    start = threading.Barrier(8, timeout=120)
    outcomes = []

    def work() -> None:
        start.wait()
        outcomes.append(accounting.redeem("RACE1", User("buyer"), AT, idempotency_key="order-42"))

    pool = [threading.Thread(target=work) for _ in range(8)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert len(outcomes) == 8
    assert all(o.ok for o in outcomes)
    assert len({o.operation_id for o in outcomes}) == 1
    assert sum(not o.replayed for o in outcomes) == 1
    assert store.counters()["t|coupon:race"].used == 1
    assert check_ledger(store) == []


def test_all_three_limits_at_once_catch_a_naive_store():
    codes = [f"CODE{n}" for n in range(4)]
    store = NaiveStore()
    accounting = prepare(
        store, codes, redeem_total_limit=40, redeem_user_limit=2, redeem_code_limit=12
    )
    hammer(accounting, 8, 100, lambda w, a: (codes[(w + a) % 4], f"user-{a % 30}"))
    counters = store.counters()
    assert (
        counters["t|coupon:race"].used > 40
        or any(c.used > 12 for k, c in counters.items() if k.startswith("c|"))
        or any(c.used > 2 for k, c in counters.items() if k.startswith("u|"))
    )


@pytest.mark.parametrize("kind", sorted(STORES))
def test_all_three_limits_at_once_never_count_partially(kind, new_store):
    store = new_store(kind)
    codes = [f"CODE{n}" for n in range(4)]
    accounting = prepare(
        store, codes, redeem_total_limit=40, redeem_user_limit=2, redeem_code_limit=12
    )
    won = hammer(accounting, 8, 100, lambda w, a: (codes[(w + a) % 4], f"user-{a % 30}"))
    counters = store.counters()
    assert won == counters["t|coupon:race"].used <= 40
    assert sum(c.used for k, c in counters.items() if k.startswith("c|")) == won
    assert sum(c.used for k, c in counters.items() if k.startswith("u|")) == won
    assert all(c.used <= 12 for k, c in counters.items() if k.startswith("c|"))
    assert all(c.used <= 2 for k, c in counters.items() if k.startswith("u|"))
    assert check_ledger(store) == []


def _process_worker(
    uri: str,
    worker: int,
    attempts: int,
    results: multiprocessing.Queue,
    naive: bool,
    start: threading.Barrier,
) -> None:
    if naive:
        path = uri.removeprefix("sqlite:///").split("?")[0]
        store: RedemptionStore = NaiveSQLiteStore(path, synchronous="NORMAL")
    else:
        store = open_store(uri)
    accounting = Accounting(store)
    start.wait(timeout=120)  # all race from the first redeem, however slowly they started
    won = sum(accounting.redeem("RACE1", User(f"p{worker}-{n}"), AT).ok for n in range(attempts))
    results.put(won)
    store.close()


SHARED = {
    "sqlite": lambda tmp, request: f"sqlite:///{tmp / 'shared.db'}?synchronous=normal",
    "naive-sqlite": lambda tmp, request: f"sqlite:///{tmp / 'shared.db'}?synchronous=normal",
    "redis": lambda tmp, request: redis_uri(request),
    "postgres": lambda tmp, request: postgres_uri(request).replace("&create_schema=true", ""),
}


class Spawner:
    """Processes (started by spawn) and queues, all ended by `close()`, however a test ends."""

    def __init__(self) -> None:
        self.context = multiprocessing.get_context("spawn")
        self.processes: list[multiprocessing.process.BaseProcess] = []
        self.queues: list[multiprocessing.queues.Queue[int]] = []

    def queue(self) -> multiprocessing.queues.Queue[int]:
        queue: multiprocessing.queues.Queue[int] = self.context.Queue()
        self.queues.append(queue)
        return queue

    def process(
        self, target: Callable[..., None], *args: object
    ) -> multiprocessing.process.BaseProcess:
        process = self.context.Process(target=target, args=args)
        self.processes.append(process)
        process.start()
        return process

    def close(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.kill()
            process.join(timeout=30)
        for queue in self.queues:
            queue.close()
            queue.join_thread()


@pytest.mark.parametrize("kind", sorted(SHARED))
def test_total_limit_across_4_processes_sharing_one_store(tmp_path, request, kind, closing):
    uri = SHARED[kind](tmp_path, request)
    store = closing(open_store(uri + "&create_schema=true" if kind == "postgres" else uri))
    prepare(store, ["RACE1"], redeem_total_limit=500)
    spawner = closing(Spawner())
    results = spawner.queue()
    naive = kind == "naive-sqlite"
    start = spawner.context.Barrier(4)
    workers = [
        spawner.process(_process_worker, uri, n, 250, results, naive, start) for n in range(4)
    ]
    won = sum(results.get(timeout=120) for _ in workers)
    for process in workers:
        process.join(timeout=120)
        assert process.exitcode == 0
    if naive:
        assert won > 500
        return
    assert won == 500
    assert store.counters()["t|coupon:race"].used == 500
    assert check_ledger(store) == []


def _async_process_worker(
    uri: str, worker: int, tasks: int, results: multiprocessing.Queue, start: threading.Barrier
) -> None:
    import asyncio

    from liveops_rules import AsyncAccounting, open_async_store

    async def race() -> int:
        async with AsyncAccounting(open_async_store(uri)) as accounting:
            outcomes = await asyncio.gather(
                *(accounting.redeem("RACE1", User(f"a{worker}-{n}"), AT) for n in range(tasks))
            )
        return sum(outcome.ok for outcome in outcomes)

    start.wait(timeout=120)
    results.put(asyncio.run(race()))


@pytest.mark.parametrize("kind", ["postgres", "redis", "sqlite"])
def test_total_limit_across_3_processes_of_200_async_tasks_each(tmp_path, request, kind, closing):
    uri = SHARED[kind](tmp_path, request)
    store = closing(open_store(uri + "&create_schema=true" if kind == "postgres" else uri))
    prepare(store, ["RACE1"], redeem_total_limit=300)
    spawner = closing(Spawner())
    results = spawner.queue()
    start = spawner.context.Barrier(3)
    workers = [
        spawner.process(_async_process_worker, uri, n, 200, results, start) for n in range(3)
    ]
    won = sum(results.get(timeout=300) for _ in workers)
    for process in workers:
        process.join(timeout=120)
        assert process.exitcode == 0
    assert won == 300
    assert store.counters()["t|coupon:race"].used == 300
    assert check_ledger(store) == []
