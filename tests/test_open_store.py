"""Stores are chosen by URI."""

from __future__ import annotations

import pytest

from liveops_rules import (
    InMemoryStore,
    RedemptionStore,
    SQLiteStore,
    StoreError,
    ValidationError,
    open_store,
)


def test_memory_and_sqlite_uris(tmp_path):
    assert isinstance(open_store("memory://"), InMemoryStore)
    store = open_store(f"sqlite:///{tmp_path / 'a.db'}?synchronous=normal")
    assert isinstance(store, SQLiteStore)
    assert isinstance(store, RedemptionStore)
    store.close()


@pytest.mark.parametrize(
    "uri",
    ["bogus://x", "sqlite://host/x.db", "sqlite:///", "sqlite:///x.db?journal=off", 5],
)
def test_bad_uris_are_validation_errors(uri):
    with pytest.raises(ValidationError):
        open_store(uri)  # type: ignore[arg-type]


def test_drivers_not_shipped_yet_are_named():
    with pytest.raises(ValidationError, match="redis"):
        open_store("redis://localhost:6379/0")


def test_unopenable_files_are_store_errors(tmp_path):
    with pytest.raises(StoreError, match="cannot open"):
        SQLiteStore(tmp_path / "no" / "such" / "dir.db")
