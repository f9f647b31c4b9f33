"""Reward chains across processes: racing claims and concurrent earns counted exactly, and
kill -9 of claiming processes loses no acknowledged claim and leaves the ledger sound."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from liveops_rules import User, ValidityWindow, open_store
from liveops_rules.accounting import check_ledger
from liveops_rules.chains.reward import RewardChains
from liveops_rules.models.chains import (
    ChainReward,
    RewardChain,
    RewardChainStep,
    ValuePoint,
    ValuePointReward,
)
from tests.test_crash import Worker

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)

SETUP_CHAIN = RewardChain(
    name={"en": "Race"},
    window=ValidityWindow(AT - timedelta(days=1), None),
    enabled=True,
    value_point="vp",
    steps=[RewardChainStep(name={"en": "1"}, price=10, rewards=[ChainReward("chest")])],
)

RACER = """
import sys
import time
from pathlib import Path
from datetime import UTC, datetime
from liveops_rules import User, open_store
from liveops_rules.chains.reward import RewardChains

store = open_store(sys.argv[1])
chains = RewardChains(store)
at = datetime(2026, 11, 22, 12, tzinfo=UTC)
name = sys.argv[2]
print("ready", flush=True)
go = Path(sys.argv[3])
deadline = time.monotonic() + 120
while not go.exists() and time.monotonic() < deadline:  # every racer starts at once
    time.sleep(0.005)
for n in range(20):
    chains.earn(f"{name}-{n}", User("racer"), [("gem", 1)], at)
claimed = chains.claim(1, 1, User("racer"), at).ok
print("claimed" if claimed else "refused", flush=True)
store.close()
"""

CLAIMER = """
import sys
from datetime import UTC, datetime
from liveops_rules import User, open_store
from liveops_rules.chains.reward import RewardChains

chains = RewardChains(open_store(sys.argv[1]))
at = datetime(2026, 11, 22, 12, tzinfo=UTC)
print("ready", flush=True)
n = 0
while True:
    n += 1
    player = User(f"{sys.argv[2]}-{n}")
    chains.earn(f"order-{player.id}", player, [("gem", 10)], at)
    print("try", player.id, flush=True)
    outcome = chains.claim(1, 1, player, at, idempotency_key=f"claim-{player.id}")
    if outcome.ok:
        print("ok", player.id, outcome.operation_id, flush=True)
"""


def _uri(kind: str, tmp: Path, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'chains.db'}"
    if kind == "redis":
        return f"{request.getfixturevalue('redis_server').url}?prefix=cp-{uuid.uuid4().hex}"
    server = request.getfixturevalue("postgres_server")
    return f"{server.url}?schema=cp_{uuid.uuid4().hex}&pool_size=1"


def _prepare(uri: str, kind: str, closing) -> RewardChains:
    store = closing(open_store(uri + ("&create_schema=true" if kind == "postgres" else "")))
    chains = RewardChains(store)
    chains.put_value_point(ValuePoint(sku="vp", name={"en": "VP"}))
    chains.set_value_point_rewards("vp", [ValuePointReward("gem", 1)])
    chains.create_chain(SETUP_CHAIN)
    return chains


@pytest.mark.parametrize("kind", ["sqlite", "redis", "postgres"])
def test_four_processes_claim_one_step_once_and_earn_every_point(kind, tmp_path, request, closing):
    uri = _uri(kind, tmp_path, request)
    chains = _prepare(uri, kind, closing)
    go = tmp_path / "go"
    racers = [closing(Worker(uri, f"racer{n}", str(go), script=RACER)) for n in range(4)]
    for racer in racers:
        racer.lines_until("ready")
    go.touch()
    verdicts = [racer.lines_until(("claimed", "refused"))[-1].strip() for racer in racers]
    assert sorted(verdicts) == ["claimed"] + ["refused"] * 3
    assert chains.balance(1, User("racer"), AT) == 4 * 20  # every earn of every process
    assert check_ledger(chains.store) == []


ROUNDS = {"sqlite": 12, "redis": 6, "postgres": 6}


@pytest.mark.parametrize("kind", sorted(ROUNDS))
def test_kill_9_of_claiming_processes_loses_no_acknowledged_claim(kind, tmp_path, request, closing):
    uri = _uri(kind, tmp_path, request)
    chains = _prepare(uri, kind, closing)
    rng = random.Random(20261201)
    acknowledged: set[str] = set()
    interrupted: list[str] = []
    for round_number in range(ROUNDS[kind]):
        workers = [closing(Worker(uri, f"r{round_number}w{n}", script=CLAIMER)) for n in range(2)]
        output = [worker.lines_until("ok ") for worker in workers]  # each has claimed once
        time.sleep(rng.uniform(0.0, 0.1))
        for worker, lines in zip(workers, output, strict=True):
            lines += worker.kill()
            words = [line.split() for line in lines]
            acknowledged.update(w[2] for w in words if w[0] == "ok" and len(w) == 3)
            tried = [w[1] for w in words if w[0] == "try" and len(w) == 2]
            done = {w[1] for w in words if w[0] == "ok"}
            if tried and tried[-1] not in done:
                interrupted.append(tried[-1])
    for player in interrupted:  # the caller's retry: counted now, or replayed
        chains.earn(f"order-{player}", User(player), [("gem", 10)], AT)
        retried = chains.claim(1, 1, User(player), AT, idempotency_key=f"claim-{player}")
        assert retried.ok, retried
    assert check_ledger(chains.store) == []
    claims = [
        e for e in chains.store.ledger() if e.event == "redeem" and e.promotion == "reward_chain:1"
    ]
    assert acknowledged <= {e.operation_id for e in claims}
    per_player: dict[str, int] = {}
    for entry in claims:
        per_player[entry.user_id or ""] = per_player.get(entry.user_id or "", 0) + 1
    assert all(count == 1 for count in per_player.values())  # one claim per player, ever
