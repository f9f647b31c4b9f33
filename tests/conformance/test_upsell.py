"""Upsell on every store, against `reference/chains.md` section 4 and LiveOps' upsell
operations: one configuration (put, activate, deactivate), what each type offers, what is
never offered (the cart's items, items personalized rules hide), paging, the offered items'
prices and promotions, and best sellers counted once per order.

Expectations are written by hand or computed by a naive scan (`naive_promoted`), never by
asking the library twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from liveops_rules import (
    Accounting,
    AccountingError,
    Bonus,
    CatalogItem,
    ItemCatalog,
    ItemDiscount,
    PersonalizedCatalogRule,
    PriceCondition,
    Pricing,
    PromotionLimits,
    RewardItem,
    ShownItem,
    StringCondition,
    Upsell,
    UpsellConfig,
    User,
    ValidationError,
    ValidityWindow,
    check_ledger,
    evaluate,
)
from liveops_rules.models.cart import Cart, CartLine
from liveops_rules.stores import InMemoryStore

AT = datetime(2026, 11, 28, 12, tzinfo=UTC)
RUNNING = ValidityWindow(AT - timedelta(days=1), None)
D = Decimal
PLAYER = User("p1", {"tier": "gold"})


def item(sku: str, price: str | None = "10.00", **fields: object) -> CatalogItem:
    priced = {} if price is None else {"price": D(price), "currency": "USD"}
    return CatalogItem(sku=sku, name={"en": sku.title()}, **priced, **fields)  # type: ignore[arg-type]


ITEMS = [item(f"i{n}") for n in range(8)]


def discount(number: int, skus: list[str], percent: str = "10", **fields: object) -> ItemDiscount:
    defaults: dict[str, object] = {"enabled": True, "window": RUNNING}
    return ItemDiscount(
        promotion_id=number,
        name={"en": f"Discount {number}"},
        discount_percent=percent,
        items=skus,
        **{**defaults, **fields},  # type: ignore[arg-type]
    )


def skus(page) -> list[str]:
    return [offered.item.sku for offered in page.items]


def test_without_a_configuration_or_disabled_nothing_is_offered(store):
    upsell = Upsell(store)
    catalog = ItemCatalog(ITEMS)
    assert upsell.get() is None
    assert skus(upsell.offer(PLAYER, AT, catalog)) == []
    with pytest.raises(AccountingError) as missing:
        upsell.activate()
    assert missing.value.code == "upsell_not_found"
    upsell.put(UpsellConfig(type="fixed_list", enabled=False, items=["i1"]), catalog)
    page = upsell.offer(PLAYER, AT, catalog)
    assert (skus(page), page.has_more) == ([], False)
    assert upsell.activate().enabled is True
    assert skus(upsell.offer(PLAYER, AT, catalog)) == ["i1"]
    assert upsell.deactivate().enabled is False
    assert skus(upsell.offer(PLAYER, AT, catalog)) == []


def test_a_fixed_list_of_unknown_skus_is_refused_and_nothing_is_written(store):
    upsell = Upsell(store)
    catalog = ItemCatalog(ITEMS)
    upsell.put(UpsellConfig(type="only_promotions", enabled=True), catalog)
    with pytest.raises(AccountingError) as unknown:
        upsell.put(UpsellConfig(type="fixed_list", enabled=True, items=["i1", "x", "y"]), catalog)
    assert unknown.value.code == "items_not_found"
    assert int(unknown.value.error_code) == 4001
    assert unknown.value.error_code.status == 404
    assert unknown.value.message == "Items weren't found: x, y"
    assert upsell.get() == UpsellConfig(type="only_promotions", enabled=True)


def test_a_put_replaces_the_one_configuration(store_factory):
    one, other = Upsell(store_factory()), Upsell(store_factory())
    catalog = ItemCatalog(ITEMS)
    one.put(UpsellConfig(type="fixed_list", enabled=True, items=["i3", "i1"]), catalog)
    other.put(UpsellConfig(type="fixed_list", enabled=True, items=["i2"]), catalog)
    assert one.get() == UpsellConfig(type="fixed_list", enabled=True, items=["i2"])
    # Items of other types are dropped, as LiveOps ignores them.
    assert UpsellConfig(type="most_sellable", enabled=True, items=["i1"]).items == ()


def test_a_fixed_list_offers_its_items_in_order_pages_and_skips_the_cart(store):
    upsell = Upsell(store)
    catalog = ItemCatalog(ITEMS)
    listed = ["i5", "i2", "i7", "i0", "i3"]
    upsell.put(UpsellConfig(type="fixed_list", enabled=True, items=listed), catalog)
    first = upsell.offer(PLAYER, AT, catalog, limit=2)
    assert (skus(first), first.has_more) == (["i5", "i2"], True)
    cart = Cart(currency="USD", lines=[CartLine(sku="i7", price=D(10))])
    rest = upsell.offer(PLAYER, AT, catalog, cart=cart, limit=2, offset=2)
    assert (skus(rest), rest.has_more) == (["i0", "i3"], False)
    last = upsell.offer(PLAYER, AT, catalog, cart=cart, limit=5)
    assert (skus(last), last.has_more) == (["i5", "i2", "i0", "i3"], False)


def test_items_a_personalized_rule_shows_to_others_are_not_offered(store):
    rule = PersonalizedCatalogRule(
        promotion_id=50,
        name="Silver only",
        enabled=True,
        window=RUNNING,
        conditions=[StringCondition("tier", "eq", "silver")],
        items=[ShownItem(sku="i1"), ShownItem(item_id=77)],
    )
    ended = PersonalizedCatalogRule(
        promotion_id=51,
        name="Over",
        enabled=True,
        window=ValidityWindow(AT - timedelta(days=9), AT - timedelta(days=1)),
        conditions=[StringCondition("tier", "eq", "silver")],
        items=[ShownItem(sku="i2")],
    )
    items = [*ITEMS[:4], item("i9", item_id=77)]
    catalog = ItemCatalog(items, Pricing([rule, ended]))
    upsell = Upsell(store)
    upsell.put(
        UpsellConfig(type="fixed_list", enabled=True, items=["i1", "i2", "i3", "i9"]), catalog
    )
    assert skus(upsell.offer(PLAYER, AT, catalog)) == ["i2", "i3"]  # an ended rule hides none
    silver = User("p2", {"tier": "silver"})
    assert skus(upsell.offer(silver, AT, catalog)) == ["i1", "i2", "i3", "i9"]


def test_only_promotions_offers_what_a_running_eligible_promotion_targets(store):
    promotions = [
        discount(1, ["i2", "i4"]),
        discount(2, ["i6"], enabled=False),
        discount(3, ["i1"], conditions=[StringCondition("tier", "eq", "silver")]),
        discount(4, [], price_conditions=[PriceCondition("ge", "50")]),
        Bonus(
            promotion_id=5, name={"en": "Gift"}, bonus=[RewardItem("gift")], condition=["i7"],
            enabled=True, window=RUNNING,
        ),
    ]  # fmt: skip
    items = [*ITEMS, item("big", "60.00")]
    catalog = ItemCatalog(items, Pricing(promotions))
    upsell = Upsell(store)
    upsell.put(UpsellConfig(type="only_promotions", enabled=True), catalog)
    page = upsell.offer(PLAYER, AT, catalog)
    assert skus(page) == ["i2", "i4", "i7", "big"]
    by_sku = {offered.item.sku: offered for offered in page.items}
    assert (by_sku["i2"].price, by_sku["i2"].price_without_discount) == (D("9.00"), D("10.00"))
    assert by_sku["i2"].promotions[0]["discount"] == {"percent": "10"}
    assert by_sku["i7"].promotions[0]["bonus"] == [{"sku": "gift", "quantity": 1}]
    assert by_sku["big"].price == D("54.00")
    shown = page.to_dict()["items"][0]
    assert shown["price"] == {
        "amount": "9.00",
        "amount_without_discount": "10.00",
        "currency": "USD",
    }


def test_an_offered_items_promotion_shows_the_players_limit_left(store):
    limited = discount(8, ["i3"], limits=PromotionLimits(per_user=2))
    accounting = Accounting(store)
    accounting.import_catalog([limited], {})
    accounting.set_user_limit(limited, PLAYER.id, 1, AT)  # one of two used
    catalog = ItemCatalog(ITEMS, Pricing([limited]))
    upsell = Upsell(store)
    upsell.put(UpsellConfig(type="only_promotions", enabled=True), catalog)
    (offered,) = upsell.offer(PLAYER, AT, catalog, accounting=accounting).items
    assert offered.promotions[0]["limits"] == {"per_user": {"available": 1, "total": 2}}


def test_best_sellers_count_each_order_once_over_the_last_30_days(store):
    upsell = Upsell(store)
    catalog = ItemCatalog(ITEMS)
    upsell.put(UpsellConfig(type="most_sellable", enabled=True), catalog)
    assert upsell.record_sale("o1", [("i3", 2), ("i1", 1)], AT)
    assert not upsell.record_sale("o1", [("i3", 2), ("i1", 1)], AT)  # a retry counts nothing
    upsell.record_sale("o2", [("i1", 1)], AT - timedelta(days=29))
    upsell.record_sale("o3", [("i5", 9)], AT - timedelta(days=30))  # out of the window
    upsell.record_sale("o4", [("i0", 2), ("unknown", 50)], AT)  # not in the catalog
    assert skus(upsell.offer(PLAYER, AT, catalog)) == ["i0", "i1", "i3"]  # 2, 2, 2: by SKU
    assert skus(upsell.offer(PLAYER, AT, catalog, days=31))[0] == "i5"
    assert check_ledger(store) == []


def test_wrong_inputs_are_refused_before_anything(store):
    upsell = Upsell(store)
    catalog = ItemCatalog(ITEMS)
    with pytest.raises(ValidationError):
        upsell.put("fixed_list", catalog)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        UpsellConfig(type="fixed_list", enabled=True, items=[])
    with pytest.raises(ValidationError):
        UpsellConfig(type="fixed_list", enabled=True, items=["a", "a"])
    with pytest.raises(ValidationError):
        UpsellConfig(type="best", enabled=True)
    for bad in ({"user": "p1"}, {"limit": 0}, {"limit": 51}, {"offset": -1}, {"days": 0}):
        arguments = {"user": PLAYER, "at": AT, "catalog": catalog, **bad}
        with pytest.raises(ValidationError):
            upsell.offer(**arguments)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        upsell.record_sale("o", [("i1", 0)], AT)
    with pytest.raises(ValidationError):
        ItemCatalog([ITEMS[0], ITEMS[0]])
    assert store.ledger() == []


# -- a property: what only_promotions offers is a naive scan's answer ---------------------


def naive_promoted(items, promotions, user, at) -> list[str]:
    """Each item, in order, that a running discount or bonus `user` is eligible for names
    (or targets by price conditions its price meets, or a bonus any purchase triggers)."""
    found = []
    for shown in items:
        for promotion in promotions:
            if not evaluate(promotion, user, at).eligible:
                continue
            conditions = promotion.price_conditions or ()
            if conditions and (
                shown.price is None or not all(c.holds(shown.price) for c in conditions)
            ):
                continue
            if isinstance(promotion, ItemDiscount):
                if shown.price is None:
                    continue
                listed = promotion.items
                if (listed and shown.sku in listed) or (not listed and conditions):
                    found.append(shown.sku)
                    break
            elif promotion.condition is None or shown.sku in promotion.condition:
                found.append(shown.sku)
                break
    return found


SKUS = [f"s{n}" for n in range(12)]


@st.composite
def scenarios(draw):
    items = [
        item(sku, draw(st.sampled_from([None, "5.00", "20.00", "80.00"])))
        for sku in draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=10, unique=True))
    ]
    promotions = []
    for number in range(1, draw(st.integers(0, 8)) + 1):
        fields = {
            "enabled": draw(st.booleans()),
            "window": draw(
                st.sampled_from([RUNNING, ValidityWindow(AT + timedelta(days=1), None)])
            ),
            "conditions": draw(st.sampled_from([[], [StringCondition("tier", "eq", "gold")]])),
        }
        prices = draw(st.sampled_from([None, [PriceCondition("ge", "10")]]))
        listed = draw(st.lists(st.sampled_from(SKUS), max_size=3, unique=True))
        if draw(st.booleans()):
            if not listed and prices is None:
                listed = [SKUS[0]]
            promotions.append(
                ItemDiscount(
                    promotion_id=number, name={"en": "d"}, discount_percent="5", items=listed,
                    price_conditions=prices, **fields,
                )
            )  # fmt: skip
        else:
            promotions.append(
                Bonus(
                    promotion_id=number, name={"en": "b"}, bonus=[RewardItem("gift")],
                    condition=listed or None, price_conditions=prices, **fields,
                )
            )  # fmt: skip
    cart = draw(st.lists(st.sampled_from(SKUS), max_size=3, unique=True))
    hidden = draw(st.lists(st.sampled_from(SKUS), max_size=3, unique=True))
    user = draw(st.sampled_from([PLAYER, User("p9", {"tier": "bronze"}), User(None)]))
    return items, promotions, cart, hidden, user


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(scenarios())
def test_only_promotions_is_a_naive_scan_without_cart_or_hidden_items(scenario):
    items, promotions, cart_skus, hidden, user = scenario
    rules = []
    if hidden:
        rules.append(
            PersonalizedCatalogRule(
                promotion_id=99, name="Others", enabled=True, window=RUNNING,
                conditions=[StringCondition("tier", "eq", "platinum")],
                items=[ShownItem(sku=sku) for sku in hidden],
            )
        )  # fmt: skip
    catalog = ItemCatalog(items, Pricing([*promotions, *rules]))
    upsell = Upsell(InMemoryStore())
    upsell.put(UpsellConfig(type="only_promotions", enabled=True), catalog)
    cart = (
        Cart(currency="USD", lines=[CartLine(sku=sku, price=D(1)) for sku in cart_skus])
        if cart_skus
        else None
    )
    offered = skus(upsell.offer(user, AT, catalog, cart=cart, limit=50))
    expected = [
        sku for sku in naive_promoted(items, promotions, user, AT)
        if sku not in cart_skus and sku not in hidden
    ]  # fmt: skip
    assert offered == expected


def test_best_sellers_near_the_first_moment_a_store_keeps_look_back_no_further(store):
    upsell = Upsell(store)
    early = datetime(1, 1, 3, tzinfo=UTC)
    upsell.record_sale("o1", [("i1", 1)], early)
    catalog = ItemCatalog(ITEMS)
    upsell.put(UpsellConfig(type="most_sellable", enabled=True), catalog)
    assert skus(upsell.offer(PLAYER, early, catalog, days=366)) == ["i1"]


def test_a_paid_checkout_counts_its_lines(store):
    accounting = Accounting(store)
    catalog = ItemCatalog(ITEMS)
    cart = Cart(
        currency="USD",
        lines=[CartLine(sku="i4", quantity=2, price=D(10)), CartLine(sku="i6", price=D(10))],
    )
    checkout = Pricing([]).checkout(accounting, cart, PLAYER, AT, hold=timedelta(minutes=5))
    upsell = Upsell(store)
    upsell.put(UpsellConfig(type="most_sellable", enabled=True), catalog)
    assert upsell.record_sale("order-9", checkout, AT)
    assert skus(upsell.offer(PLAYER, AT, catalog)) == ["i4", "i6"]


# -- what a review found --------------------------------------------------------------------


def test_an_item_shown_by_id_to_the_player_is_offered_though_another_rule_names_its_sku(store):
    window = RUNNING
    silver = PersonalizedCatalogRule(
        promotion_id=1, name="a", enabled=True, window=window,
        conditions=[StringCondition("tier", "eq", "silver")], items=[ShownItem(sku="x")],
    )  # fmt: skip
    gold = PersonalizedCatalogRule(
        promotion_id=2, name="b", enabled=True, window=window,
        conditions=[StringCondition("tier", "eq", "gold")], items=[ShownItem(item_id=5)],
    )  # fmt: skip
    catalog = ItemCatalog([item("x", item_id=5), item("y")], Pricing([silver, gold]))
    upsell = Upsell(store)
    upsell.put(UpsellConfig(type="fixed_list", enabled=True, items=["x", "y"]), catalog)
    assert skus(upsell.offer(PLAYER, AT, catalog)) == ["x", "y"]
    assert skus(upsell.offer(User("p3", {"tier": "bronze"}), AT, catalog)) == ["y"]


def test_an_orders_lines_of_one_sku_add_up_and_other_lines_under_its_id_are_refused(store):
    upsell = Upsell(store)
    catalog = ItemCatalog(ITEMS)
    upsell.put(UpsellConfig(type="most_sellable", enabled=True), catalog)
    upsell.record_sale("o1", [("i1", 1), ("i1", 2)], AT)
    upsell.record_sale("o2", [("i2", 2)], AT)
    assert skus(upsell.offer(PLAYER, AT, catalog)) == ["i1", "i2"]  # 3 then 2
    with pytest.raises(AccountingError) as conflict:
        upsell.record_sale("o2", [("i5", 9)], AT)
    assert conflict.value.code == "idempotency_conflict"
    assert skus(upsell.offer(PLAYER, AT, catalog)) == ["i1", "i2"]


def test_a_sale_with_one_bad_line_writes_nothing(store):
    upsell = Upsell(store)
    for lines in ([("i1", 1), ("x" * 256, 1)], [("i1", 1), ("bad sku", 1)], [("i1", 1), ("i2", 0)]):
        with pytest.raises(ValidationError):
            upsell.record_sale("o1", lines, AT)
    with pytest.raises(ValidationError):
        upsell.record_sale("o" * 250, [("i1", 1), ("i2", 1)], AT)
    for paid in (None, 5):
        with pytest.raises(ValidationError):
            upsell.record_sale("o1", paid, AT)  # type: ignore[arg-type]
    assert store.ledger() == []


def test_anonymous_players_are_not_offered_items_only_a_per_user_limited_promotion_targets(store):
    limited = discount(1, ["i1"], limits=PromotionLimits(per_user=1))
    catalog = ItemCatalog(ITEMS, Pricing([limited, discount(2, ["i2"])]))
    upsell = Upsell(store)
    upsell.put(UpsellConfig(type="only_promotions", enabled=True), catalog)
    assert skus(upsell.offer(User(None), AT, catalog)) == ["i2"]
    assert skus(upsell.offer(PLAYER, AT, catalog)) == ["i1", "i2"]


@pytest.mark.parametrize(
    "fields",
    [
        {"price": D("10.001"), "currency": "USD"},
        {"price": D("10.5"), "currency": "JPY"},
        {"price": D("1e15"), "currency": "USD"},
        {"type": "weapon"},
    ],
)
def test_items_an_offer_could_not_price_are_refused_when_built(fields):
    with pytest.raises(ValidationError):
        CatalogItem(sku="a", name={"en": "A"}, **fields)


@pytest.mark.parametrize("items", [None, 5, "abc"])
def test_an_item_catalog_needs_a_list_of_items(items):
    with pytest.raises(ValidationError):
        ItemCatalog(items)  # type: ignore[arg-type]
