"""The catalog index answers exactly what evaluating each promotion would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveops_rules import (
    Catalog,
    Coupon,
    ItemDiscount,
    NumberCondition,
    PersonalizedCatalogRule,
    PromotionKind,
    ShownItem,
    StringCondition,
    User,
    ValidationError,
    ValidityWindow,
    evaluate,
)
from tests.strategies import catalogs, focused_catalogs, focused_values, moments, users

AT = datetime(2026, 3, 1, tzinfo=UTC)


@settings(max_examples=400, deadline=None)
@given(catalogs(), st.lists(st.tuples(users, moments), min_size=1, max_size=6))
def test_catalog_matches_evaluating_each_promotion(promotions, queries):
    catalog = Catalog(promotions)
    for user, at in queries:  # several queries exercise the catalog's caches
        expected = [p for p in promotions if evaluate(p, user, at).eligible]
        assert catalog.eligible(user, at) == expected
        for kind in PromotionKind:
            assert catalog.eligible(user, at, [kind]) == [p for p in expected if p.kind is kind]


@settings(max_examples=200, deadline=None)
@given(catalogs(), users, moments)
def test_visible_items_are_the_items_of_the_rules_the_user_meets(promotions, user, at):
    catalog = Catalog(promotions)
    expected: list[ShownItem] = []
    for promotion in promotions:
        if (
            isinstance(promotion, PersonalizedCatalogRule)
            and evaluate(promotion, user, at).eligible
        ):
            expected.extend(i for i in promotion.items if i not in expected)
    assert catalog.visible_items(user, at) == expected


def test_duplicate_ids_of_one_kind_are_refused_with_both_places():
    first = Coupon(external_id="dup")
    with pytest.raises(ValidationError) as caught:
        Catalog([first, Coupon(external_id="other"), Coupon(external_id="dup")])
    (problem,) = caught.value.problems
    assert problem.path == "promotions[2]"
    assert "promotions[0]" in problem.found


def test_the_same_id_in_two_kinds_is_fine():
    catalog = Catalog([Coupon(external_id="7"), ItemDiscount(promotion_id=7, discount_percent=10)])
    assert catalog.get("coupon", "7") is not None
    assert catalog.get(PromotionKind.ITEM_DISCOUNT, "7") is not None
    assert catalog.get("coupon", "8") is None


def test_a_non_promotion_is_refused():
    with pytest.raises(ValidationError, match=r"promotions\[0\]"):
        Catalog(["coupon"])  # type: ignore[list-item]


def test_naive_moment_is_refused():
    catalog = Catalog([Coupon(external_id="c", enabled=True)])
    with pytest.raises(ValidationError, match="naive"):
        catalog.eligible(User("u"), datetime(2026, 3, 1))


def test_many_moments_and_values_beyond_the_cache_stay_exact():
    promotions = [
        Coupon(
            external_id=f"c{i}",
            enabled=True,
            window=ValidityWindow(AT + timedelta(hours=i), AT + timedelta(hours=i + 3)),
            conditions=[StringCondition("tier", "eq", f"t{i % 7}")],
        )
        for i in range(50)
    ]
    catalog = Catalog(promotions, cache_bytes=1)  # the smallest caches: entries get evicted
    for hour in range(-2, 60):
        for tier in range(9):
            user = User("u", {"tier": f"t{tier}"})
            at = AT + timedelta(hours=hour)
            expected = [p for p in promotions if evaluate(p, user, at).eligible]
            assert catalog.eligible(user, at) == expected


def test_anonymous_users_see_only_rules_open_to_them():
    open_rule = PersonalizedCatalogRule(
        promotion_id=1,
        name="rule",
        enabled=True,
        satisfied_for_unauth=True,
        conditions=[StringCondition("tier", "eq", "gold")],
        items=[ShownItem(sku="a")],
    )
    closed_rule = PersonalizedCatalogRule(
        promotion_id=2, name="closed", enabled=True, items=[ShownItem(sku="b")]
    )
    catalog = Catalog([open_rule, closed_rule])
    assert catalog.visible_items(User(None), AT) == [ShownItem(sku="a")]
    assert catalog.visible_items(User("u"), AT) == [ShownItem(sku="b")]
    assert catalog.visible_items(User("u", {"tier": "gold"}), AT) == [
        ShownItem(sku="a"),
        ShownItem(sku="b"),
    ]


def test_two_different_eq_values_on_one_attribute_never_hold():
    both = Coupon(
        external_id="both",
        enabled=True,
        conditions=[StringCondition("tier", "eq", "gold"), StringCondition("tier", "eq", "silver")],
    )
    catalog = Catalog([both])
    for tier in ("gold", "silver"):
        assert catalog.eligible(User("u", {"tier": tier}), AT) == []


@settings(max_examples=900, deadline=None)
@given(focused_catalogs(), st.lists(focused_values, min_size=1, max_size=8))
def test_catalog_matches_evaluate_on_dense_comparisons(promotions, values):
    catalog = Catalog(promotions)
    for value in values:
        user = User("u", {"x": value})
        expected = [p for p in promotions if evaluate(p, user, AT).eligible]
        assert catalog.eligible(user, AT) == expected


def test_many_threads_share_a_catalog_whose_caches_are_full():
    """Found by the pricing work: two threads evicting the same oldest cache entry raised
    KeyError in one of them."""
    import sys
    import threading

    promotions = [
        Coupon(
            external_id=f"c{i}",
            enabled=True,
            conditions=[NumberCondition("level", "ge", i), StringCondition("tier", "ne", f"t{i}")],
        )
        for i in range(50)
    ]
    catalog = Catalog(promotions, cache_bytes=1)  # the smallest caches: every query evicts
    at = datetime(2026, 1, 1, tzinfo=UTC)
    errors: list[BaseException] = []

    def query(worker: int) -> None:
        try:
            for i in range(3000):
                user = User("u", {"level": str(worker * 3000 + i), "tier": f"t{i % 50}"})
                expected = [p for p in promotions if evaluate(p, user, at).eligible]
                assert catalog.eligible(user, at) == expected
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=query, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
