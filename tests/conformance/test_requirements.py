"""Counts with preconditions on other counters (what chains are built on), on every store:
checked in the same atomic step as the limits, never counted when unmet."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta

from liveops_rules.accounting import check_ledger
from liveops_rules.stores import CounterSpec, CountRequest, Requirement, SettleAction
from liveops_rules.stores.protocol import document_version

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)
_ids = itertools.count(1)


def request(
    counters: tuple[CounterSpec, ...],
    quantity: int = 1,
    requires: tuple[Requirement, ...] = (),
    expires_at: datetime | None = None,
) -> CountRequest:
    return CountRequest(
        f"op-{next(_ids):08d}-{threading.get_ident()}",
        None, "", AT, expires_at, "player", "chain:1", None, quantity, counters, "",
        requires=requires,
    )  # fmt: skip


BALANCE = CounterSpec("v|chain:1|player|", None)
STEP = CounterSpec("s|chain:1|player|step-2|", 1)


def test_a_count_waits_for_its_requirement_and_counts_once_met(store):
    claim = request((STEP,), requires=(Requirement(BALANCE.key, 100),))
    refused = store.count(claim)
    assert not refused.ok
    assert refused.unmet == Requirement(BALANCE.key, 100)
    assert refused.state.used == 0
    assert store.counter(STEP.key, AT).used == 0
    assert store.count(request((BALANCE,), quantity=60)).ok
    assert store.count(claim._replace(operation_id="again-1")).unmet is not None
    assert store.count(request((BALANCE,), quantity=40)).ok
    assert store.count(claim._replace(operation_id="again-2")).ok
    assert store.counter(STEP.key, AT).used == 1
    assert store.count(claim._replace(operation_id="again-3")).exhausted == STEP  # once
    assert check_ledger(store) == []


def test_held_uses_do_not_meet_a_requirement(store):
    held = request((BALANCE,), quantity=100, expires_at=AT + timedelta(minutes=5))
    assert store.count(held).ok
    claim = request((STEP,), requires=(Requirement(BALANCE.key, 100),))
    assert store.count(claim).unmet is not None  # reserved is not committed
    assert store.settle(SettleAction.COMMIT, held.operation_id, AT).ok
    assert store.count(claim._replace(operation_id="claim-after")).ok


def test_every_requirement_must_hold(store):
    first = CounterSpec("s|chain:1|player|step-1|", 1)
    assert store.count(request((BALANCE,), quantity=500)).ok
    both = (Requirement(BALANCE.key, 100), Requirement(first.key, 1))
    refused = store.count(request((STEP,), requires=both))
    assert refused.unmet == Requirement(first.key, 1)
    assert store.count(request((first,))).ok
    assert store.count(request((STEP,), requires=both)).ok


def test_racing_claims_on_one_step_count_exactly_once(store_factory):
    store = store_factory()
    assert store.count(request((BALANCE,), quantity=100)).ok
    start = threading.Barrier(6, timeout=120)
    outcomes: list[bool] = []

    def claim() -> None:
        mine = store_factory()
        start.wait()
        outcome = mine.count(request((STEP,), requires=(Requirement(BALANCE.key, 100),)))
        outcomes.append(outcome.ok)

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False] * 5 + [True]
    assert check_ledger(store) == []


def test_counters_are_listed_by_prefix(store):
    for user, amount in (("ann", 5), ("bob", 7)):
        spec = CounterSpec(f"k|chain:1|clan-a|{user}|", None)
        assert store.count(request((spec,), quantity=amount)).ok
    assert store.count(request((CounterSpec("k|chain:10|clan-a|cy|", None),), quantity=1)).ok
    found = store.counters_with_prefix("k|chain:1|")
    assert {key: state.used for key, state in found.items()} == {
        "k|chain:1|clan-a|ann|": 5,
        "k|chain:1|clan-a|bob|": 7,
    }


def test_a_count_checks_the_version_of_the_document_it_names(store):
    first, second = '{"config": 1}', '{"config": 2}'
    store.put_promotion("chains:config", first)
    kept = document_version(first)
    for expires_at in (None, AT + timedelta(minutes=5)):  # an outright count and a hold
        counted = request((BALANCE,), quantity=3, expires_at=expires_at)
        assert store.count(counted._replace(version=kept, version_of="chains:config")).ok
    assert store.counter(BALANCE.key, AT).used == 3
    assert [e.promotion for e in store.ledger()] == ["chain:1", "chain:1"]
    store.put_promotion("chains:config", second)
    for expires_at in (None, AT + timedelta(minutes=5)):
        stale = request((BALANCE,), quantity=3, expires_at=expires_at)
        assert store.count(stale._replace(version=kept, version_of="chains:config")).stale
        missing = stale._replace(operation_id=stale.operation_id + "-m", version_of="absent:1")
        assert store.count(missing._replace(version=kept)).stale
    assert store.counter(BALANCE.key, AT).used == 3  # nothing counted when stale
    assert len(store.ledger()) == 2
    current = request((BALANCE,), quantity=1)
    assert store.count(
        current._replace(version=document_version(second), version_of="chains:config")
    ).ok
    assert check_ledger(store) == []


def test_a_documents_version_is_read_alone(store):
    assert store.promotion_version("chains:config") is None
    store.put_promotion("chains:config", '{"config": 1}')
    assert store.promotion_version("chains:config") == document_version('{"config": 1}')
    assert store.swap_promotion("chains:config", document_version('{"config": 1}'), '{"config": 2}')
    assert store.promotion_version("chains:config") == document_version('{"config": 2}')
