"""Pre-fork servers (gunicorn, uWSGI, multiprocessing) create the engine and its store once,
then fork workers: every worker must count with ids and connections of its own."""

from __future__ import annotations

import multiprocessing
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from liveops_rules import Coupon, RewardItem, User
from liveops_rules.accounting import Accounting, OperationIds, check_ledger
from liveops_rules.stores import RedemptionStore, SQLiteStore

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)
HOLD = timedelta(minutes=10)
CHILDREN = 4
LIMIT = 3

# Forking a process that runs threads (a pool's workers) is what pre-fork servers do; Python
# 3.12+ warns about it, which is the point of this test.
pytestmark = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded")


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def forked_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RedemptionStore]:
    if request.param == "sqlite":
        store: RedemptionStore = SQLiteStore(tmp_path / "fork.db", synchronous="NORMAL")
    elif request.param == "redis":
        from liveops_rules.stores.redis_store import RedisStore

        url = request.getfixturevalue("redis_server").url
        store = RedisStore(url, prefix=f"fork-{uuid.uuid4().hex}")
    else:
        from liveops_rules.stores.postgres_store import PostgresStore

        url = request.getfixturevalue("postgres_server").url
        schema = f"fork_{uuid.uuid4().hex}"
        PostgresStore.create_schema(url, schema=schema)
        store = PostgresStore(url, schema=schema, pool_size=2)
    try:
        yield store
    finally:
        store.close()


def _worker(accounting: Accounting, name: str, results: multiprocessing.Queue) -> None:
    try:
        redeemed = accounting.redeem("FORK1", User(name), AT)
        held = accounting.reserve(User(name), AT, hold=HOLD, code="FORK2")
        results.put((name, redeemed.ok, redeemed.operation_id, held.ok, held.operation_id))
    except BaseException as error:  # reported to the parent, which fails the test
        results.put((name, repr(error), None, None, None))


def test_forked_workers_count_with_ids_of_their_own(forked_store):
    accounting = Accounting(forked_store)
    redeem = Coupon(
        external_id="redeem", enabled=True, bonus=[RewardItem("gem")], redeem_total_limit=LIMIT
    )
    hold = Coupon(
        external_id="hold", enabled=True, bonus=[RewardItem("gem")], redeem_total_limit=LIMIT
    )
    warm_up = Coupon(external_id="warm-up", enabled=True, bonus=[RewardItem("gem")])
    accounting.import_promotions([redeem, hold, warm_up])
    accounting.add_codes(redeem, ["FORK1"])
    accounting.add_codes(hold, ["FORK2"])
    accounting.add_codes(warm_up, ["WARM"])
    # The parent counts before forking, too: its ids must not come back in a child.
    parent_id = accounting.redeem("WARM", User("parent"), AT).operation_id
    context = multiprocessing.get_context("fork")
    results: multiprocessing.Queue = context.Queue()
    workers = [
        context.Process(target=_worker, args=(accounting, f"child-{n}", results))
        for n in range(CHILDREN)
    ]
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    errors = [report for report in reports if report[1] not in (True, False)]
    assert not errors, errors
    redeemed = [report[2] for report in reports if report[1]]
    held = [report[4] for report in reports if report[3]]
    assert len(redeemed) == LIMIT  # four children, a limit of three: three told ok
    assert len(held) == LIMIT
    ids = [*redeemed, *held, parent_id]
    assert len(set(ids)) == len(ids)  # no child repeats another's id, or the parent's
    assert forked_store.counter("t|coupon:redeem", AT).used == LIMIT
    assert forked_store.counter("t|coupon:hold", AT).reserved == LIMIT
    for operation_id in held:  # every hold is the child's own, and can be settled
        accounting.release(operation_id, AT)
    assert forked_store.counter("t|coupon:hold", AT).reserved == 0
    assert check_ledger(forked_store) == []


def test_a_forked_child_draws_a_new_id_prefix():
    ids = OperationIds()
    before = ids()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next id and leave at once
        try:
            os.write(write, ids().encode())
        finally:
            os._exit(0)
    os.close(write)
    child = os.read(read, 100).decode()
    os.close(read)
    os.waitpid(pid, 0)
    parent = ids()
    assert child[:16] != before[:16]  # another prefix: it cannot meet the parent's ids
    assert parent[:16] == before[:16]  # the parent goes on with its own
    assert len({before, child, parent}) == 3
