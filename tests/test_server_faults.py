"""Faults on the server stores: lost replies, a slowed server, dropped connections, server
restarts. After each, a retry with the same idempotency key counts exactly once and the
ledger matches the counters."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest
import redis

from liveops_rules import Coupon, OutcomeUnknownError, RewardItem, User
from liveops_rules.accounting import Accounting, check_ledger
from liveops_rules.stores import RedemptionStore
from liveops_rules.stores import redis_store as redis_store_module
from liveops_rules.stores.postgres_store import PostgresStore
from liveops_rules.stores.redis_store import RedisStore
from tests.lossy_proxy import LossyProxy

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)


def prepare(store: RedemptionStore, limit: int = 1_000_000) -> Accounting:
    accounting = Accounting(store)
    promotion = Coupon(
        external_id="faults", enabled=True, bonus=[RewardItem("gem")], redeem_total_limit=limit
    )
    accounting.import_promotions([promotion])
    accounting.add_codes(promotion, ["FAULT1"])
    assert accounting.redeem("FAULT1", User("warm-up"), AT).ok  # scripts loaded, plans made
    return accounting


def redis_at(port: int, **options: float) -> RedisStore:
    return RedisStore(f"redis://127.0.0.1:{port}/0", prefix=f"f-{uuid.uuid4().hex}", **options)


def postgres_at(url: str, port: int, **options: float) -> PostgresStore:
    schema = f"f_{uuid.uuid4().hex}"
    PostgresStore.create_schema(url, schema=schema)
    proxied = url.replace(url.split("@")[1].split("/")[0], f"127.0.0.1:{port}")
    return PostgresStore(proxied, schema=schema, pool_size=2, **options)  # type: ignore[arg-type]


def redeems_by_key(store: RedemptionStore) -> Counter[str | None]:
    return Counter(e.idempotency_key for e in store.ledger() if e.event == "redeem")


@pytest.fixture(params=["redis", "postgres"])
def through_proxy(request):
    """A store of each server kind whose connections pass through a LossyProxy."""
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        proxy = LossyProxy(server.port)
        store: RedemptionStore = redis_at(proxy.port, retry_window=10)
        marker = b"EVALSHA"
    else:
        server = request.getfixturevalue("postgres_server")
        proxy = LossyProxy(server.port)
        store = postgres_at(server.url, proxy.port)
        marker = b"COMMIT"
    yield store, proxy, marker
    store.close()
    proxy.close()


@pytest.mark.parametrize("key", [None, "order-1"], ids=["no-key", "idempotency-key"])
@pytest.mark.parametrize("limit", [2, 1_000_000], ids=["limit-reached-by-itself", "room"])
def test_a_lost_reply_is_retried_inside_the_store_and_counted_once(through_proxy, key, limit):
    store, proxy, marker = through_proxy
    accounting = prepare(store, limit)
    proxy.cut_after(marker)
    # With a limit of 2 the first try fills it: its retry must not be refused by itself.
    outcome = accounting.redeem("FAULT1", User("buyer"), AT, idempotency_key=key)
    assert proxy.cuts == 1
    assert outcome.ok, outcome
    assert store.counters()["t|coupon:faults"].used == 2
    assert sum(e.event == "redeem" for e in store.ledger()) == 2
    assert check_ledger(store) == []


def test_a_lost_reply_surfaces_as_unknown_and_the_callers_retry_replays_it(through_proxy):
    store, proxy, marker = through_proxy
    store._retry_window = 0.0
    accounting = prepare(store)
    proxy.cut_after(marker)
    with pytest.raises(OutcomeUnknownError, match="may or may not"):
        accounting.redeem("FAULT1", User("buyer"), AT, idempotency_key="order-2")
    assert store.counters()["t|coupon:faults"].used == 2  # it was applied
    again = accounting.redeem("FAULT1", User("buyer"), AT, idempotency_key="order-2")
    assert again.ok
    assert again.replayed
    assert store.counters()["t|coupon:faults"].used == 2
    assert redeems_by_key(store)["order-2"] == 1
    assert check_ledger(store) == []


_BUSY = """
local start = redis.call('TIME')
local begun = tonumber(start[1]) * 1000000 + tonumber(start[2])
while true do
  local now = redis.call('TIME')
  if tonumber(now[1]) * 1000000 + tonumber(now[2]) - begun > tonumber(ARGV[1]) then break end
end
return 1
"""


def _slowed_redeems(url: str, port: int) -> tuple[bool, int]:
    """Redeem while a 1.5 s script keeps the server busy and the client times out at 0.2 s:
    the client re-sends, and every copy runs once the server is free."""
    store = redis_at(port, socket_timeout=0.2, retry_window=10)
    accounting = prepare(store)
    client = store._client
    send = client.evalsha
    blockers = []

    def slow_down_then_send(*args):
        if not blockers:
            blocker = threading.Thread(
                target=lambda: redis.Redis.from_url(url).eval(_BUSY, 0, 1_500_000)  # type: ignore[arg-type]
            )
            blocker.start()
            blockers.append(blocker)
            time.sleep(0.1)
        return send(*args)

    client.evalsha = slow_down_then_send  # type: ignore[method-assign]
    ok = accounting.redeem("FAULT1", User("buyer"), AT).ok
    blockers[0].join()
    used = store.counters()["t|coupon:faults"].used
    store.close()
    return ok, used - 1  # minus the warm-up


def test_a_slowed_redis_runs_every_resent_script_but_counts_once(redis_server):
    ok, counted = _slowed_redeems(redis_server.url, redis_server.port)
    assert ok
    assert counted == 1


def test_without_the_operation_guard_the_resent_scripts_would_count_again(
    redis_server, monkeypatch
):
    # The negative control: the same scenario with the count script's guard taken out.
    guard = (
        "if found == nonce then return {'counted'} end\n"
        "if found or redis.call('EXISTS', B .. 'o:' .. id) == 1 then return {'collision'} end\n"
    )
    body = redis_store_module.scripts.COUNT
    assert guard in body
    monkeypatch.setattr(
        redis_store_module, "_COUNT", redis_store_module._Script("count", body.replace(guard, ""))
    )
    ok, counted = _slowed_redeems(redis_server.url, redis_server.port)
    assert ok
    assert counted > 1


def _redeem_all(accounting: Accounting, keys: list[str], outcome: list[object]) -> None:
    """Redeem once per key; an unknown outcome is retried with the same key, as callers do."""
    try:
        for key in keys:
            while True:
                try:
                    assert accounting.redeem("FAULT1", User(key), AT, idempotency_key=key).ok
                    break
                except OutcomeUnknownError:
                    outcome.append(key)
    except BaseException as error:  # handed to the test's thread
        outcome.append(error)


def _while_redeeming(accounting: Accounting, keys: list[str], fault, every: float = 0.1) -> None:
    """Redeem `keys` in a thread while this one injects `fault` every `every` seconds."""
    outcome: list[object] = []
    worker = threading.Thread(target=_redeem_all, args=(accounting, keys, outcome))
    worker.start()
    while worker.is_alive():
        fault()
        time.sleep(every)
    worker.join()
    errors = [item for item in outcome if isinstance(item, BaseException)]
    if errors:
        raise errors[0]


def _assert_each_key_counted_once(store: RedemptionStore, keys: list[str]) -> None:
    counted = redeems_by_key(store)
    assert all(counted[key] == 1 for key in keys), [k for k in keys if counted[k] != 1]
    assert store.counters()["t|coupon:faults"].used == len(keys) + 1  # and the warm-up
    assert check_ledger(store) == []


def test_redis_connections_killed_mid_operation(redis_server):
    store = redis_at(redis_server.port, retry_window=10)
    accounting = prepare(store)
    admin = redis.Redis.from_url(redis_server.url)
    killed = []
    keys = [f"kill-{n}" for n in range(2000)]
    _while_redeeming(
        accounting,
        keys,
        lambda: killed.append(admin.client_kill_filter(_type="normal", skipme=True)),
        every=0.01,
    )
    assert sum(killed) > 5, "the connections were never killed: the test proved nothing"
    _assert_each_key_counted_once(store, keys)
    store.close()


def test_postgres_connections_terminated_mid_operation(postgres_server):
    import psycopg

    store = postgres_at(postgres_server.url, postgres_server.port)
    accounting = prepare(store)
    admin = psycopg.connect(postgres_server.url, autocommit=True, application_name="fault-admin")
    terminated = []

    def terminate() -> None:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
            " AND backend_type = 'client backend' AND application_name <> 'fault-admin'"
        ).fetchall()
        terminated.append(len(rows))

    keys = [f"term-{n}" for n in range(600)]
    _while_redeeming(accounting, keys, terminate)
    assert sum(terminated) > 5, "no backend was terminated: the test proved nothing"
    _assert_each_key_counted_once(store, keys)
    admin.close()
    store.close()


def test_redis_restart_loses_no_acknowledged_redemption(own_redis):
    store = redis_at(own_redis.port, retry_window=20)
    accounting = prepare(store)
    keys = [f"restart-{n}" for n in range(400)]
    restarted = []

    def restart_once() -> None:
        if not restarted and len(redeems_by_key(store)) > 50:
            own_redis.restart()  # SIGKILL, then a new process on the same AOF
            restarted.append(True)

    _while_redeeming(accounting, keys, restart_once, every=0.02)
    assert restarted, "the server was never restarted: the test proved nothing"
    _assert_each_key_counted_once(store, keys)
    store.close()


def test_postgres_restart_loses_no_acknowledged_redemption(own_postgres):
    store = postgres_at(own_postgres.url, own_postgres.port, retry_window=30)
    accounting = prepare(store)
    keys = [f"restart-{n}" for n in range(300)]
    restarted = []

    def restart_once() -> None:
        if not restarted and len(redeems_by_key(store)) > 50:
            own_postgres.restart("immediate")  # no shutdown checkpoint: recovery from the WAL
            restarted.append(True)

    _while_redeeming(accounting, keys, restart_once, every=0.02)
    assert restarted, "the server was never restarted: the test proved nothing"
    _assert_each_key_counted_once(store, keys)
    store.close()
