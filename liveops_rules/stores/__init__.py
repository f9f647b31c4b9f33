"""Redemption stores: the Protocols they implement and `open_store(uri)` to pick one.

`memory://` and `sqlite:///path.db` ship with the library; further schemes (Redis,
PostgreSQL) are imported only when asked for, so their drivers stay optional.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from urllib.parse import parse_qs, unquote, urlsplit

from liveops_rules.errors import ValidationError
from liveops_rules.stores.memory import InMemoryStore
from liveops_rules.stores.protocol import (
    CodeStore,
    CounterSpec,
    CounterState,
    CounterStore,
    CountRequest,
    CountResult,
    IdempotencyStore,
    LedgerEntry,
    LedgerStore,
    PromotionStore,
    RedemptionStore,
    SettleAction,
    SettleResult,
    Status,
)
from liveops_rules.stores.sqlite import SQLiteStore

__all__ = [
    "CodeStore",
    "CountRequest",
    "CountResult",
    "CounterSpec",
    "CounterState",
    "CounterStore",
    "IdempotencyStore",
    "InMemoryStore",
    "LedgerEntry",
    "LedgerStore",
    "PromotionStore",
    "RedemptionStore",
    "SQLiteStore",
    "SettleAction",
    "SettleResult",
    "Status",
    "open_store",
]


def _memory(_: str, __: dict[str, str]) -> RedemptionStore:
    return InMemoryStore()


def _sqlite(path: str, options: dict[str, str]) -> RedemptionStore:
    if not path:
        raise ValidationError.single("uri", "sqlite:///relative.db or sqlite:////absolute.db", path)
    unknown = set(options) - {"synchronous"}
    if unknown:
        raise ValidationError.single("uri", "only the option synchronous", sorted(unknown))
    return SQLiteStore(path, synchronous=options.get("synchronous", "FULL"))


_SCHEMES: dict[str, Callable[[str, dict[str, str]], RedemptionStore]] = {
    "memory": _memory,
    "sqlite": _sqlite,
}
_OPTIONAL = {"redis": "liveops_rules.stores.redis", "postgresql": "liveops_rules.stores.postgres"}


def open_store(uri: str) -> RedemptionStore:
    """A store from a URI: `memory://`, `sqlite:///path.db` (`?synchronous=normal` trades
    durability on power loss for speed)."""
    if not isinstance(uri, str):
        raise ValidationError.single("uri", "a store URI such as sqlite:///promotions.db", uri)
    parts = urlsplit(uri)
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    opener = _SCHEMES.get(parts.scheme)
    if opener is None:
        module = _OPTIONAL.get(parts.scheme)
        if module is None:
            raise ValidationError.single("uri", "a URI starting memory://, sqlite:///", uri)
        try:
            importlib.import_module(module)
        except ImportError:
            raise ValidationError.single(
                "uri",
                f"a scheme this installation supports ({parts.scheme} is not shipped yet)",
                uri,
            ) from None
        raise ValidationError.single("uri", "a supported scheme", uri)  # pragma: no cover
    if parts.netloc:
        raise ValidationError.single("uri", f"{parts.scheme}:///path (a path, no host)", uri)
    path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
    return opener(path, options)
