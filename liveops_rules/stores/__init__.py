"""Redemption stores: the Protocols they implement and `open_store(uri)` to pick one.

`memory://` and `sqlite:///path.db` need nothing beyond the standard library; the Redis and
PostgreSQL stores are imported only when asked for, so their drivers stay optional extras.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, unquote, urlsplit

from liveops_rules.errors import ValidationError
from liveops_rules.redaction import redact_uri
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
    Requirement,
    SettleAction,
    SettleResult,
    Status,
)
from liveops_rules.stores.sqlite import SQLiteStore
from liveops_rules.stores.uris import (
    POSTGRES_OPTIONS,
    POSTGRES_SCHEMES,
    REDIS_OPTIONS,
    REDIS_SCHEMES,
    driver_missing,
    split_server_uri,
)

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
    "Requirement",
    "SQLiteStore",
    "SettleAction",
    "SettleResult",
    "Status",
    "open_store",
    "redact_uri",
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


def _redis(uri: str) -> RedemptionStore:
    try:
        from liveops_rules.stores.redis_store import RedisStore
    except ImportError:
        raise driver_missing(uri, "redis") from None
    url, options = split_server_uri(uri, REDIS_OPTIONS)
    return RedisStore(url, **options)  # type: ignore[arg-type]


def _postgres(uri: str) -> RedemptionStore:
    try:
        from liveops_rules.stores.postgres_store import PostgresStore
    except ImportError:
        raise driver_missing(uri, "postgres") from None
    url, options = split_server_uri(uri, POSTGRES_OPTIONS)
    schema = str(options.get("schema", "liveops_rules"))
    if options.pop("create_schema", False):
        PostgresStore.create_schema(url, schema=schema)
    return PostgresStore(url, **options)  # type: ignore[arg-type]


_SCHEMES: dict[str, Callable[[str, dict[str, str]], RedemptionStore]] = {
    "memory": _memory,
    "sqlite": _sqlite,
}
_SERVERS: dict[str, Callable[[str], RedemptionStore]] = {
    **dict.fromkeys(REDIS_SCHEMES, _redis),
    **dict.fromkeys(POSTGRES_SCHEMES, _postgres),
}


def open_store(uri: str) -> RedemptionStore:
    """A store from a URI:
    - `memory://`;
    - `sqlite:///path.db` (`?synchronous=normal` trades durability on power loss for speed);
    - `redis://host:port/db?prefix=liveops` (`rediss://` for TLS; extra `redis`);
    - `postgresql://user@host/db?schema=liveops_rules&pool_size=10` (`&create_schema=true`
      creates the tables first; extra `postgres`).
    Other query options of server URIs go to the driver (`sslmode=require`, ...)."""
    if not isinstance(uri, str):
        raise ValidationError.single("uri", "a store URI such as sqlite:///promotions.db", uri)
    try:
        parts = urlsplit(uri)
    except ValueError as error:  # an unclosed [IPv6] host
        raise ValidationError.single("uri", f"a valid URI ({error})", redact_uri(uri)) from None
    server = _SERVERS.get(parts.scheme)
    if server is not None:
        return server(uri)
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    opener = _SCHEMES.get(parts.scheme)
    if opener is None:
        raise ValidationError.single(
            "uri",
            "a URI starting memory://, sqlite:///, redis:// or postgresql://",
            redact_uri(uri),
        )
    if parts.netloc:
        raise ValidationError.single(
            "uri", f"{parts.scheme}:///path (a path, no host)", redact_uri(uri)
        )
    path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
    return opener(path, options)
