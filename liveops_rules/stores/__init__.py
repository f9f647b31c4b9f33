"""Redemption stores: the Protocols they implement and `open_store(uri)` to pick one.

`memory://` and `sqlite:///path.db` need nothing beyond the standard library; the Redis and
PostgreSQL stores are imported only when asked for, so their drivers stay optional extras.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import (
    parse_qs,
    parse_qsl,
    quote,
    unquote,
    urlencode,
    urlsplit,
    urlunsplit,
)

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


def _server_options(
    uri: str, ours: dict[str, Callable[[str], object]]
) -> tuple[str, dict[str, object]]:
    """Split a server URI into the driver's URI and the store's own options."""
    parts = urlsplit(uri)
    options: dict[str, object] = {}
    kept = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in ours:
            try:
                options[name] = ours[name](value)
            except ValueError:
                raise ValidationError.single(f"uri option {name}", "a valid value", value) from None
        else:
            kept.append((name, value))
    # quote, not quote_plus: libpq reads %20 as a space but not +
    return urlunsplit(parts._replace(query=urlencode(kept, quote_via=quote))), options


def _yes(value: str) -> bool:
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise ValueError(value)


def _redis(uri: str) -> RedemptionStore:
    try:
        from liveops_rules.stores.redis_store import RedisStore
    except ImportError:
        raise ValidationError.single(
            "uri",
            "a scheme whose driver is installed (pip install liveops-rules[redis])",
            redact_uri(uri),
        ) from None
    url, options = _server_options(uri, {"prefix": str, "retry_window": float})
    return RedisStore(url, **options)  # type: ignore[arg-type]


def _postgres(uri: str) -> RedemptionStore:
    try:
        from liveops_rules.stores.postgres_store import PostgresStore
    except ImportError:
        raise ValidationError.single(
            "uri",
            "a scheme whose driver is installed (pip install liveops-rules[postgres])",
            redact_uri(uri),
        ) from None
    url, options = _server_options(
        uri, {"schema": str, "pool_size": int, "retry_window": float, "create_schema": _yes}
    )
    schema = str(options.get("schema", "liveops_rules"))
    if options.pop("create_schema", False):
        PostgresStore.create_schema(url, schema=schema)
    return PostgresStore(url, **options)  # type: ignore[arg-type]


_SCHEMES: dict[str, Callable[[str, dict[str, str]], RedemptionStore]] = {
    "memory": _memory,
    "sqlite": _sqlite,
}
_SERVERS: dict[str, Callable[[str], RedemptionStore]] = {
    "redis": _redis,
    "rediss": _redis,
    "postgresql": _postgres,
    "postgres": _postgres,
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
