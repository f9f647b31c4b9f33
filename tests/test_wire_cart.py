"""Cart JSON: load(dump(cart)) == cart, and any document loads or raises ValidationError."""

from __future__ import annotations

import json
from contextlib import suppress
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liveops_rules import Cart, CartLine, ValidationError, VirtualPrice, dump_cart, load_cart
from tests.test_wire_fuzz import json_values, mutate

CURRENCIES = ("USD", "JPY", "KWD", "EUR")
SKUS = st.sampled_from(("a", "elven_sword", "x.y-z", "S\u2013K"))


@st.composite
def carts(draw):
    currency = draw(st.sampled_from(CURRENCIES))
    places = {"JPY": 0, "KWD": 3}.get(currency, 2)
    skus = draw(st.lists(SKUS, max_size=4, unique=True))
    lines = []
    for sku in skus:
        cents = draw(st.none() | st.integers(0, 10 ** (15 + places) - 1))
        virtual = draw(st.none() | st.builds(VirtualPrice, st.just("gold"), st.integers(0, 10**6)))
        if cents is None and virtual is None:
            virtual = VirtualPrice("gold", 1)
        price = None if cents is None else Decimal(cents).scaleb(-places)
        lines.append(
            CartLine(
                sku=sku, quantity=draw(st.integers(1, 10**6)), price=price, virtual_price=virtual
            )
        )
    return Cart(currency=currency, lines=lines)


@settings(max_examples=300)
@given(carts())
def test_dump_then_load_gives_the_same_cart(cart):
    document = json.loads(json.dumps(dump_cart(cart)))
    assert load_cart(document) == cart


def test_prices_are_written_in_the_currencys_minor_unit():
    cart = Cart(currency="USD", lines=[CartLine(sku="a", price="10.5")])
    assert dump_cart(cart) == {
        "currency": "USD",
        "items": [{"sku": "a", "quantity": 1, "price": "10.50"}],
    }


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(carts(), st.data())
def test_mutated_carts_load_or_raise_validation_errors(cart, data):
    document = json.loads(json.dumps(dump_cart(cart)))
    for _ in range(data.draw(st.integers(1, 3))):
        document = mutate(document, data)
    with suppress(ValidationError):
        assert isinstance(load_cart(document), Cart)


@settings(max_examples=500, deadline=None)
@given(json_values)
def test_arbitrary_json_loads_as_a_cart_or_raises_validation_error(data):
    with suppress(ValidationError):
        load_cart(data)
