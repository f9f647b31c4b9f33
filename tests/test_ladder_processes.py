"""Daily and offer chains across processes: one player's claims of the same day, and orders
of the same paid step, counted once whatever the processes; kill -9 of claiming processes
loses no acknowledged claim and leaves the ledger sound."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from liveops_rules import User, ValidityWindow, open_store
from liveops_rules.accounting import check_ledger
from liveops_rules.chains.daily import DailyChains
from liveops_rules.chains.offer import OfferChains
from liveops_rules.models import RewardItem
from liveops_rules.models.daily import DailyChain, DailyChainStep
from liveops_rules.models.offer import OfferChain, OfferChainStep, OfferItem
from tests.test_chain_processes import _uri
from tests.test_crash import Worker

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)

DAILY = DailyChain(
    name={"en": "Logins"},
    window=ValidityWindow(AT - timedelta(hours=1), None),
    enabled=True,
    type="rolling",
    steps=[DailyChainStep(step_number=n, items=[RewardItem(f"day{n}")]) for n in (1, 2, 3)],
)

OFFER = OfferChain(
    name={"en": "Offers"},
    window=ValidityWindow(AT - timedelta(hours=1), None),
    enabled=True,
    steps=[
        OfferChainStep(step_number=1, is_free=False, items=[OfferItem("sword")]),
        OfferChainStep(step_number=2, is_free=False, items=[OfferItem("shield")]),
    ],
)

RACER = """
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from decimal import Decimal
from pathlib import Path
from liveops_rules import User, open_store
from liveops_rules.accounting import AccountingError
from liveops_rules.chains.daily import DailyChains
from liveops_rules.chains.offer import OfferChains

store = open_store(sys.argv[1])
kind, name = sys.argv[2], sys.argv[4]
at = datetime(2026, 11, 22, 12, tzinfo=UTC)
print("ready", flush=True)
go = Path(sys.argv[3])
deadline = time.monotonic() + 120
while not go.exists() and time.monotonic() < deadline:  # every racer starts at once
    time.sleep(0.005)
player = User("racer")
done = False
if kind == "daily":
    for step in (1, 2, 3):  # each tries every step today: only one claim a day counts
        done = DailyChains(store).claim(1, step, player, at).ok or done
else:
    chains = OfferChains(store)
    order = chains.order(
        1, 1, player, at, prices={"sword": Decimal("4.99")}, currency="USD",
        hold=timedelta(minutes=5), order_id=name,
    )
    if order.ok:
        done = chains.pay(order, player, at).ok
print("claimed" if done else "refused", flush=True)
store.close()
"""


def _prepare(uri: str, kind: str, closing):
    store = closing(open_store(uri + ("&create_schema=true" if kind == "postgres" else "")))
    daily, offer = DailyChains(store), OfferChains(store)
    daily.create_chain(DAILY)
    offer.create_chain(OFFER)
    return store, daily, offer


@pytest.mark.parametrize("chain", ["daily", "offer"])
@pytest.mark.parametrize("kind", ["sqlite", "redis", "postgres"])
def test_four_processes_take_one_step_once(kind, chain, tmp_path: Path, request, closing):
    uri = _uri(kind, tmp_path, request)
    store, daily, offer = _prepare(uri, kind, closing)
    go = tmp_path / "go"
    racers = [closing(Worker(uri, chain, str(go), f"order-{n}", script=RACER)) for n in range(4)]
    for racer in racers:
        racer.lines_until("ready")
    go.touch()
    verdicts = [racer.lines_until(("claimed", "refused"))[-1].strip() for racer in racers]
    assert sorted(verdicts) == ["claimed"] + ["refused"] * 3
    if chain == "daily":
        states = [s.status.value for s in daily.player_chain(1, User("racer"), AT).steps]
        assert states == ["claimed", "claim_in_future", "claim_in_future"]
    else:
        view = offer.player_chain(1, User("racer"), AT)
        assert len(view.progress.done) == 1
        assert view.progress.held == frozenset()  # the losers held nothing
        assert view.next_step_number == 2
    assert check_ledger(store) == []


CLAIMER = """
import sys
from datetime import UTC, datetime
from liveops_rules import User, open_store
from liveops_rules.chains.daily import DailyChains

chains = DailyChains(open_store(sys.argv[1]))
at = datetime(2026, 11, 22, 12, tzinfo=UTC)
print("ready", flush=True)
n = 0
while True:
    n += 1
    player = User(f"{sys.argv[2]}-{n}")
    print("try", player.id, flush=True)
    outcome = chains.claim(1, 1, player, at, idempotency_key=f"claim-{player.id}")
    if outcome.ok:
        print("ok", player.id, outcome.operation_id, flush=True)
"""

ROUNDS = {"sqlite": 12, "redis": 6, "postgres": 6}


@pytest.mark.parametrize("kind", sorted(ROUNDS))
def test_kill_9_of_daily_claimers_loses_no_acknowledged_claim(kind, tmp_path, request, closing):
    uri = _uri(kind, tmp_path, request)
    store, daily, _ = _prepare(uri, kind, closing)
    rng = random.Random(20261202)
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
        retried = daily.claim(1, 1, User(player), AT, idempotency_key=f"claim-{player}")
        assert retried.ok, retried
        again = daily.claim(1, 1, User(player), AT, idempotency_key=f"claim-{player}")
        assert again.ok
        assert again.replayed
        assert again.operation_id == retried.operation_id
    assert check_ledger(store) == []
    claims = [e for e in store.ledger() if e.event == "redeem" and e.promotion == "daily_chain:1"]
    assert acknowledged <= {e.operation_id for e in claims}
    per_player: dict[str, int] = {}
    for entry in claims:
        per_player[entry.user_id or ""] = per_player.get(entry.user_id or "", 0) + 1
    assert all(count == 1 for count in per_player.values())  # one claim per player, ever


BUYER = """
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from decimal import Decimal
from liveops_rules import User, open_store
from liveops_rules.chains.offer import OfferChains

chains = OfferChains(open_store(sys.argv[1]))
at = datetime(2026, 11, 22, 12, tzinfo=UTC)
print("ready", flush=True)
n = 0
while True:
    n += 1
    player = User(f"{sys.argv[2]}-{n}")
    print("try", player.id, flush=True)
    order = chains.order(
        1, 1, player, at, prices={"sword": Decimal("4.99")}, currency="USD",
        hold=timedelta(hours=1), order_id=f"order-{player.id}",
    )
    if order.ok and chains.pay(order, player, at).ok:
        print("ok", player.id, order.outcome.operation_id, flush=True)
"""


@pytest.mark.parametrize("kind", sorted(ROUNDS))
def test_kill_9_of_buyers_loses_no_paid_step(kind, tmp_path, request, closing):
    uri = _uri(kind, tmp_path, request)
    store, _, offer = _prepare(uri, kind, closing)
    rng = random.Random(20261203)
    acknowledged: set[str] = set()
    interrupted: list[str] = []
    for round_number in range(ROUNDS[kind]):
        workers = [closing(Worker(uri, f"r{round_number}w{n}", script=BUYER)) for n in range(2)]
        output = [worker.lines_until("ok ") for worker in workers]  # each has paid once
        time.sleep(rng.uniform(0.0, 0.1))
        for worker, lines in zip(workers, output, strict=True):
            lines += worker.kill()
            words = [line.split() for line in lines]
            acknowledged.update(w[2] for w in words if w[0] == "ok" and len(w) == 3)
            tried = [w[1] for w in words if w[0] == "try" and len(w) == 2]
            done = {w[1] for w in words if w[0] == "ok"}
            if tried and tried[-1] not in done:
                interrupted.append(tried[-1])
    for player in interrupted:  # the caller's retry with the same order id: held once, paid
        order = offer.order(
            1,
            1,
            User(player),
            AT,
            prices={"sword": Decimal("4.99")},
            currency="USD",
            hold=timedelta(hours=1),
            order_id=f"order-{player}",
        )
        if order.ok:
            assert offer.pay(order, User(player), AT).ok
        else:  # the killed process had paid already: the step is done
            assert order.outcome.refusal is not None
            assert order.outcome.refusal.code == "step_claimed"
        view = offer.player_chain(1, User(player), AT)
        assert view.next_step_number == 2
    assert check_ledger(store) == []
    commits = [e for e in store.ledger() if e.event == "commit"]
    assert acknowledged <= {e.operation_id for e in commits}
    per_player: dict[str, int] = {}
    for entry in commits:
        per_player[entry.user_id or ""] = per_player.get(entry.user_id or "", 0) + 1
    assert all(count == 1 for count in per_player.values())  # one paid step per player
