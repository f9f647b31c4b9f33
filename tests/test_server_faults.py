"""Faults on the server stores: lost replies, a slowed server, dropped connections, server
restarts. After each, a retry with the same idempotency key counts exactly once and the
ledger matches the counters.

The number of faults is each test's input, never its output: faults are injected until so
many have landed on the store's own operations, and then so many more redemptions have been
acknowledged, however fast or slow the machine is (under a generous wall-clock cap)."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import redis

from liveops_rules import Coupon, OutcomeUnknownError, RewardItem, User
from liveops_rules.accounting import Accounting, check_ledger
from liveops_rules.stores import RedemptionStore, redis_steps
from liveops_rules.stores.postgres_store import PostgresStore
from liveops_rules.stores.redis_store import RedisStore
from tests.lossy_proxy import LossyProxy

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)
CAP_SECONDS = 180.0  # only a machine that makes no progress at all gets near it
UNKNOWN_RETRIES = 20  # a caller's retries of one key before the test gives up


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
def through_proxy(request, closing):
    """A store of each server kind whose connections pass through a LossyProxy."""
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        proxy = closing(LossyProxy(server.port))
        store: RedemptionStore = closing(redis_at(proxy.port, retry_window=10))
        marker = b"EVALSHA"
    else:
        server = request.getfixturevalue("postgres_server")
        proxy = closing(LossyProxy(server.port))
        store = closing(postgres_at(server.url, proxy.port))
        marker = b"COMMIT"
    return store, proxy, marker


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
    assert proxy.cuts == 1
    assert store.counters()["t|coupon:faults"].used == 2  # it was applied
    again = accounting.redeem("FAULT1", User("buyer"), AT, idempotency_key="order-2")
    assert again.ok
    assert again.replayed
    assert store.counters()["t|coupon:faults"].used == 2
    assert redeems_by_key(store)["order-2"] == 1
    assert check_ledger(store) == []


# -- a slowed server ----------------------------------------------------------------------------

_BUSY = """
local start = redis.call('TIME')
local begun = tonumber(start[1]) * 1000000 + tonumber(start[2])
while true do
  local now = redis.call('TIME')
  if tonumber(now[1]) * 1000000 + tonumber(now[2]) - begun > tonumber(ARGV[1]) then break end
end
return 1
"""
BUSY_MICROSECONDS = 1_500_000
CLIENT_TIMEOUT = 0.2
SLOWDOWNS = 8  # tries to have the server busy when a redeem reaches it


@contextlib.contextmanager
def busy_server(url: str) -> Iterator[None]:
    """Keep the server running a 1.5 s script (from another client) during the block. Waits
    until a PING goes unanswered, so the script most likely runs when the block begins."""
    blocker = redis.Redis.from_url(url)
    probe = redis.Redis.from_url(url, socket_timeout=0.05, socket_connect_timeout=1)
    failed: list[BaseException] = []

    def block() -> None:
        try:
            blocker.eval(_BUSY, 0, BUSY_MICROSECONDS)  # type: ignore[arg-type]
        except BaseException as error:  # handed to the test's thread
            failed.append(error)

    thread = threading.Thread(target=block, name="busy-script")
    try:
        thread.start()
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                probe.ping()
            except redis.TimeoutError:
                break  # the server is running the script
            time.sleep(0.005)
        yield
    finally:
        thread.join(timeout=30)
        probe.close()
        blocker.close()
    assert not thread.is_alive(), "the busy script did not end"
    if failed:
        raise failed[0]


def _slowed_redeem(url: str, port: int, closing) -> tuple[bool, int, int]:
    """Redeem while a 1.5 s script keeps the server busy and the client times out at 0.2 s,
    until a redeem was re-sent (at most SLOWDOWNS times): the client re-sends, and every copy
    runs once the server is free. Returns the last redeem's outcome, how many times the client
    sent it and how many uses it counted."""
    store = closing(redis_at(port, socket_timeout=CLIENT_TIMEOUT, retry_window=10))
    accounting = prepare(store)
    client = store._client
    send = client.evalsha
    sent: list[object] = []

    def counting_send(*args):
        sent.append(args[0])
        return send(*args)

    client.evalsha = counting_send  # type: ignore[method-assign]
    for attempt in range(SLOWDOWNS):
        user = f"buyer-{attempt}"
        sent.clear()
        with busy_server(url):
            ok = accounting.redeem("FAULT1", User(user), AT).ok
        if len(sent) > 1:
            break
    counted = sum(e.event == "redeem" and e.user_id == user for e in store.ledger())
    return ok, len(sent), counted


NOT_RESENT = f"no redeem was re-sent in {SLOWDOWNS} slowdowns: the test proved nothing"


def test_a_slowed_redis_runs_every_resent_script_but_counts_once(redis_server, closing):
    ok, sent, counted = _slowed_redeem(redis_server.url, redis_server.port, closing)
    assert ok
    assert sent > 1, NOT_RESENT  # the copies the guard must survive
    assert counted == 1


def test_without_the_operation_guard_the_resent_scripts_would_count_again(
    redis_server, monkeypatch, closing
):
    # The negative control: the same scenario with the count script's guard taken out.
    guard = (
        "if found == nonce then return {'counted'} end\n"
        "if found or redis.call('EXISTS', B .. 'o:' .. id) == 1 then return {'collision'} end\n"
    )
    body = redis_steps.scripts.COUNT
    assert guard in body
    monkeypatch.setattr(redis_steps, "_COUNT", redis_steps.Script("count", body.replace(guard, "")))
    ok, sent, counted = _slowed_redeem(redis_server.url, redis_server.port, closing)
    assert ok
    assert sent > 1, NOT_RESENT
    assert counted > 1


# -- dropped connections and restarts -----------------------------------------------------------


class Redeemer:
    """Redeems for the users `<prefix>-0`, `<prefix>-1`, ... one after the other in a thread,
    until stopped. Every other redeem has the user's name as its idempotency key: one whose
    outcome is unknown is retried with the same key, as callers do. The others have no key: the
    store's own retries must count them once, and one whose outcome is unknown cannot be
    retried (it is in `unknown`, counted once or not at all).

    `landed()` counts the faults that hit the store's operations so far; `quiet()` is how many
    redeems were acknowledged, one after the other, since the last of them."""

    def __init__(
        self,
        accounting: Accounting,
        prefix: str,
        landed: Callable[[], int],
        on_ack: Callable[[int], None] | None = None,
    ) -> None:
        self.accounting = accounting
        self.prefix = prefix
        self.landed = landed
        self.on_ack = on_ack
        self.acknowledged: list[str] = []
        self._streak = (0, 0)  # (faults landed, redeems acknowledged since), set together
        self.unknown: list[str] = []
        self.keyed: set[str] = set()
        self.error: BaseException | None = None
        self._stop = threading.Event()  # finish the key in hand, then stop
        self._abandon = threading.Event()  # the test failed: do not retry the key in hand
        self._thread = threading.Thread(target=self._run, name=f"redeemer-{prefix}", daemon=True)

    def _run(self) -> None:
        try:
            seen = self.landed()
            for n in itertools.count():
                if self._stop.is_set():
                    return
                user = f"{self.prefix}-{n}"
                if not self._redeem(user, keyed=n % 2 == 0):
                    self.unknown.append(user)
                    continue
                landed = self.landed()
                quiet = self._streak[1] + 1 if landed == seen else 0
                seen = landed
                self._streak = (landed, quiet)
                self.acknowledged.append(user)
                if self.on_ack is not None:
                    self.on_ack(len(self.acknowledged))
        except BaseException as error:  # handed to the test's thread
            self.error = error

    def _redeem(self, user: str, *, keyed: bool) -> bool:
        """True when acknowledged, False when the outcome is unknown and cannot be retried."""
        key = user if keyed else None
        if keyed:
            self.keyed.add(user)
        for _ in range(UNKNOWN_RETRIES):
            try:
                outcome = self.accounting.redeem("FAULT1", User(user), AT, idempotency_key=key)
            except OutcomeUnknownError:
                if key is None or self._abandon.is_set():
                    return False
                continue
            assert outcome.ok, (user, outcome)
            return True
        raise AssertionError(f"{user}: outcome still unknown after {UNKNOWN_RETRIES} retries")

    def __enter__(self) -> Redeemer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if exc_info[0] is not None:
            self._abandon.set()
        self._thread.join(timeout=CAP_SECONDS)
        if self._thread.is_alive():
            raise AssertionError(f"the redeemer did not stop within {CAP_SECONDS:g} s")
        if self.error is not None and exc_info[0] is None:
            raise self.error

    def quiet(self) -> int:
        """Redeems acknowledged after the last fault that landed (0 while one is landing)."""
        landed, quiet = self._streak
        return quiet if landed == self.landed() else 0

    def alive(self) -> bool:
        if self.error is not None:
            raise self.error
        return self._thread.is_alive()


def inject_until(
    redeemer: Redeemer,
    inject: Callable[[], object],
    *,
    faults: int,
    then: int,
    every: float = 0.01,
) -> None:
    """Inject until `faults` faults have landed and `then` redeems were acknowledged after the
    last; fail with what was reached when CAP_SECONDS pass first."""
    deadline = time.monotonic() + CAP_SECONDS
    with redeemer:
        while not (redeemer.landed() >= faults and redeemer.quiet() >= then):
            if not redeemer.alive():
                raise AssertionError("the redeemer stopped by itself")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"within {CAP_SECONDS:g} s only {redeemer.landed()} of {faults} faults "
                    f"landed and {redeemer.quiet()} of {then} redeems were acknowledged after "
                    f"the last ({len(redeemer.acknowledged)} in all)",
                    pytrace=False,
                )
            if redeemer.landed() < faults:
                inject()
            time.sleep(every)


def assert_each_counted_once(store: RedemptionStore, redeemer: Redeemer) -> None:
    """Every acknowledged redeem counted once, one of unknown outcome at most once, nothing
    else but the warm-up; and the counters are what the ledger says."""
    assert redeemer.acknowledged
    redeems = [e for e in store.ledger() if e.event == "redeem"]
    per_user = Counter(e.user_id for e in redeems)
    unknown = set(redeemer.unknown)
    expected = {"warm-up": 1, **dict.fromkeys(redeemer.acknowledged, 1)}
    assert {u: n for u, n in per_user.items() if u not in unknown} == expected
    assert all(per_user[user] <= 1 for user in unknown)
    assert all(
        e.idempotency_key == (e.user_id if e.user_id in redeemer.keyed else None) for e in redeems
    )
    assert store.counters()["t|coupon:faults"].used == len(redeems)
    assert check_ledger(store) == []


def lost_connections(store: RedisStore) -> Callable[[], int]:
    """Count the store's Redis commands that failed on a lost connection or a timeout: each
    is a fault that hit one of its operations (which the store then re-sends)."""
    client = store._client
    execute = client.execute_command
    lost = [0]

    def counted(*args, **options):
        try:
            return execute(*args, **options)
        except (redis.ConnectionError, redis.TimeoutError):
            lost[0] += 1
            raise

    client.execute_command = counted  # type: ignore[method-assign]
    return lambda: lost[0]


KILLS = 20
TERMINATIONS = 10
AFTER_THE_LAST = 50


def test_redis_connections_killed_mid_operation(redis_server, closing):
    store = closing(redis_at(redis_server.port, retry_window=10))
    accounting = prepare(store)
    admin = closing(redis.Redis.from_url(redis_server.url))
    redeemer = Redeemer(accounting, "kill", lost_connections(store))
    inject_until(
        redeemer,
        lambda: admin.client_kill_filter(_type="normal", skipme=True),
        faults=KILLS,
        then=AFTER_THE_LAST,
    )
    assert_each_counted_once(store, redeemer)


def test_postgres_connections_terminated_mid_operation(postgres_server, closing):
    import psycopg

    store = closing(postgres_at(postgres_server.url, postgres_server.port))
    accounting = prepare(store)
    admin = closing(psycopg.connect(postgres_server.url, autocommit=True))
    retries_before = store.retries

    def terminate() -> None:
        # Only backends inside one of the store's transactions: the fault lands mid-operation.
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
            " AND backend_type = 'client backend' AND state <> 'idle'"
        )

    # A redemption the store ran again after a lost connection is a fault that landed (one
    # worker: no conflicts, the other reason the store retries).
    redeemer = Redeemer(accounting, "term", lambda: store.retries - retries_before)
    inject_until(redeemer, terminate, faults=TERMINATIONS, then=AFTER_THE_LAST)
    assert_each_counted_once(store, redeemer)


RESTART_AFTER = 50


class RestartFromTheWorker:
    """Given as the Redeemer's `on_ack`: right after the 50th acknowledgement the worker starts
    `restart` in a thread, so the server dies while the worker goes on redeeming."""

    def __init__(self, restart: Callable[[], None]) -> None:
        self.restart = restart
        self.finished = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="restart", daemon=True)

    def _run(self) -> None:
        try:
            self.restart()
            self.finished += 1
        except BaseException as error:  # handed to the test's thread
            self.error = error

    def __call__(self, acknowledged: int) -> None:
        if acknowledged == RESTART_AFTER:
            self._thread.start()

    def landed(self) -> int:
        """Restarts finished: the fault that lands here is the whole restart."""
        if self.error is not None:
            raise self.error
        return self.finished

    def close(self) -> None:
        """Wait for a restart still running, so that the server is not stopped under it."""
        if self._thread.ident is not None:
            self._thread.join(timeout=CAP_SECONDS)


def test_redis_restart_loses_no_acknowledged_redemption(own_redis, closing):
    store = closing(redis_at(own_redis.port, retry_window=20))
    accounting = prepare(store)
    restart = closing(RestartFromTheWorker(own_redis.restart))  # SIGKILL, then the same AOF
    redeemer = Redeemer(accounting, "restart", restart.landed, on_ack=restart)
    inject_until(redeemer, lambda: None, faults=1, then=AFTER_THE_LAST)
    assert_each_counted_once(store, redeemer)


def test_postgres_restart_loses_no_acknowledged_redemption(own_postgres, closing):
    store = closing(postgres_at(own_postgres.url, own_postgres.port, retry_window=30))
    accounting = prepare(store)
    # `immediate`: no shutdown checkpoint, recovery from the WAL.
    restart = closing(RestartFromTheWorker(lambda: own_postgres.restart("immediate")))
    redeemer = Redeemer(accounting, "restart", restart.landed, on_ack=restart)
    inject_until(redeemer, lambda: None, faults=1, then=AFTER_THE_LAST)
    assert_each_counted_once(store, redeemer)
