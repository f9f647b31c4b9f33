"""PostgresStore on the caller's connection: the redemption commits or rolls back with the
caller's own writes, in one transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
import pytest

from liveops_rules import Coupon, RewardItem, User
from liveops_rules.accounting import Accounting, check_ledger
from liveops_rules.stores.postgres_store import PostgresStore

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)


@pytest.fixture
def shop(postgres_server, closing):
    """A caller's connection (not autocommit) with an orders table, a store on it, and a
    second, independent store on the same schema to look from outside."""
    schema = f"embed_{uuid.uuid4().hex}"
    connection = closing(psycopg.connect(postgres_server.url))
    PostgresStore.create_schema(connection, schema=schema)
    with connection.transaction():
        connection.execute(f"CREATE TABLE {schema}.orders (id text PRIMARY KEY, operation text)")
    store = closing(PostgresStore(connection=connection, schema=schema))
    accounting = Accounting(store)
    promotion = Coupon(
        external_id="embed", enabled=True, bonus=[RewardItem("gem")], redeem_total_limit=1
    )
    accounting.import_promotions([promotion])
    accounting.add_codes(promotion, ["EMBED1"])
    outside = closing(PostgresStore(postgres_server.url, schema=schema, pool_size=1))
    outside.url = postgres_server.url  # type: ignore[attr-defined]
    return connection, schema, accounting, outside


def orders(outside: PostgresStore, schema: str) -> list[str]:
    """The committed orders, read on a connection of their own."""
    with psycopg.connect(outside.url) as other:
        return [row[0] for row in other.execute(f"SELECT id FROM {schema}.orders ORDER BY id")]


def test_the_redemption_commits_with_the_order(shop):
    connection, schema, accounting, outside = shop
    with connection.transaction():
        outcome = accounting.redeem("EMBED1", User("buyer"), AT)
        connection.execute(
            f"INSERT INTO {schema}.orders VALUES (%s, %s)", ("order-1", outcome.operation_id)
        )
        # Not visible outside before the caller commits.
        assert "t|coupon:embed" not in outside.counters()
    assert outside.counters()["t|coupon:embed"].used == 1
    assert orders(outside, schema) == ["order-1"]
    assert check_ledger(outside) == []


def test_the_redemption_rolls_back_with_the_order(shop):
    connection, schema, accounting, outside = shop

    def order_that_fails() -> None:
        with connection.transaction():
            assert accounting.redeem("EMBED1", User("buyer"), AT).ok
            connection.execute(f"INSERT INTO {schema}.orders VALUES ('order-1', NULL)")
            raise RuntimeError("payment declined")

    with pytest.raises(RuntimeError, match="payment declined"):
        order_that_fails()
    assert outside.counters().get("t|coupon:embed") is None
    assert orders(outside, schema) == []
    assert [e.event for e in outside.ledger() if e.event == "redeem"] == []
    # The capacity is still there for the next order.
    with connection.transaction():
        assert accounting.redeem("EMBED1", User("buyer"), AT).ok
    assert outside.counters()["t|coupon:embed"].used == 1


def test_a_refusal_leaves_the_callers_transaction_usable(shop):
    connection, schema, accounting, outside = shop
    with connection.transaction():
        connection.execute(f"INSERT INTO {schema}.orders VALUES ('order-1', NULL)")
        assert accounting.redeem("EMBED1", User("ann"), AT).ok
        refused = accounting.redeem("EMBED1", User("bob"), AT)  # the limit is 1
        assert refused.refusal is not None
        assert refused.refusal.limit == "total"
        connection.execute(f"INSERT INTO {schema}.orders VALUES ('order-2', NULL)")
    assert orders(outside, schema) == ["order-1", "order-2"]
    assert outside.counters()["t|coupon:embed"].used == 1
    assert check_ledger(outside) == []
