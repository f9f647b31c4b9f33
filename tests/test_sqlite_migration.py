"""A SQLite store written by schema version 1 is migrated in place when opened."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta

from liveops_rules import Coupon, RewardItem, User
from liveops_rules.accounting import Accounting, check_ledger
from liveops_rules.stores import SQLiteStore
from liveops_rules.stores.sqlite import SCHEMA_VERSION

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)


def test_a_version_1_file_is_migrated_and_keeps_its_promotions(tmp_path, closing):
    path = tmp_path / "old.db"
    store = closing(SQLiteStore(path))
    accounting = Accounting(store)
    promotion = Coupon(external_id="old", enabled=True, bonus=[RewardItem("gem")])
    accounting.import_promotions([promotion])
    accounting.add_codes(promotion, ["OLD1"])
    store.close()
    with (
        contextlib.closing(sqlite3.connect(path)) as db,
        db,
    ):  # back to version 1: promotions without versions
        db.execute("CREATE TABLE p1 (ref TEXT PRIMARY KEY, document TEXT NOT NULL)")
        db.execute("INSERT INTO p1 SELECT ref, document FROM promotions")
        db.execute("DROP TABLE promotions")
        db.execute("ALTER TABLE p1 RENAME TO promotions")
        db.execute("UPDATE schema_version SET version = 1")
    migrated = closing(SQLiteStore(path))
    assert Accounting(migrated).redeem("OLD1", User("u1"), AT).ok
    assert check_ledger(migrated) == []
    migrated.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_a_version_2_file_gains_epochs_and_its_holds_settle(tmp_path):
    path = tmp_path / "v2.db"
    store = SQLiteStore(path)
    accounting = Accounting(store)
    promotion = Coupon(
        external_id="old", enabled=True, bonus=[RewardItem("gem")], redeem_user_limit=1
    )
    accounting.import_promotions([promotion])
    accounting.add_codes(promotion, ["OLD1"])
    hold = accounting.reserve(User("u1"), AT, hold=timedelta(minutes=5), code="OLD1")
    store.close()
    with sqlite3.connect(path) as db:  # back to version 2: no epochs anywhere
        for table, column in (("counters", "epoch"), ("operations", "epochs")):
            db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        db.execute("UPDATE schema_version SET version = 2")
    migrated = SQLiteStore(path)
    accounting = Accounting(migrated)
    accounting.commit(hold.operation_id, AT)
    assert migrated.counter("u|coupon:old|u1|", AT).used == 1
    accounting.reset_user_limit(promotion, "u1", AT)
    assert accounting.redeem("OLD1", User("u1"), AT).ok
    assert check_ledger(migrated) == []
    migrated.close()
