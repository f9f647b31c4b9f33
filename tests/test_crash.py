"""kill -9 of client processes in the middle of redeeming, on every store that outlives them:
afterwards the invariant holds, every redemption a worker saw acknowledged is in the ledger,
and retrying the one it was working on with the same idempotency key counts it exactly once."""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import threading
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


WAIT_SECONDS = 120.0  # for a worker's next line: only a hung worker gets near it


class Worker:
    """A worker process whose output lines a thread collects, so that every wait is bounded."""

    def __init__(self, *args: str, script: str = WORKER) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="crash-worker-output")
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def lines_until(self, prefix: str | tuple[str, ...]) -> list[str]:
        """The complete lines up to the first that starts with `prefix`."""
        lines: list[str] = []
        deadline = time.monotonic() + WAIT_SECONDS
        while not (lines and lines[-1].startswith(prefix)):
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"no {prefix!r} within {WAIT_SECONDS:g} s; last lines: {lines[-20:]}"
                ) from None
            if line is None:
                raise AssertionError(f"the worker ended before {prefix!r}: {lines}")
            lines.append(line)
        return lines

    def kill(self) -> list[str]:
        """SIGKILL; the complete lines it wrote since the last read (a cut line is nothing)."""
        os.kill(self.process.pid, signal.SIGKILL)
        assert self.process.wait(timeout=30) == -signal.SIGKILL
        self._reader.join(timeout=30)
        lines: list[str] = []
        while (line := self._lines.get(timeout=1)) is not None:
            lines.append(line)
        return [line for line in lines if line.endswith("\n")]

    def close(self) -> None:
        """Kill the worker if it still runs, and reap it."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        self._reader.join(timeout=30)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.mark.parametrize("kind", sorted(ROUNDS))
def test_kill_9_during_redeems_loses_no_acknowledged_redemption(kind, tmp_path, request, closing):
    uri = _uri(kind, tmp_path, request)
    store = closing(open_store(uri + ("&create_schema=true" if kind == "postgres" else "")))
    accounting = Accounting(store)
    promotion = Coupon(
        external_id="crash", enabled=True, bonus=[RewardItem("gem")], redeem_total_limit=LIMIT
    )
    accounting.import_promotions([promotion])
    accounting.add_codes(promotion, ["CRASH1"])
    rng = random.Random(20261122)
    acknowledged: set[str] = set()
    interrupted: list[str] = []
    for round_number in range(ROUNDS[kind]):
        workers = [closing(Worker(uri, f"r{round_number}w{n}")) for n in range(2)]
        # Each worker has had a redemption acknowledged before the kills: every round counts.
        output = [worker.lines_until("ok ") for worker in workers]
        time.sleep(rng.uniform(0.0, 0.15))
        for worker, lines in zip(workers, output, strict=True):
            lines += worker.kill()
            words = [line.split() for line in lines]
            acknowledged.update(line[2] for line in words if line[0] == "ok" and len(line) == 3)
            tried = [line[1] for line in words if line[0] == "try" and len(line) == 2]
            done = {line[1] for line in words if line[0] == "ok"}
            if tried and tried[-1] not in done:
                interrupted.append(tried[-1])
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
