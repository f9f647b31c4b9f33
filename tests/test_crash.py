"""kill -9 in the middle of redeeming: after reopening, the invariant holds and every
redemption a worker saw acknowledged is in the ledger."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from liveops_rules import Coupon, RewardItem
from liveops_rules.accounting import Accounting, check_ledger
from liveops_rules.stores import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
AT = datetime(2026, 11, 22, 12, tzinfo=UTC)
LIMIT = 100_000

WORKER = """
import sys
from datetime import UTC, datetime
from liveops_rules import User
from liveops_rules.accounting import Accounting
from liveops_rules.stores import SQLiteStore

store = SQLiteStore(sys.argv[1])
accounting = Accounting(store)
at = datetime(2026, 11, 22, 12, tzinfo=UTC)
print("ready", flush=True)
n = 0
while True:
    n += 1
    outcome = accounting.redeem("CRASH1", User(f"{sys.argv[2]}-{n}"), at)
    if outcome.ok:
        print(outcome.operation_id, flush=True)  # acknowledged only after the commit returned
"""


def test_kill_9_during_redeems_loses_no_acknowledged_redemption(tmp_path):
    path = tmp_path / "crash.db"
    store = SQLiteStore(path)
    accounting = Accounting(store)
    promotion = Coupon(
        external_id="crash", enabled=True, bonus=[RewardItem("gem")], redeem_total_limit=LIMIT
    )
    accounting.import_promotions([promotion])
    accounting.add_codes(promotion, ["CRASH1"])
    store.close()
    rng = random.Random(20261122)
    acknowledged: set[str] = set()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for round_number in range(50):
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, str(path), f"r{round_number}w{n}"],
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
            # A line cut short by the kill is no acknowledgement.
            acknowledged.update(line for line in output.split("\n")[:-1] if line)
    reopened = SQLiteStore(path)
    assert check_ledger(reopened) == []
    ledger_operations = {entry.operation_id for entry in reopened.ledger()}
    assert acknowledged, "the workers never got to redeem: the test proved nothing"
    assert acknowledged <= ledger_operations
    total = reopened.counters()["t|coupon:crash"]
    assert total.used == len(ledger_operations) <= LIMIT
    reopened.close()
