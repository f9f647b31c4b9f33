"""Value points and reward chains on every store: earn, claim, reset, refund, clans."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from liveops_rules import (
    Accounting,
    Bonus,
    Cart,
    CartLine,
    IntervalType,
    Pricing,
    RecurrentSchedule,
    RewardItem,
    StringCondition,
    User,
    ValidationError,
    ValidityWindow,
)
from liveops_rules.accounting import AccountingError, check_ledger
from liveops_rules.chains.reward import RewardChains
from liveops_rules.models.chains import (
    ChainReward,
    ClanSettings,
    RewardChain,
    RewardChainStep,
    ValuePoint,
    ValuePointReward,
)

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)  # a Sunday
PLAYER = User("p1", {"tier": "gold"})


def step(price: int, sku: str = "chest", **fields: object) -> RewardChainStep:
    return RewardChainStep(
        name={"en": f"Step {price}"}, price=price, rewards=[ChainReward(sku)], **fields
    )


def chain(**fields: object) -> RewardChain:
    defaults: dict[str, object] = {
        "name": {"en": "Winter ladder"},
        "window": ValidityWindow(AT - timedelta(days=10), AT + timedelta(days=30)),
        "enabled": True,
        "value_point": "snow",
        "steps": [step(100), step(250, "crown")],
    }
    return RewardChain(**{**defaults, **fields})


@pytest.fixture
def chains(store):
    chains = RewardChains(store)
    chains.put_value_point(ValuePoint(sku="snow", name={"en": "Snowflakes"}))
    chains.set_value_point_rewards(
        "snow", [ValuePointReward("sword", 30), ValuePointReward("shield", 50)]
    )
    return chains


def test_buying_earns_and_a_step_is_claimed_once_the_balance_reaches_it(chains, store):
    ladder = chains.create_chain(chain())
    assert [s.step_id for s in ladder.steps] == [1, 2]
    report = chains.earn("order-1", PLAYER, [("sword", 2), ("shield", 1)], AT)
    assert report.earned == {"snow": 110}
    assert report.chains == {"snow": (ladder.chain_id,)}
    assert chains.balance(ladder.chain_id, PLAYER, AT) == 110
    first = chains.claim(ladder.chain_id, 1, PLAYER, AT)
    assert first.ok
    assert [item.sku for item in first.items] == ["chest"]
    assert chains.balance(ladder.chain_id, PLAYER, AT) == 110  # a threshold: nothing spent
    again = chains.claim(ladder.chain_id, 1, PLAYER, AT)
    assert (again.refusal.code, int(again.refusal.error_code)) == ("already_claimed", 9912)
    short = chains.claim(ladder.chain_id, 2, PLAYER, AT)
    assert (short.refusal.code, int(short.refusal.error_code)) == (
        "not_enough_value_points",
        9913,
    )
    missing = chains.claim(ladder.chain_id, 9, PLAYER, AT)
    assert int(missing.refusal.error_code) == 9911
    nowhere = chains.claim(99, 1, PLAYER, AT)
    assert int(nowhere.refusal.error_code) == 4001
    assert check_ledger(store) == []


def test_an_order_earns_once_and_a_refund_takes_back_exactly_that(chains, store):
    ladder = chains.create_chain(chain())
    chains.earn("order-1", PLAYER, [("sword", 4)], AT)
    replay = chains.earn("order-1", PLAYER, [("sword", 4)], AT)
    assert replay.replayed
    assert chains.balance(ladder.chain_id, PLAYER, AT) == 120
    chains.earn("order-2", PLAYER, [("shield", 1)], AT)
    assert chains.refund("order-1", PLAYER, AT) == 1
    assert chains.refund("order-1", PLAYER, AT) == 0  # a second refund changes nothing
    assert chains.balance(ladder.chain_id, PLAYER, AT) == 50
    assert chains.refund("never", PLAYER, AT) == 0
    assert check_ledger(store) == []


def test_a_recurrent_chain_starts_anew_each_period(chains, store):
    weekly = RecurrentSchedule(IntervalType.WEEKLY, hour=0, day_of_week=1)
    ladder = chains.create_chain(chain(recurrent_schedule=weekly))
    chains.earn("o1", PLAYER, [("sword", 4)], AT)
    assert chains.claim(ladder.chain_id, 1, PLAYER, AT).ok
    monday = datetime(2026, 11, 23, 0, tzinfo=UTC)
    assert chains.balance(ladder.chain_id, PLAYER, monday) == 0
    assert chains.claim(ladder.chain_id, 1, PLAYER, monday).refusal.code == (
        "not_enough_value_points"
    )
    chains.earn("o2", PLAYER, [("sword", 4)], monday)
    assert chains.claim(ladder.chain_id, 1, PLAYER, monday).ok  # claimable again
    assert check_ledger(store) == []


def test_an_admin_reset_starts_every_player_anew(chains, store):
    ladder = chains.create_chain(chain())
    for user in ("p1", "p2"):
        chains.earn(f"o-{user}", User(user), [("shield", 2)], AT)
        assert chains.claim(ladder.chain_id, 1, User(user), AT).ok
    assert chains.reset_chain(ladder.chain_id, AT) == 1  # the next generation
    assert chains.balance(ladder.chain_id, User("p2"), AT) == 0
    chains.earn("later", User("p2"), [("shield", 2)], AT)
    assert chains.claim(ladder.chain_id, 1, User("p2"), AT).ok
    assert check_ledger(store) == []


def test_an_update_keeps_the_claims_of_steps_that_keep_their_id(chains):
    ladder = chains.create_chain(chain())
    chains.earn("o1", PLAYER, [("shield", 6)], AT)
    assert chains.claim(ladder.chain_id, 1, PLAYER, AT).ok
    assert chains.claim(ladder.chain_id, 2, PLAYER, AT).ok
    kept, _dropped = ladder.steps
    updated = chains.update_chain(attrs.evolve(ladder, steps=[kept, step(200, "gem")]))
    assert [s.step_id for s in updated.steps] == [1, 3]  # the dropped id is never reused
    assert chains.claim(ladder.chain_id, 1, PLAYER, AT).refusal.code == "already_claimed"
    assert chains.claim(ladder.chain_id, 3, PLAYER, AT).ok
    assert chains.claim(ladder.chain_id, 2, PLAYER, AT).refusal.code == "step_not_found"
    with pytest.raises(ValidationError, match="step_id"):
        chains.update_chain(attrs.evolve(ladder, steps=[step(10, step_id=42)]))


def test_a_disabled_or_ended_chain_is_not_claimable_and_toggling_keeps_progress(chains):
    ladder = chains.create_chain(chain())
    chains.earn("o1", PLAYER, [("shield", 2)], AT)
    assert chains.toggle_chain(ladder.chain_id).enabled is False
    refused = chains.claim(ladder.chain_id, 1, PLAYER, AT)
    assert (refused.refusal.code, refused.refusal.reasons[0]["code"]) == (
        "chain_not_found",
        "disabled",
    )
    chains.earn("o2", PLAYER, [("shield", 2)], AT)  # no accrual while off
    chains.toggle_chain(ladder.chain_id)
    assert chains.balance(ladder.chain_id, PLAYER, AT) == 100
    late = AT + timedelta(days=31)
    assert chains.claim(ladder.chain_id, 1, PLAYER, late).refusal.reasons[0]["code"] == "ended"


def test_personalized_chains_and_their_fallback(chains):
    gold = chains.create_chain(chain(conditions=[StringCondition("tier", "eq", "gold")]))
    fallback = chains.create_chain(chain(always_visible=False))
    everyone = chains.create_chain(chain())
    seen = {v.chain.chain_id for v in chains.player_chains(PLAYER, AT)[0]}
    assert seen == {gold.chain_id, everyone.chain_id}
    silver = User("p2", {"tier": "silver"})
    seen = {v.chain.chain_id for v in chains.player_chains(silver, AT)[0]}
    assert seen == {fallback.chain_id, everyone.chain_id}
    chains.earn("o1", silver, [("shield", 2)], AT)
    assert chains.balance(fallback.chain_id, silver, AT) == 100
    assert chains.balance(gold.chain_id, silver, AT) == 0  # not credited: not seen
    assert chains.claim(gold.chain_id, 1, silver, AT).refusal.code == "chain_not_found"


def test_rewards_with_conditions_go_only_to_players_who_meet_them(chains):
    gated = RewardChainStep(
        name={"en": "Gated"},
        price=10,
        rewards=[
            ChainReward("coin"),
            ChainReward("badge", 1, [StringCondition("tier", "eq", "gold")]),
        ],
    )
    ladder = chains.create_chain(chain(steps=[gated]))
    chains.earn("o1", PLAYER, [("sword", 1)], AT)
    chains.earn("o2", User("p2"), [("sword", 1)], AT)
    assert [i.sku for i in chains.claim(ladder.chain_id, 1, PLAYER, AT).items] == ["coin", "badge"]
    assert [i.sku for i in chains.claim(ladder.chain_id, 1, User("p2"), AT).items] == ["coin"]


def test_clan_chains_count_the_clans_balance_and_its_contributors(chains, store):
    chains.put_value_point(ValuePoint(sku="honor", name={"en": "Honor"}, is_clan=True))
    chains.set_value_point_rewards("honor", [ValuePointReward("banner", 40)])
    settings = ClanSettings(popup_header={"en": "Join"}, popup_instruction={"en": "Find a clan"})
    clan_chain = chains.create_chain(chain(value_point="honor", clan=settings, steps=[step(100)]))
    with pytest.raises(ValidationError, match="clan"):
        chains.create_chain(chain(value_point="honor"))
    chains.earn("a1", User("ann"), [("banner", 2)], AT, clan="wolves")
    chains.earn("b1", User("bob"), [("banner", 1)], AT, clan="wolves")
    lone = chains.claim(clan_chain.chain_id, 1, User("cy"), AT)
    assert (lone.refusal.code, int(lone.refusal.error_code)) == ("no_clan", 9912)
    assert chains.claim(clan_chain.chain_id, 1, User("cy"), AT, clan="wolves").ok  # 120 >= 100
    assert chains.claim(clan_chain.chain_id, 1, User("ann"), AT, clan="wolves").ok  # each member
    assert chains.balance(clan_chain.chain_id, User("zed"), AT, clan="wolves") == 120
    assert chains.top_contributors(clan_chain.chain_id, "wolves", AT) == [("ann", 80), ("bob", 40)]
    assert check_ledger(store) == []


def test_value_point_mappings_replace_patch_and_refuse_repeats(chains):
    chains.patch_value_point_rewards("snow", [("sword", 0), ("bow", 20)])
    assert {r.sku: r.amount for r in chains.value_point_rewards("snow")} == {
        "shield": 50,
        "bow": 20,
    }
    with pytest.raises(ValidationError, match="once"):
        chains.patch_value_point_rewards("snow", [("bow", 1), ("bow", 2)])
    with pytest.raises(ValidationError, match="at most 100"):
        chains.patch_value_point_rewards("snow", [(f"s{n}", 1) for n in range(101)])
    with pytest.raises(AccountingError) as missing:
        chains.set_value_point_rewards("nope", [])
    assert missing.value.code == "not_found"
    with pytest.raises(ValidationError, match="is_clan"):
        chains.put_value_point(ValuePoint(sku="snow", name={"en": "x"}, is_clan=True))


def test_a_value_point_in_use_cannot_be_deleted(chains):
    ladder = chains.create_chain(chain())
    with pytest.raises(AccountingError) as used:
        chains.delete_value_point("snow", AT)
    assert used.value.code == "value_point_in_use"
    chains.delete_chain(ladder.chain_id, AT)
    chains.delete_value_point("snow", AT)
    assert chains.value_point("snow") is None


def test_racing_claims_of_one_step_grant_it_once_while_earns_count_exactly(store_factory):
    setup = RewardChains(store_factory())
    setup.put_value_point(ValuePoint(sku="snow", name={"en": "Snow"}))
    setup.set_value_point_rewards("snow", [ValuePointReward("sword", 100)])
    ladder = setup.create_chain(chain())
    setup.earn("o1", PLAYER, [("sword", 1)], AT)
    start = threading.Barrier(8, timeout=120)
    outcomes: list[bool] = []

    def claim(n: int) -> None:
        mine = RewardChains(store_factory())
        start.wait()
        for k in range(10):  # earning meanwhile, each order sent twice (a retry)
            mine.earn(f"t{n}-{k}", PLAYER, [("sword", 1)], AT)
            if k == 5:
                outcomes.append(mine.claim(ladder.chain_id, 1, PLAYER, AT).ok)
            mine.earn(f"t{n}-{k}", PLAYER, [("sword", 1)], AT)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False] * 7 + [True]
    assert setup.balance(ladder.chain_id, PLAYER, AT) == 100 * (1 + 8 * 10)  # every order once
    assert check_ledger(store_factory()) == []


def test_a_change_made_on_one_machine_holds_at_the_next_claim_on_another(store_factory):
    admin, client = RewardChains(store_factory()), RewardChains(store_factory())
    admin.put_value_point(ValuePoint(sku="snow", name={"en": "Snowflakes"}))
    admin.set_value_point_rewards("snow", [ValuePointReward("shield", 50)])
    ladder = admin.create_chain(chain(steps=[step(100), step(150), step(120)]))
    client.earn("o1", PLAYER, [("shield", 3)], AT)
    assert client.claim(ladder.chain_id, 1, PLAYER, AT).ok  # the client has loaded the chain
    raised = attrs.evolve(ladder, steps=[ladder.steps[0], attrs.evolve(ladder.steps[1], price=500)])
    admin.update_chain(attrs.evolve(raised, steps=[*raised.steps, ladder.steps[2]]))
    assert client.claim(ladder.chain_id, 2, PLAYER, AT).refusal.code == "not_enough_value_points"
    admin.toggle_chain(ladder.chain_id)
    refused = client.claim(ladder.chain_id, 3, PLAYER, AT)
    assert refused.refusal.reasons[0]["code"] == "disabled"
    admin.toggle_chain(ladder.chain_id)
    assert client.claim(ladder.chain_id, 3, PLAYER, AT).ok
    admin.reset_chain(ladder.chain_id, AT)
    assert client.balance(ladder.chain_id, PLAYER, AT) == 0
    assert client.claim(ladder.chain_id, 1, PLAYER, AT).refusal.code == "not_enough_value_points"


def test_a_paid_checkout_earns_for_its_lines_and_the_items_given_free(chains, store):
    ladder = chains.create_chain(chain())
    gift = Bonus(promotion_id=2, bonus=[RewardItem("shield", 2)], enabled=True)
    accounting = Accounting(store)
    accounting.import_catalog([gift], {})
    cart = Cart(currency="USD", lines=[CartLine(sku="sword", price="10.00", quantity=3)])
    checkout = Pricing([gift]).checkout(
        accounting, cart, PLAYER, AT, hold=timedelta(minutes=5), order_id="order-9"
    )
    checkout.commit(accounting, AT)
    report = chains.earn_quote("order-9", checkout, PLAYER, AT)
    assert report.earned == {"snow": 3 * 30 + 2 * 50}
    assert chains.earn_quote("order-9", checkout.quote, PLAYER, AT).replayed
    assert chains.balance(ladder.chain_id, PLAYER, AT) == 190
    assert check_ledger(store) == []


def test_what_another_machine_adds_is_earned_and_claimed_at_once(store_factory):
    """A client that loaded the configuration before an admin change must neither earn
    nothing where the change earns, nor refuse a step the change added."""
    admin, client = RewardChains(store_factory()), RewardChains(store_factory())
    admin.put_value_point(ValuePoint(sku="snow", name={"en": "Snowflakes"}))
    admin.set_value_point_rewards("snow", [ValuePointReward("shield", 50)])
    assert client.earn("o1", PLAYER, [("shield", 1)], AT).earned == {}  # no chain yet: loaded
    ladder = admin.create_chain(chain(steps=[step(100)]))
    assert client.earn("o2", PLAYER, [("shield", 2)], AT).earned == {"snow": 100}
    admin.put_value_point(ValuePoint(sku="ice", name={"en": "Ice"}))
    admin.set_value_point_rewards("ice", [ValuePointReward("sword", 7)])
    frozen = admin.create_chain(chain(value_point="ice", steps=[step(7)]))
    assert client.earn("o3", PLAYER, [("sword", 1)], AT).earned == {"ice": 7}  # a new point
    admin.set_value_point_rewards(
        "snow", [ValuePointReward("shield", 50), ValuePointReward("sword", 1)]
    )
    assert client.earn("o4", PLAYER, [("sword", 1)], AT).earned == {"ice": 7, "snow": 1}
    grown = admin.update_chain(attrs.evolve(ladder, steps=[*ladder.steps, step(101)]))
    assert client.claim(ladder.chain_id, grown.steps[1].step_id, PLAYER, AT).ok  # a new step
    assert client.claim(frozen.chain_id, 1, PLAYER, AT).ok
    assert client.balance(ladder.chain_id, PLAYER, AT) == 101
