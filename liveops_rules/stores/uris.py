"""Server store URIs: the driver's URI split from the store's own options, and the refusal
of a scheme whose driver is not installed (shared by `open_store` and `open_async_store`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from liveops_rules.errors import ValidationError
from liveops_rules.redaction import redact_uri

__all__ = [
    "POSTGRES_OPTIONS",
    "POSTGRES_SCHEMES",
    "REDIS_OPTIONS",
    "REDIS_SCHEMES",
    "driver_missing",
    "read_yes",
    "split_server_uri",
]

REDIS_SCHEMES = frozenset({"redis", "rediss"})
"""The schemes of Redis store URIs."""

POSTGRES_SCHEMES = frozenset({"postgresql", "postgres"})
"""The schemes of PostgreSQL store URIs."""


def read_yes(value: str) -> bool:
    """A yes/no URI option: 1, true, yes or 0, false, no (any case)."""
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise ValueError(value)


POSTGRES_OPTIONS: Mapping[str, Callable[[str], object]] = {
    "schema": str,
    "pool_size": int,
    "retry_window": float,
    "create_schema": read_yes,
}
"""A PostgreSQL store URI's own options (the others are libpq's), each with its reader."""

REDIS_OPTIONS: Mapping[str, Callable[[str], object]] = {"prefix": str, "retry_window": float}
"""A Redis store URI's own options (the others are redis-py's), each with its reader."""


def split_server_uri(
    uri: str, ours: Mapping[str, Callable[[str], object]]
) -> tuple[str, dict[str, object]]:
    """A server URI split into the driver's URI and the store's own options (`ours` names
    them, each with its reader); a ValidationError names an option that does not read."""
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


def driver_missing(uri: str, extra: str) -> ValidationError:
    """The refusal of `uri` when its driver (the package extra `extra`) is not installed."""
    return ValidationError.single(
        "uri",
        f"a scheme whose driver is installed (pip install liveops-rules[{extra}])",
        redact_uri(uri),
    )
