"""A SQLite store written by schema version 1 is migrated in place when opened."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime

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
