"""Daily chains on every store: claims by LiveOps' rules (chains.md, "2. Daily chains") for
`calendar_hard` and `rolling` chains, refusals with their codes and messages, recurrence,
the chain's end, the admin lifecycle, idempotency, handles on one store, and racing claims.

Expected days are written out by hand from the rules (24-hour days from `date_start`, or a
zone's wall-clock days), never computed with the library's day grid."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from liveops_rules import (
    DailyChain,
    DailyChains,
    DailyChainStep,
    RewardItem,
    User,
    ValidityWindow,
)
from liveops_rules.accounting import AccountingError, check_ledger
from liveops_rules.errors import ChainConfigError
from liveops_rules.stores import InMemoryStore, RedemptionStore

S = datetime(2026, 6, 1, 9, tzinfo=UTC)  # day 0 of every chain below begins here
D = timedelta(days=1)
H = timedelta(hours=1)
ANN, BOB = User("ann"), User("bob")
JOIN = timedelta(seconds=120)  # a bound on a thread's end, never a synchronisation

_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)")


def items(number: int) -> list[RewardItem]:
    return [RewardItem("coin", 10 * number), RewardItem(f"chest_{number}", 1)]


def steps(count: int) -> list[DailyChainStep]:
    return [DailyChainStep(step_number=n, items=items(n)) for n in range(1, count + 1)]


def daily(kind: str, count: int = 3, **fields: object) -> DailyChain:
    defaults: dict[str, object] = {
        "name": {"en": "Login week"},
        "window": ValidityWindow(S, None),
        "enabled": True,
        "type": kind,
        "steps": steps(count),
    }
    return DailyChain(**{**defaults, **fields})


def day(n: int, hours: float = 2) -> datetime:
    """A moment `hours` into day `n` of a 24-hour grid from S."""
    return S + n * D + timedelta(hours=hours)


def moments(message: str) -> list[datetime]:
    """Every RFC 3339 moment a message names."""
    return [datetime.fromisoformat(found) for found in _ISO.findall(message)]


def statuses(chains: DailyChains, chain_id: int, user: User, at: datetime) -> list[str]:
    return [state.status.value for state in chains.player_chain(chain_id, user, at).steps]


def refused(outcome: object, code: str, error_code: int = 6306) -> str:
    """The refusal's message, once its code and LiveOps' code are the ones expected."""
    assert not outcome.ok, outcome  # type: ignore[attr-defined]
    refusal = outcome.refusal  # type: ignore[attr-defined]
    assert (refusal.code, int(refusal.error_code)) == (code, error_code), refusal
    return refusal.message


def claims_in_ledger(store: RedemptionStore, chain_id: int) -> int:
    ledger, _ = store.audit()
    return sum(1 for entry in ledger if entry.promotion == f"daily_chain:{chain_id}")


@pytest.fixture
def chains(store: RedemptionStore) -> DailyChains:
    return DailyChains(store)


def test_a_calendar_chain_gives_each_day_its_own_step_and_a_missed_day_is_lost(chains, store):
    chain = chains.create_chain(daily("calendar_hard", 4))
    cid = chain.chain_id
    view = chains.player_chain(cid, ANN, day(0))
    assert [s.status.value for s in view.steps] == ["claimable"] + ["claim_in_future"] * 3
    assert [s.unlocked_at for s in view.steps] == [S, S + D, S + 2 * D, S + 3 * D]
    assert view.next_claim_at == S
    first = chains.claim(cid, 1, ANN, day(0))
    assert first.ok
    assert list(first.items) == items(1)
    message = refused(chains.claim(cid, 1, ANN, day(0, 20)), "claimed_today")
    assert moments(message) == [S + D]  # when the next claim opens
    message = refused(chains.claim(cid, 2, ANN, day(0)), "step_in_future")
    assert S + D in moments(message)
    assert chains.player_chain(cid, ANN, day(0)).next_claim_at == S + D
    # Day 1 passes unclaimed: step 2 is lost for good, step 3 is day 2's.
    message = refused(chains.claim(cid, 2, ANN, day(2)), "step_missed")
    assert S + D in moments(message)  # the day it was to be claimed
    refused(chains.claim(cid, 1, ANN, day(2)), "step_claimed")
    assert statuses(chains, cid, ANN, day(2)) == [
        "claimed",
        "blocked",
        "claimable",
        "claim_in_future",
    ]
    assert chains.claim(cid, 3, ANN, day(2, 23.9)).ok  # the last moment of day 2
    assert chains.claim(cid, 4, ANN, day(3, 0)).ok  # day 3's first moment
    refused(chains.claim(cid, 4, ANN, day(4)), "chain_completed")
    refused(chains.claim(cid, 1, ANN, day(4)), "chain_completed")
    view = chains.player_chain(cid, ANN, day(4))
    assert [s.status.value for s in view.steps] == ["claimed", "blocked", "claimed", "claimed"]
    assert view.next_claim_at is None
    # Another player's days are their own: Bob starts late and has lost steps 1 and 2.
    assert statuses(chains, cid, BOB, day(2)) == [
        "blocked",
        "blocked",
        "claimable",
        "claim_in_future",
    ]
    refused(chains.claim(cid, 1, BOB, day(2)), "step_missed")
    assert chains.claim(cid, 3, BOB, day(2)).ok
    assert claims_in_ledger(store, cid) == 4
    assert check_ledger(store) == []


def test_a_rolling_chain_opens_the_next_step_the_day_after_a_claim_and_missed_days_wait(
    chains, store
):
    cid = chains.create_chain(daily("rolling", 3)).chain_id
    assert chains.claim(cid, 1, ANN, day(0)).ok
    message = refused(chains.claim(cid, 2, ANN, day(0, 21)), "claimed_today")
    assert moments(message) == [S + D]
    refused(chains.claim(cid, 3, ANN, day(0)), "not_next_step")
    refused(chains.claim(cid, 1, ANN, day(0)), "step_claimed")
    view = chains.player_chain(cid, ANN, day(0))
    assert [s.status.value for s in view.steps] == ["claimed", "claim_in_future", "claim_in_future"]
    assert [s.unlocked_at for s in view.steps[1:]] == [S + D, S + 2 * D]
    assert view.next_claim_at == S + D
    # Days 1-4 pass: nothing is lost, step 2 waits (open since day 1).
    view = chains.player_chain(cid, ANN, day(5))
    assert [s.status.value for s in view.steps] == ["claimed", "claimable", "claim_in_future"]
    assert [s.unlocked_at for s in view.steps[1:]] == [S + D, S + 6 * D]
    refused(chains.claim(cid, 3, ANN, day(5)), "not_next_step")
    second = chains.claim(cid, 2, ANN, day(5))
    assert second.ok
    assert list(second.items) == items(2)
    message = refused(chains.claim(cid, 3, ANN, day(5, 23)), "claimed_today")
    assert moments(message) == [S + 6 * D]
    assert chains.claim(cid, 3, ANN, day(6, 0)).ok
    refused(chains.claim(cid, 1, ANN, day(7)), "chain_completed")
    view = chains.player_chain(cid, ANN, day(7))
    assert [s.status.value for s in view.steps] == ["claimed"] * 3
    assert view.next_claim_at is None
    assert claims_in_ledger(store, cid) == 3
    assert check_ledger(store) == []


def test_claims_outside_the_chain_or_its_window_are_refused_with_liveops_codes(chains, store):
    end = S + 3 * D
    cid = chains.create_chain(daily("rolling", 2, window=ValidityWindow(S, end))).chain_id
    refused(chains.claim(cid + 1, 1, ANN, day(0)), "daily_chain_not_found", 6201)
    refused(chains.claim(cid, 3, ANN, day(0)), "chain_step_not_found", 6304)
    message = refused(chains.claim(cid, 1, ANN, S - timedelta(microseconds=1)), "chain_not_started")
    assert moments(message) == [S]
    message = refused(chains.claim(cid, 1, ANN, end), "chain_ended")
    assert moments(message) == [end]
    assert chains.player_chain(cid, ANN, S - H).next_claim_at == S
    chains.toggle_chain(cid)
    refused(chains.claim(cid, 1, ANN, day(0)), "daily_chain_not_found", 6201)
    assert chains.player_chains(ANN, day(0)) == ([], 0)  # a disabled chain is not listed
    assert claims_in_ledger(store, cid) == 0
    assert check_ledger(store) == []


@pytest.mark.parametrize("kind", ["calendar_hard", "rolling"])
def test_a_recurrent_chain_starts_again_at_step_one_after_its_last_step(chains, store, kind):
    cid = chains.create_chain(daily(kind, 2, recurrent=True)).chain_id
    assert chains.claim(cid, 1, ANN, day(0)).ok
    assert chains.claim(cid, 2, ANN, day(1)).ok
    if kind == "calendar_hard":  # (a rolling chain may show its next cycle at once)
        assert statuses(chains, cid, ANN, day(1)) == ["claimed", "claimed"]
    # The same day again: calendar's day-1 step is step 2; rolling's next is step 1 anew.
    today = 2 if kind == "calendar_hard" else 1
    message = refused(chains.claim(cid, today, ANN, day(1)), "claimed_today")
    assert moments(message) == [S + 2 * D]
    assert statuses(chains, cid, ANN, day(2)) == ["claimable", "claim_in_future"]
    again = chains.claim(cid, 1, ANN, day(2))
    assert again.ok
    assert list(again.items) == items(1)
    assert chains.claim(cid, 2, ANN, day(3)).ok
    assert chains.claim(cid, 1, ANN, day(4)).ok  # a third cycle
    assert claims_in_ledger(store, cid) == 5
    assert check_ledger(store) == []


def test_a_recurrent_calendar_chain_loses_a_missed_cycle_a_rolling_one_waits(chains):
    calendar = chains.create_chain(daily("calendar_hard", 2, recurrent=True)).chain_id
    rolling = chains.create_chain(daily("rolling", 2, recurrent=True)).chain_id
    for cid in (calendar, rolling):
        assert chains.claim(cid, 1, ANN, day(0)).ok
    # Days 1-4 pass. Calendar: day 5 is step 2 of the third cycle (days 4, 5).
    refused(chains.claim(calendar, 1, ANN, day(5)), "step_missed")
    assert statuses(chains, calendar, ANN, day(5)) == ["blocked", "claimable"]
    assert chains.claim(calendar, 2, ANN, day(5)).ok
    # Rolling: step 2 waited, then a new cycle the next day.
    assert statuses(chains, rolling, ANN, day(5)) == ["claimed", "claimable"]
    assert chains.claim(rolling, 2, ANN, day(5)).ok
    assert chains.claim(rolling, 1, ANN, day(6)).ok


@pytest.mark.parametrize("kind", ["calendar_hard", "rolling"])
def test_a_chain_ending_mid_streak_blocks_the_steps_it_cannot_reach(chains, store, kind):
    end = S + 2 * D + 12 * H  # midway through day 2: days 0, 1 and 2 can be claimed
    cid = chains.create_chain(daily(kind, 5, window=ValidityWindow(S, end))).chain_id
    assert chains.claim(cid, 1, ANN, day(0)).ok
    view = chains.player_chain(cid, ANN, day(0))
    assert [s.status.value for s in view.steps] == [
        "claimed",
        "claim_in_future",
        "claim_in_future",
        "blocked",
        "blocked",
    ]
    assert [s.unlocked_at for s in view.steps[1:]] == [S + n * D for n in (1, 2, 3, 4)]
    assert chains.claim(cid, 2, ANN, day(1)).ok
    assert chains.claim(cid, 3, ANN, end - timedelta(microseconds=1)).ok
    message = refused(chains.claim(cid, 4, ANN, end), "chain_ended")
    assert moments(message) == [end]
    refused(chains.claim(cid, 4, ANN, day(3)), "chain_ended")
    assert statuses(chains, cid, ANN, day(3)) == ["claimed"] * 3 + ["blocked"] * 2
    assert chains.player_chain(cid, ANN, day(3)).next_claim_at is None
    assert chains.player_chains(ANN, day(3)) == ([], 0)  # no longer running
    assert check_ledger(store) == []


@pytest.mark.parametrize("kind", ["calendar_hard", "rolling"])
def test_after_a_mid_day_end_a_player_who_stopped_claiming_sees_every_step_blocked(closing, kind):
    chains = DailyChains(closing(InMemoryStore()))  # the views' rule: the same on every store
    end = S + 2 * D + 12 * H
    cid = chains.create_chain(daily(kind, 4, window=ValidityWindow(S, end))).chain_id
    assert chains.claim(cid, 1, ANN, day(0)).ok
    after = end + H  # still grid day 2
    refused(chains.claim(cid, 2, ANN, after), "chain_ended")
    view = chains.player_chain(cid, ANN, after)
    assert [s.status.value for s in view.steps] == ["claimed", "blocked", "blocked", "blocked"]
    assert view.next_claim_at is None


def test_a_claimed_today_refusal_on_the_last_step_announces_no_next_claim(closing):
    chains = DailyChains(closing(InMemoryStore()))  # the refusals' rule: the same on every store
    cid = chains.create_chain(daily("calendar_hard", 2)).chain_id
    assert chains.claim(cid, 2, ANN, day(1)).ok
    assert chains.player_chain(cid, ANN, day(1)).next_claim_at is None
    message = refused(chains.claim(cid, 2, ANN, day(1)), "claimed_today")
    assert moments(message) == []


def test_an_enabled_chain_cannot_be_updated_and_nothing_is_written(chains):
    chain = chains.create_chain(daily("rolling", 3))
    assert chains.claim(chain.chain_id, 1, ANN, day(0)).ok
    changed = attrs.evolve(chain, recurrent=True, steps=steps(2))
    with pytest.raises(AccountingError) as active:
        chains.update_chain(changed)
    assert active.value.code == "daily_chain_active"
    assert int(active.value.error_code) == 6209
    assert "deactivate" in active.value.message
    assert chains.chain(chain.chain_id) == chain
    assert chains.chains() == [chain]
    third = chains.claim(chain.chain_id, 2, ANN, day(1))
    assert third.ok
    assert list(third.items) == items(2)  # the old step still counts


def test_an_update_of_a_disabled_chain_keeps_the_step_ids_given_and_never_reuses_one(chains):
    chain = chains.create_chain(daily("calendar_hard", 3))
    assert [s.step_id for s in chain.steps] == [1, 2, 3]
    assert chains.claim(chain.chain_id, 1, ANN, day(0)).ok
    disabled = chains.toggle_chain(chain.chain_id)
    assert not disabled.enabled
    one, _, three = disabled.steps
    new = DailyChainStep(step_number=3, items=[RewardItem("gem", 5)])
    moved = attrs.evolve(three, step_number=2, items=[RewardItem("crown", 1)])
    updated = chains.update_chain(attrs.evolve(disabled, steps=[one, moved, new]))
    assert [(s.step_number, s.step_id) for s in updated.steps] == [(1, 1), (2, 3), (3, 4)]
    assert chains.chain(chain.chain_id) == updated
    shorter = chains.update_chain(
        attrs.evolve(updated, steps=[one, DailyChainStep(step_number=2, items=items(2))])
    )
    assert [s.step_id for s in shorter.steps] == [1, 5]  # 2, 3, 4 were used: never again
    with pytest.raises(ChainConfigError) as unknown:  # a step id the chain no longer has
        chains.update_chain(
            attrs.evolve(shorter, steps=[one, attrs.evolve(new, step_id=4, step_number=2)])
        )
    assert unknown.value.error_code == 6206
    assert chains.chain(chain.chain_id) == shorter
    enabled = chains.toggle_chain(chain.chain_id)
    assert enabled.enabled
    claimed = chains.claim(chain.chain_id, 2, ANN, day(1))
    assert claimed.ok
    assert list(claimed.items) == items(2)
    # A chain deleted keeps its id used: the next chain gets a new one.
    chains.delete_chain(chain.chain_id, day(1))
    assert chains.chain(chain.chain_id) is None
    assert chains.create_chain(daily("rolling")).chain_id == chain.chain_id + 1


def test_a_reset_starts_every_player_of_a_rolling_chain_at_step_one(chains, store):
    cid = chains.create_chain(daily("rolling", 3)).chain_id
    assert chains.claim(cid, 1, ANN, day(0)).ok
    assert chains.claim(cid, 2, ANN, day(1)).ok
    assert chains.claim(cid, 1, BOB, day(1)).ok
    assert chains.reset_chain(cid, day(1, 5)) == 1
    for player in (ANN, BOB):
        assert statuses(chains, cid, player, day(2)) == [
            "claimable",
            "claim_in_future",
            "claim_in_future",
        ]
        refused(chains.claim(cid, 2, player, day(2)), "not_next_step")
        assert chains.claim(cid, 1, player, day(2)).ok
    assert chains.claim(cid, 2, ANN, day(3)).ok
    assert check_ledger(store) == []


def test_a_calendar_chain_cannot_be_reset(chains):
    cid = chains.create_chain(daily("calendar_hard", 3)).chain_id
    assert chains.claim(cid, 1, ANN, day(0)).ok
    with pytest.raises(AccountingError) as refused_reset:
        chains.reset_chain(cid, day(0))
    assert refused_reset.value.code == "reset_not_rolling"
    refused(chains.claim(cid, 1, ANN, day(0)), "claimed_today")  # the claim stays


def test_an_idempotency_key_replays_the_first_claim_and_refuses_another_request(chains, store):
    cid = chains.create_chain(daily("calendar_hard", 3)).chain_id
    first = chains.claim(cid, 1, ANN, day(0), idempotency_key="claim-1")
    assert first.ok
    assert not first.replayed
    for at in (day(0), day(0, 20), day(1)):  # a retry, however late: the first result
        again = chains.claim(cid, 1, ANN, at, idempotency_key="claim-1")
        assert again.ok
        assert again.replayed
        assert (again.operation_id, again.items) == (first.operation_id, first.items)
    assert claims_in_ledger(store, cid) == 1
    with pytest.raises(AccountingError) as other_step:
        chains.claim(cid, 2, ANN, day(1), idempotency_key="claim-1")
    assert other_step.value.code == "idempotency_conflict"
    with pytest.raises(AccountingError) as other_player:
        chains.claim(cid, 1, BOB, day(0), idempotency_key="claim-1")
    assert other_player.value.code == "idempotency_conflict"
    second = chains.claim(cid, 2, ANN, day(1), idempotency_key="claim-2")
    assert second.ok
    assert not second.replayed
    assert claims_in_ledger(store, cid) == 2
    assert check_ledger(store) == []


def test_a_change_on_one_handle_holds_at_the_next_claim_on_another(store_factory):
    admin, client = DailyChains(store_factory()), DailyChains(store_factory())
    chain = admin.create_chain(daily("rolling", 3))
    cid = chain.chain_id
    assert client.claim(cid, 1, ANN, day(0)).ok  # the client has loaded the configuration
    admin.toggle_chain(cid)
    refused(client.claim(cid, 2, ANN, day(1)), "daily_chain_not_found", 6201)
    with pytest.raises(AccountingError) as hidden:  # a disabled chain is hidden from players
        admin.player_chain(cid, ANN, day(1))
    assert hidden.value.code == "daily_chain_not_found"
    assert claims_in_ledger(admin.store, cid) == 1
    four = [*chain.steps, DailyChainStep(step_number=4, items=[RewardItem("crown", 1)])]
    four[1] = attrs.evolve(four[1], items=[RewardItem("gem", 7)])
    admin.update_chain(attrs.evolve(chain, enabled=False, steps=four))
    admin.toggle_chain(cid)
    second = client.claim(cid, 2, ANN, day(1))
    assert second.ok
    assert list(second.items) == [RewardItem("gem", 7)]  # the new items
    assert client.claim(cid, 3, ANN, day(2)).ok
    fourth = client.claim(cid, 4, ANN, day(3))  # a step added on the other handle
    assert fourth.ok
    assert list(fourth.items) == [RewardItem("crown", 1)]
    assert claims_in_ledger(admin.store, cid) == 4
    assert check_ledger(store_factory()) == []


def test_a_reset_on_one_handle_holds_at_the_next_claim_on_another(store_factory):
    admin, client = DailyChains(store_factory()), DailyChains(store_factory())
    cid = admin.create_chain(daily("rolling", 2)).chain_id
    assert client.claim(cid, 1, ANN, day(0)).ok
    assert client.claim(cid, 2, ANN, day(1)).ok  # every step claimed, on the client
    admin.reset_chain(cid, day(1))
    # (Any read on the client, player_chain too, loads the new configuration: claim first.)
    after_reset = client.claim(cid, 1, ANN, day(2))
    assert after_reset.ok, after_reset.refusal
    assert statuses(client, cid, ANN, day(2)) == ["claimed", "claim_in_future"]


def _race(work: Callable[[int], None]) -> None:
    """Run `work(n)` on 8 threads released together; re-raise what any of them raised."""
    start = threading.Barrier(8, timeout=120)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            start.wait()
            work(n)
        except BaseException as error:  # handed to the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN.total_seconds())
    assert not any(thread.is_alive() for thread in threads), "a claim never returned"
    if errors:
        raise errors[0]


@pytest.mark.parametrize("kind", ["calendar_hard", "rolling"])
def test_racing_claims_of_one_days_step_count_exactly_one(store_factory, kind, request):
    setup = DailyChains(store_factory())
    cid = setup.create_chain(daily(kind, 3)).chain_id
    handles = [DailyChains(store_factory()) for _ in range(8)]
    outcomes: list[tuple[bool, str | None]] = []

    def claim(n: int) -> None:
        outcome = handles[n].claim(cid, 1, ANN, day(0, 1 + n / 10))
        outcomes.append((outcome.ok, None if outcome.ok else outcome.refusal.code))

    _race(claim)
    assert sorted(ok for ok, _ in outcomes) == [False] * 7 + [True]
    again = "claimed_today" if kind == "calendar_hard" else "step_claimed"
    assert {code for ok, code in outcomes if not ok} == {again}
    assert statuses(setup, cid, ANN, day(0)) == ["claimed", "claim_in_future", "claim_in_future"]
    assert claims_in_ledger(setup.store, cid) == 1
    assert check_ledger(store_factory()) == []


def test_racing_claims_on_different_days_of_a_rolling_chain_stay_one_a_day_in_order(
    store_factory, request
):
    setup = DailyChains(store_factory())
    cid = setup.create_chain(daily("rolling", 8)).chain_id
    handles = [DailyChains(store_factory()) for _ in range(8)]
    won: list[tuple[int, int]] = []  # (step, day) of each claim counted

    def claim_all(n: int) -> None:  # thread n claims on day n, every step in turn
        for step in range(1, 9):
            if handles[n].claim(cid, step, ANN, day(n)).ok:
                won.append((step, n))

    _race(claim_all)
    by_step = sorted(won)
    assert [step for step, _ in by_step] == list(range(1, len(won) + 1))  # in order, no gap
    assert len({d for _, d in won}) == len(won)  # never two on one day
    assert [d for _, d in by_step] == sorted(d for _, d in by_step)  # later steps, later days
    view = setup.player_chain(cid, ANN, day(8))
    assert [s.status.value for s in view.steps][: len(won)] == ["claimed"] * len(won)
    assert claims_in_ledger(setup.store, cid) == len(won) >= 1
    assert check_ledger(store_factory()) == []


def test_days_in_a_zone_follow_its_wall_clock_across_a_daylight_saving_change(chains, store):
    start = datetime(2026, 3, 7, 14, tzinfo=UTC)  # 09:00 EST, Saturday
    chain = daily("rolling", 3, window=ValidityWindow(start, None), day_zone="America/New_York")
    cid = chains.create_chain(chain).chain_id
    assert chains.claim(cid, 1, ANN, start).ok
    # Sunday 8 March is 23 hours long: day 1 begins at 09:00 EDT, 13:00 UTC.
    refused(chains.claim(cid, 2, ANN, datetime(2026, 3, 8, 12, 59, tzinfo=UTC)), "claimed_today")
    assert chains.claim(cid, 2, ANN, datetime(2026, 3, 8, 13, tzinfo=UTC)).ok
    message = refused(
        chains.claim(cid, 3, ANN, datetime(2026, 3, 8, 20, tzinfo=UTC)), "claimed_today"
    )
    assert moments(message) == [datetime(2026, 3, 9, 13, tzinfo=UTC)]
    view = chains.player_chain(cid, ANN, datetime(2026, 3, 8, 20, tzinfo=UTC))
    assert view.steps[2].unlocked_at == datetime(2026, 3, 9, 13, tzinfo=UTC)
    assert check_ledger(store) == []


def test_the_client_view_lists_running_chains_with_liveops_fields(chains):
    later = chains.create_chain(daily("calendar_hard", 2, order=2))
    first = chains.create_chain(daily("rolling", 2, order=1))
    chains.create_chain(daily("rolling", 2, window=ValidityWindow(S + 5 * D, None)))
    assert chains.claim(later.chain_id, 1, ANN, day(0)).ok
    views, total = chains.player_chains(ANN, day(0))
    assert total == 2
    assert [view.chain.chain_id for view in views] == [first.chain_id, later.chain_id]
    shown = views[1].to_dict()
    assert (shown["id"], shown["type"], shown["name"]) == (
        later.chain_id,
        "calendar_hard",
        "Login week",
    )
    assert [(s["step_number"], s["status"], s["unlocked_date"]) for s in shown["steps"]] == [
        (1, "claimed", int(S.timestamp())),
        (2, "claim_in_future", int(S.timestamp()) + 86_400),
    ]
    assert shown["steps"][0]["items"] == [
        {"sku": "coin", "quantity": 10},
        {"sku": "chest_1", "quantity": 1},
    ]
    page, total = chains.player_chains(ANN, day(0), limit=1, offset=1)
    assert ([view.chain.chain_id for view in page], total) == ([later.chain_id], 2)
