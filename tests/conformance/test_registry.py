"""A campaign's whole life on every store: create, read, list, update, activate, deactivate,
delete; codes added, listed, removed, looked up; imports that batch, skip and sync; client
calls that count nothing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from liveops_rules import (
    Bonus,
    Coupon,
    ItemDiscount,
    PromoCode,
    PromotionKind,
    PromotionLimits,
    RewardItem,
    StringCondition,
    User,
    ValidationError,
    ValidityWindow,
)
from liveops_rules.accounting import Accounting, AccountingError, Refusal, check_ledger

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)
HOLD = timedelta(minutes=10)


def coupon(external_id: str = "winter", **fields: object) -> Coupon:
    defaults: dict[str, object] = {"enabled": True, "bonus": [RewardItem("gem", 2)]}
    return Coupon(external_id=external_id, **{**defaults, **fields})


@pytest.fixture
def accounting(store):
    return Accounting(store)


def refused(call) -> AccountingError:
    with pytest.raises(AccountingError) as raised:
        call()
    return raised.value


# -- create, read, update ---------------------------------------------------------------------


def test_a_created_promotion_is_disabled_and_its_id_taken(accounting, store):
    created = accounting.create_promotion(coupon(redeem_total_limit=5))
    assert created.enabled is False
    assert accounting.promotion("coupon:winter") == created
    accounting.add_codes(created, ["WINTER1"])
    assert accounting.redeem("WINTER1", User("p1"), AT).refusal.code == "disabled"
    again = refused(lambda: accounting.create_promotion(coupon()))
    assert again.code == "promotion_exists"
    assert int(again.error_code) == 1102
    assert check_ledger(store) == []


def test_a_promotion_view_carries_its_limit_state_and_code_count(accounting):
    accounting.import_promotions([coupon(redeem_total_limit=5)])
    accounting.add_codes("coupon:winter", ["W1", "W2"])
    accounting.redeem("W1", User("p1"), AT)
    accounting.reserve(User("p2"), AT, hold=HOLD, code="W2")
    view = accounting.promotion_view("coupon:winter", AT)
    assert view["external_id"] == "winter"
    assert view["is_enabled"] is True
    assert view["total_limit_state"] == {"available": 3, "reserved": 1, "used": 1}
    assert view["total_codes_count"] == 2
    assert "total_limit_state" not in accounting.promotion_view(
        accounting.create_promotion(coupon("open")), AT
    )


def test_an_update_replaces_everything_but_whether_it_is_enabled(accounting, store):
    accounting.import_promotions([coupon(redeem_user_limit=1, bonus=[RewardItem("gem", 2)])])
    accounting.add_codes("coupon:winter", ["WINTER1"])
    other = Accounting(store)  # another machine, which has loaded the old version
    assert other.redeem("WINTER1", User("p1"), AT).ok
    updated = accounting.update_promotion(
        coupon(redeem_user_limit=3, bonus=[RewardItem("sword")], enabled=False)
    )
    assert updated.enabled is True  # enabled stays as it was: activate/deactivate change it
    outcome = other.redeem("WINTER1", User("p1"), AT)
    assert outcome.ok
    assert outcome.items == (RewardItem("sword"),)  # the new version, at once, elsewhere
    missing = refused(lambda: accounting.update_promotion(coupon("nobody")))
    assert missing.code == "unknown_promotion"
    assert int(missing.error_code) == 9802


def test_activate_and_deactivate_take_effect_on_every_machine(accounting, store):
    accounting.create_promotion(coupon())
    accounting.add_codes("coupon:winter", ["WINTER1"])
    other = Accounting(store)
    assert other.redeem("WINTER1", User("p1"), AT).refusal.code == "disabled"
    assert accounting.activate_promotion("coupon:winter").enabled
    assert accounting.activate_promotion("coupon:winter").enabled  # idempotent
    assert other.redeem("WINTER1", User("p1"), AT).ok
    accounting.deactivate_promotion("coupon:winter")
    assert other.redeem("WINTER1", User("p2"), AT).refusal.code == "disabled"
    assert refused(lambda: accounting.activate_promotion("coupon:nobody")).code == (
        "unknown_promotion"
    )


def test_concurrent_changes_of_one_promotion_are_never_lost(store_factory):
    first = Accounting(store_factory())
    first.create_promotion(coupon(redeem_total_limit=1))
    start = threading.Barrier(2, timeout=120)
    errors: list[BaseException] = []

    def change(work) -> None:
        try:
            start.wait()
            for _ in range(20):
                work(Accounting(store_factory()))
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=change, args=(lambda a: a.activate_promotion("coupon:winter"),)),
        threading.Thread(
            target=change,
            args=(lambda a: a.update_promotion(coupon(redeem_total_limit=7, enabled=False)),),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    final = first.promotion("coupon:winter")
    assert final.enabled is True  # no update put back the disabled state it had read
    assert final.redeem_total_limit == 7


# -- delete -----------------------------------------------------------------------------------


def test_a_deleted_promotion_frees_its_codes_and_keeps_its_counts(accounting, store):
    accounting.import_promotions([coupon(redeem_total_limit=5)])
    accounting.add_codes("coupon:winter", ["WINTER1", "WINTER2"])
    other = Accounting(store)
    assert other.redeem("WINTER1", User("p1"), AT).ok
    assert accounting.delete_promotion("coupon:winter", AT) == 2
    assert accounting.promotion("coupon:winter") is None
    assert other.redeem("WINTER1", User("p2"), AT).refusal.code == "unknown_code"
    assert store.counter("t|coupon:winter", AT).used == 1  # kept for audit
    assert "coupon:winter" not in [
        f"{p.kind.value}:{p.key}" for p in accounting.list_promotions().promotions
    ]
    accounting.import_promotions([coupon("spring")])
    accounting.add_codes("coupon:spring", ["WINTER1"])  # the freed code, given again
    assert other.redeem("WINTER1", User("p2"), AT).promotion == "coupon:spring"
    gone = refused(lambda: accounting.delete_promotion("coupon:winter", AT))
    assert gone.code == "unknown_promotion"
    assert check_ledger(store) == []


def test_an_id_used_again_after_a_delete_starts_with_nothing_counted(accounting, store):
    accounting.import_promotions([coupon(redeem_total_limit=1)])
    accounting.add_codes("coupon:winter", ["WINTER1"])
    assert accounting.redeem("WINTER1", User("p1"), AT).ok
    accounting.delete_promotion("coupon:winter", AT)
    accounting.create_promotion(coupon(redeem_total_limit=1))
    accounting.activate_promotion("coupon:winter")
    accounting.add_codes("coupon:winter", ["WINTER1"])
    assert accounting.redeem("WINTER1", User("p2"), AT).ok  # the new promotion's first use
    assert check_ledger(store) == []


# -- lists ------------------------------------------------------------------------------------


def test_lists_filter_page_and_count_like_liveops(accounting):
    accounting.import_promotions(
        [
            coupon("a"),
            coupon("b", enabled=False),
            coupon("c"),
            PromoCode(external_id="p", discount_percent="5", enabled=True),
            Bonus(promotion_id=3, bonus=[RewardItem("gem")]),
        ]
    )
    page = accounting.list_promotions(kind="coupon", limit=2, offset=1)
    assert [p.key for p in page.promotions] == ["b", "c"]
    assert (page.total_promotions_count, page.active_promotions_count) == (3, 2)
    assert page.inactive_promotions_count == 1
    enabled = accounting.list_promotions(kind=PromotionKind.COUPON, enabled=True)
    assert [p.key for p in enabled.promotions] == ["a", "c"]
    everything = accounting.list_promotions()
    assert everything.total_promotions_count == 5
    with pytest.raises(ValidationError, match="kind"):
        accounting.list_promotions(kind="voucher")
    with pytest.raises(ValidationError, match="limit"):
        accounting.list_promotions(limit=0)


def test_codes_are_listed_by_page_removed_and_looked_up(accounting, store):
    accounting.import_promotions([coupon()])
    codes = [f"CODE{n:02d}" for n in range(12)]
    accounting.add_codes("coupon:winter", codes)
    page = accounting.list_codes("coupon:winter", limit=5, offset=10)
    assert page.codes == ("CODE10", "CODE11")
    assert page.total_count == 12
    taken = refused(lambda: accounting.add_codes("coupon:winter", ["CODE01", "NEW1", "CODE02"]))
    assert taken.code == "code_exists"
    assert taken.details == ("CODE01", "CODE02")  # every taken code, 9803 each
    assert accounting.code_promotion("NEW1").key == "winter"  # the free one was added
    stranger = refused(lambda: accounting.remove_codes("coupon:winter", ["CODE01", "NOPE"]))
    assert stranger.code == "unknown_code"
    assert accounting.list_codes("coupon:winter").total_count == 13  # nothing removed
    accounting.remove_codes("coupon:winter", ["CODE01"])
    found = accounting.code_promotion("CODE01")
    assert isinstance(found, Refusal)
    assert int(found.error_code) == 9811
    usage = accounting.code_usage("coupon:winter", AT, codes=["CODE02"])
    assert list(usage) == ["CODE02"]


# -- imports ----------------------------------------------------------------------------------


def test_an_import_reports_what_it_changed_and_skips_what_it_did_not(accounting, store):
    first = accounting.import_catalog(
        [coupon("a"), coupon("b")], {(PromotionKind.COUPON, "a"): ["A1", "A2"]}
    )
    assert (first.created, first.codes_added) == (("coupon:a", "coupon:b"), 2)
    again = accounting.import_catalog(
        [coupon("a"), coupon("b")], {(PromotionKind.COUPON, "a"): ["A1", "A2"]}
    )
    assert (again.created, again.updated, again.codes_added) == ((), (), 0)
    assert again.unchanged == ("coupon:a", "coupon:b")
    changed = accounting.import_catalog([coupon("a", redeem_total_limit=3)], {})
    assert changed.updated == ("coupon:a",)
    assert changed.removed == ()  # without sync nothing goes
    assert accounting.promotion("coupon:b") is not None
    assert check_ledger(store) == []


def test_a_sync_makes_the_store_hold_exactly_the_file(accounting, store):
    accounting.import_catalog(
        [coupon("a"), coupon("b")],
        {(PromotionKind.COUPON, "a"): ["A1", "A2"], (PromotionKind.COUPON, "b"): ["B1"]},
    )
    file = ([coupon("a")], {(PromotionKind.COUPON, "a"): ["A1", "B1"]})  # B1 moves to a
    plan = accounting.import_catalog(*file, sync=True, dry_run=True)
    assert plan.removed == ("coupon:b",)
    assert (plan.codes_removed, plan.codes_added) == (2, 1)  # A2 dropped, B1 freed with b
    assert accounting.promotion("coupon:b") is not None  # a dry run writes nothing
    with pytest.raises(ValidationError, match="at"):
        accounting.import_catalog(*file, sync=True)  # a sync deletes: it needs a moment
    report = accounting.import_catalog(*file, sync=True, at=AT)
    assert report.removed == ("coupon:b",)
    assert accounting.promotion("coupon:b") is None
    assert accounting.list_codes("coupon:a").codes == ("A1", "B1")
    assert isinstance(accounting.code_promotion("A2"), Refusal)
    assert accounting.import_catalog(*file, sync=True, at=AT).removed == ()
    assert check_ledger(store) == []


def test_an_import_refuses_codes_another_promotion_keeps_before_writing(accounting, store):
    accounting.import_catalog([coupon("a")], {(PromotionKind.COUPON, "a"): ["A1"]})
    clash = refused(
        lambda: accounting.import_catalog(
            [coupon("b"), coupon("c")],
            {(PromotionKind.COUPON, "b"): ["B1"], (PromotionKind.COUPON, "c"): ["A1"]},
        )
    )
    assert clash.code == "code_exists"
    assert accounting.promotion("coupon:b") is None  # nothing written
    with pytest.raises(ValidationError, match="each code for one promotion"):
        accounting.import_catalog(
            [coupon("b"), coupon("c")],
            {(PromotionKind.COUPON, "b"): ["X1"], (PromotionKind.COUPON, "c"): ["X1"]},
        )


def test_an_import_of_many_promotions_is_few_writes(accounting, store):
    promotions = [coupon(f"c{n}") for n in range(600)]
    codes = {(PromotionKind.COUPON, f"c{n}"): [f"CODE{n}"] for n in range(600)}
    report = accounting.import_catalog(promotions, codes)
    assert len(report.created) == 600
    assert report.codes_added == 600
    assert accounting.code_promotion("CODE599").key == "c599"


# -- client calls -----------------------------------------------------------------------------


def test_verify_counts_nothing_and_refuses_as_a_redeem_would(accounting, store):
    accounting.import_catalog(
        [
            coupon(redeem_user_limit=1),
            coupon("ended", window=ValidityWindow(AT - HOLD * 10, AT - HOLD)),
            coupon("gold", conditions=[StringCondition("tier", "eq", "gold")]),
        ],
        {
            (PromotionKind.COUPON, "winter"): ["WINTER1"],
            (PromotionKind.COUPON, "ended"): ["OLD1"],
            (PromotionKind.COUPON, "gold"): ["GOLD1"],
        },
    )
    before = store.ledger()
    good = accounting.verify("WINTER1", User("p1"), AT)
    assert good.to_dict() == {
        "type": "coupon",
        "code": "WINTER1",
        "rewards": [{"sku": "gem", "quantity": 2}],
    }
    assert store.ledger() == before
    assert accounting.redeem("WINTER1", User("p1"), AT).ok
    cases = {
        "WINTER1": 9804,  # this player's limit is used
        "OLD1": 9810,
        "GOLD1": 9807,
        "NOPE1": 9811,
        "no pe": 9807,
    }
    for code, error in cases.items():
        refusal = accounting.verify(code, User("p1"), AT)
        assert isinstance(refusal, Refusal), code
        assert int(refusal.error_code) == error, (code, refusal)


def test_available_promotions_are_those_that_apply_and_have_room(accounting, store):
    discount = ItemDiscount(
        promotion_id=1,
        discount_percent="10",
        items=["sword"],
        enabled=True,
        limits=PromotionLimits(per_user=1),
    )
    accounting.import_catalog(
        [
            coupon("open"),
            coupon("full", redeem_total_limit=1),
            coupon("gold", conditions=[StringCondition("tier", "eq", "gold")]),
            coupon("off", enabled=False),
            discount,
        ],
        {(PromotionKind.COUPON, "full"): ["FULL1"]},
    )
    accounting.redeem("FULL1", User("someone"), AT)
    accounting.reserve(User("p1"), AT, hold=HOLD, promotion="discount:1")
    available = accounting.available_promotions(User("p1", {"tier": "silver"}), AT)
    assert [p.key for p in available] == ["open"]
    anonymous = accounting.available_promotions(User(), AT)
    assert [p.key for p in anonymous] == ["open"]  # a per-user limit needs a signed-in player
    gold = accounting.available_promotions(User("p2", {"tier": "gold"}), AT)
    assert sorted(p.key for p in gold) == ["1", "gold", "open"]


def test_every_limit_of_one_user_is_reset_at_once(accounting, store):
    discount = ItemDiscount(
        promotion_id=1, discount_percent="10", items=["sword"], enabled=True,
        limits=PromotionLimits(per_user=1),
    )  # fmt: skip
    accounting.import_catalog(
        [coupon(redeem_user_limit=1), discount], {(PromotionKind.COUPON, "winter"): ["W1"]}
    )
    accounting.redeem("W1", User("p1"), AT)
    accounting.redeem("W1", User("p2"), AT)
    accounting.reserve(User("p1"), AT, hold=HOLD, promotion="discount:1")
    assert accounting.reset_limits_of_user("p1", AT) == 2
    assert accounting.user_limit("coupon:winter", "p1", AT).available == 1
    assert accounting.user_limit("discount:1", "p1", AT).available == 1
    assert accounting.user_limit("coupon:winter", "p2", AT).available == 0
    assert check_ledger(store) == []


def test_a_removed_code_is_refused_on_a_machine_that_resolved_it_before(store_factory):
    first, second = Accounting(store_factory()), Accounting(store_factory())
    first.import_catalog([coupon("a"), coupon("b")], {(PromotionKind.COUPON, "a"): ["MOVE1"]})
    assert second.redeem("MOVE1", User("p1"), AT).promotion == "coupon:a"  # remembered
    first.remove_codes("coupon:a", ["MOVE1"])
    first.add_codes("coupon:b", ["MOVE1"])
    assert second.redeem("MOVE1", User("p2"), AT).promotion == "coupon:b"
    first.remove_codes("coupon:b", ["MOVE1"])
    assert second.redeem("MOVE1", User("p3"), AT).refusal.code == "unknown_code"
    store = store_factory()
    assert store.counter("t|coupon:a", AT).used == 1
    assert check_ledger(store) == []


def test_reserving_with_a_promotion_copy_sees_updates(accounting):
    accounting.import_promotions([coupon(redeem_total_limit=2)])
    accounting.add_codes("coupon:winter", ["WINTER1"])
    old = accounting.promotion("coupon:winter")
    accounting.update_promotion(attrs.evolve(old, redeem_total_limit=1))
    stale = refused(lambda: accounting.reserve(User("p1"), AT, hold=HOLD, promotion=old))
    assert stale.code == "stale_promotion"


def test_verify_reads_the_promotion_as_the_store_keeps_it_now(store_factory):
    admin, client = Accounting(store_factory()), Accounting(store_factory())
    admin.create_promotion(coupon())
    admin.add_codes("coupon:winter", ["WINTER1"])
    assert client.verify("WINTER1", User("p1"), AT).code == "disabled"
    admin.activate_promotion("coupon:winter")
    assert client.verify("WINTER1", User("p1"), AT).code == "WINTER1"  # a Verification now
