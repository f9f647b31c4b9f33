"""kill -9 of client processes in the middle of redeeming, on every store that outlives them:
afterwards the invariant holds, every redemption a worker saw acknowledged is in the ledger,
and retrying the one it was working on with the same idempotency key counts it exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from liveops_rules import Coupon, RewardItem, User, open_store
from liveops_rules.accounting import Accounting, check_ledger

ROOT = Path(__file__).resolve().parent.parent
AT = datetime(2026, 11, 22, 12, tzinfo=UTC)
LIMIT = 100_000

WORKER = """
import sys
from datetime import UTC, datetime
from liveops_rules import User, open_store
from liveops_rules.accounting import Accounting

accounting = Accounting(open_store(sys.argv[1]))
at = datetime(2026, 11, 22, 12, tzinfo=UTC)
print("ready", flush=True)
n = 0
while True:
    n += 1
    key = f"{sys.argv[2]}-{n}"
    print("try", key, flush=True)
    outcome = accounting.redeem("CRASH1", User(key), at, idempotency_key=key)
    if outcome.ok:
        print("ok", key, outcome.operation_id, flush=True)  # only after the commit returned
"""


def _uri(kind: str, tmp: Path, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'crash.db'}"
    if kind == "redis":
        return f"{request.getfixturevalue('redis_server').url}?prefix=crash-{uuid.uuid4().hex}"
    server = request.getfixturevalue("postgres_server")
    return f"{server.url}?schema=crash_{uuid.uuid4().hex}&pool_size=1"


ROUNDS = {"sqlite": 50, "redis": 15, "postgres": 15}


@pytest.mark.parametrize("kind", sorted(ROUNDS))
def test_kill_9_during_redeems_loses_no_acknowledged_redemption(kind, tmp_path, request):
    uri = _uri(kind, tmp_path, request)
    store = open_store(uri + ("&create_schema=true" if kind == "postgres" else ""))
    accounting = Accounting(store)
    promotion = Coupon(
        external_id="crash", enabled=True, bonus=[RewardItem("gem")], redeem_total_limit=LIMIT
    )
    accounting.import_promotions([promotion])
    accounting.add_codes(promotion, ["CRASH1"])
    rng = random.Random(20261122)
    acknowledged: set[str] = set()
    interrupted: list[str] = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for round_number in range(ROUNDS[kind]):
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, uri, f"r{round_number}w{n}"],
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
            for n in range(2)
        ]
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.15))
        for worker in workers:
            os.kill(worker.pid, signal.SIGKILL)
        for worker in workers:
            assert worker.stdout is not None
            output = worker.stdout.read()  # the same buffered reader that read "ready"
            worker.stdout.close()
            assert worker.wait(timeout=30) == -signal.SIGKILL
            lines = [line.split() for line in output.split("\n")[:-1]]  # a cut line is nothing
            acknowledged.update(line[2] for line in lines if line[0] == "ok" and len(line) == 3)
            tried = [line[1] for line in lines if line[0] == "try" and len(line) == 2]
            done = {line[1] for line in lines if line[0] == "ok"}
            if tried and tried[-1] not in done:
                interrupted.append(tried[-1])
    assert acknowledged, "the workers never got to redeem: the test proved nothing"
    # The caller's retry of each redemption a kill interrupted: counted now or replayed.
    for key in interrupted:
        assert accounting.redeem("CRASH1", User(key), AT, idempotency_key=key).ok
    assert check_ledger(store) == []
    ledger = [entry for entry in store.ledger() if entry.event == "redeem"]
    assert acknowledged <= {entry.operation_id for entry in ledger}
    per_key = Counter(entry.idempotency_key for entry in ledger)
    assert all(count == 1 for count in per_key.values())
    assert all(per_key[key] == 1 for key in interrupted)
    assert store.counters()["t|coupon:crash"].used == len(ledger) <= LIMIT
    store.close()
