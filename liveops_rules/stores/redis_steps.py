"""What the Redis stores say to Redis, written once for the sync and the async driver.

Each store operation is a generator of `RedisCommand`s (a script to run, or a plain read): it
yields one, is sent Redis' reply, and returns the operation's result. `RedisStore` (redis-py)
and `AsyncRedisStore` (redis.asyncio) only perform the commands, retrying within the retry
window as `RetryWindow` decides; the scripts, their arguments and the reading of the replies
exist here alone.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import secrets
import time
from collections.abc import Callable, Generator, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeAlias, TypeVar
from urllib.parse import parse_qsl, urlsplit

import redis
import redis.connection

from liveops_rules.errors import OutcomeUnknownError, StoreError, ValidationError
from liveops_rules.redaction import redact_message, redact_uri
from liveops_rules.stores import _redis_scripts as scripts
from liveops_rules.stores.bounds import COUNT_MAX, check_seconds
from liveops_rules.stores.protocol import (
    SETTLED,
    STORE_OPERATIONS,
    CounterSpec,
    CounterState,
    CountRequest,
    CountResult,
    IdempotencyConflict,
    LedgerEntry,
    OperationCollision,
    SettleAction,
    SettleResult,
    Status,
    document_version,
)

__all__ = [
    "OPERATIONS",
    "SCHEMA_VERSION",
    "TRANSIENT",
    "Commands",
    "RedisCommand",
    "RedisSettings",
    "RedisSteps",
    "RetryWindow",
    "Script",
    "T",
    "failure",
]

SCHEMA_VERSION = 2

T = TypeVar("T")
C = TypeVar("C")
"""The result of an operation or a unit of work."""

TRANSIENT = (redis.ConnectionError, redis.TimeoutError)
"""The errors after which a command is sent again (within the window)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STAMP_ORIGIN = datetime(1, 1, 1, tzinfo=UTC)
_COUNTED = CountResult(ok=True)
_STALE = CountResult(ok=False, stale=True)
_CODES_PER_SCRIPT = 5_000  # keeps each script short: Redis serves no one else while it runs


def _stamp(at: datetime) -> str:
    """A moment as scripts compare it: 18 digits of microseconds since 0001-01-01T00:00Z."""
    delta = at - _STAMP_ORIGIN
    return format((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds, "018d")


def _stamp_of_micros(micros: str) -> str:
    """A version 1 expiry (microseconds since 1970, exact text) as a stamp."""
    origin = _EPOCH - _STAMP_ORIGIN
    offset = (origin.days * 86_400 + origin.seconds) * 1_000_000
    return format(int(micros) + offset, "018d")


def _known_url_options(url: str) -> set[str]:
    """The query options redis-py reads from a URL of this scheme."""
    scheme = urlsplit(url).scheme
    connection: type = {
        "rediss": redis.connection.SSLConnection,
        "unix": redis.connection.UnixDomainSocketConnection,
    }.get(scheme, redis.connection.Connection)
    names = set(redis.connection.URL_QUERY_ARGUMENT_PARSERS)
    for klass in connection.__mro__:
        init = vars(klass).get("__init__")
        if init is not None and klass is not object:
            names |= set(inspect.signature(init).parameters) - {"self", "args", "kwargs"}
    return names - {"retry", "retry_on_error", "retry_on_timeout"}  # the store retries itself


class RedisSettings:
    """Where a Redis store lives and how long it waits, checked before any connection:
    `url` (redis-py's: `redis://host:port/db`, `rediss://`, `unix://`, with the options
    redis-py reads from it, except its retries), `prefix` (every key starts `{prefix}:`),
    `retry_window` and `socket_timeout` in seconds. Its repr never shows a password."""

    __slots__ = ("prefix", "retry_window", "socket_timeout", "url", "where")

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "liveops",
        retry_window: float = 10.0,
        socket_timeout: float = 5.0,
    ) -> None:
        if not isinstance(prefix, str) or not prefix or "{" in prefix or "}" in prefix:
            raise ValidationError.single("prefix", "a non-empty text without { or }", prefix)
        self.retry_window = check_seconds("retry_window", retry_window)
        self.socket_timeout = check_seconds("socket_timeout", socket_timeout, low=0.001)
        if not isinstance(url, str):
            raise ValidationError.single("url", "a redis:// URL", url)
        try:
            parts = urlsplit(url)
            query = parse_qsl(parts.query)
            port = parts.port
        except ValueError as error:
            raise ValidationError.single("url", f"a valid URL ({error})", redact_uri(url)) from None
        known = _known_url_options(url)
        unknown = sorted({name for name, _ in query} - known)
        if unknown:
            raise ValidationError.single(
                "url",
                "options redis-py knows: prefix, retry_window, " + ", ".join(sorted(known)),
                f"unknown option {unknown[0]}",
            )
        self.url = url
        self.prefix = prefix
        # no scheme, user or password in messages
        self.where = f"Redis at {parts.hostname or parts.path}:{port or 6379}"

    def client(self, from_url: Callable[..., C], retry: object) -> C:
        """A driver's client (`from_url`: `redis.Redis.from_url` or redis.asyncio's) with
        its own retries off (`retry`: the driver's no-retry policy): the store retries."""
        try:
            return from_url(
                self.url,
                decode_responses=True,
                socket_timeout=self.socket_timeout,
                socket_connect_timeout=self.socket_timeout,
                retry=retry,
                retry_on_error=[],
            )
        except (ValueError, TypeError) as error:
            reason = redact_message(str(error), self.url)
            raise ValidationError.single("url", "a redis:// URL", f"({reason})") from None

    def __repr__(self) -> str:
        return (
            f"RedisSettings({redact_uri(self.url)!r}, prefix={self.prefix!r}, "
            f"retry_window={self.retry_window:g}, socket_timeout={self.socket_timeout:g})"
        )


class Script:
    """A script's source (with the shared prelude) and its SHA-1, known before loading."""

    __slots__ = ("name", "sha", "source", "writes")

    def __init__(self, name: str, body: str, *, writes: bool = True) -> None:
        self.name = name
        self.writes = writes
        self.source = scripts.PRELUDE + body
        self.sha = hashlib.sha1(self.source.encode(), usedforsecurity=False).hexdigest()


class RedisCommand(NamedTuple):
    """One command for a driver: the client method `name` with `args` (and `options`, its
    keyword arguments); `source` is the script to load when Redis does not know the one
    `evalsha` names; `writes` says whether an unanswered command may have changed something."""

    name: str
    args: tuple[Any, ...]
    writes: bool = False
    source: str | None = None
    options: tuple[tuple[str, Any], ...] = ()


Commands: TypeAlias = Generator[RedisCommand, Any, T]
"""An operation as commands: yields RedisCommands, is sent their replies, returns its result."""


def failure(error: Exception, where: str, *, writes: bool, window: float) -> StoreError:
    """The error a store raises for a driver's `error`: an unknown outcome for a write whose
    retries ran out, else what Redis said."""
    if isinstance(error, TRANSIENT):
        if not writes:
            return StoreError(f"{where} is unreachable: {error}")
        return OutcomeUnknownError(
            f"{where} did not answer within {window:g} s "
            f"({error}); the operation may or may not have been applied"
        )
    if isinstance(error, redis.ResponseError):
        return StoreError(f"{where} refused the operation: {error}")
    return StoreError(f"{where}: {error}")


class RetryWindow:
    """How long a driver keeps sending a command again after a lost connection or a timeout:
    doubling pauses from 10 ms to 250 ms, until `window` seconds have passed."""

    __slots__ = ("_deadline", "delay")

    def __init__(self, window: float) -> None:
        self._deadline = time.monotonic() + window
        self.delay = 0.01

    def pause(self) -> float | None:
        """The pause before the next try, or None when the window has passed."""
        delay = self.delay
        if time.monotonic() + delay > self._deadline:
            return None
        self.delay = min(delay * 2, 0.25)
        return delay


_COUNT = Script("count", scripts.COUNT)
_SETTLE = Script("settle", scripts.SETTLE)
_COUNTER = Script("counter", scripts.COUNTER, writes=False)  # reclaims only
_ADJUST = Script("adjust", scripts.ADJUST)
_ADD_EXTRA = Script("add_extra", scripts.ADD_EXTRA)
_RESET = Script("reset", scripts.RESET)
_REMEMBER = Script("remember", scripts.REMEMBER)
_ADD_CODE_SETS = Script("add_code_sets", scripts.ADD_CODE_SETS)
_REMOVE_CODES = Script("remove_codes", scripts.REMOVE_CODES)
_PUT_PROMOTIONS = Script("put_promotions", scripts.PUT_PROMOTIONS)
_SWAP_PROMOTION = Script("swap_promotion", scripts.SWAP_PROMOTION)
_RETIRE_PROMOTION = Script("retire_promotion", scripts.RETIRE_PROMOTION)
_COUNTERS = Script("counters", scripts.COUNTERS, writes=False)
_AUDIT = Script("audit", scripts.AUDIT, writes=False)
_COUNTERS_WITH_PREFIX = Script("counters_with_prefix", scripts.COUNTERS_WITH_PREFIX, writes=False)
_MIGRATE_1 = Script("migrate_1", scripts.MIGRATE_1)


def _optional(value: str | None) -> str:
    """An optional script argument: "" when absent, "=" + the value when present."""
    return "" if value is None else "=" + value


def _state(values: Sequence[Any]) -> CounterState:
    used, reserved, extra, limit = values
    return CounterState(int(used), int(reserved), int(extra), None if limit is None else int(limit))


def _counters(flat: Sequence[Any]) -> dict[str, CounterState]:
    return {flat[n]: _state(flat[n + 1 : n + 5]) for n in range(0, len(flat), 5)}


def _entries(lines: Sequence[str]) -> list[LedgerEntry]:
    entries = []
    for seq, line in enumerate(lines, start=1):
        at, event, op, user, promotion, code, quantity, key, deltas = json.loads(line)
        entries.append(
            LedgerEntry(
                seq=seq,
                at=datetime.fromisoformat(at),
                event=event,
                operation_id=op,
                user_id=user,
                promotion=promotion,
                code=code,
                quantity=quantity,
                idempotency_key=key,
                deltas=tuple((d[0], d[1], d[2], d[3]) for d in deltas),
            )
        )
    return entries


OPERATIONS = STORE_OPERATIONS
"""The RedemptionStore methods the steps have (every one but `close`)."""


class RedisSteps:
    """The Redis stores' operations as steps, for one key prefix: each method is the
    `RedemptionStore` method of the same name, yielding the commands it needs."""

    __slots__ = ("_base", "_ledger", "prefix")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._base = "{" + prefix + "}:"
        self._ledger = self._base + "ledger"

    def _run(self, script: Script, *args: str | int) -> RedisCommand:
        """The command that runs `script` (every script gets the ledger key and the base)."""
        return RedisCommand(
            "evalsha",
            (script.sha, 1, self._ledger, self._base, *args),
            script.writes,
            script.source,
        )

    # -- the schema ---------------------------------------------------------------------------

    def check_schema(self, where: str) -> Commands[None]:
        """Mark a new prefix with this schema version, migrate a version 1 one, and refuse
        any other version."""
        key = self._base + "schema"
        # SET NX, not SETNX: an ACL may grant SET alone (and SETNX is deprecated)
        if not (yield RedisCommand("set", (key, SCHEMA_VERSION), options=(("nx", True),))):
            found = yield RedisCommand("get", (key,))
            if found == "1":
                yield from self._migrate_from_1()
                found = yield RedisCommand("get", (key,))
            if found != str(SCHEMA_VERSION):
                raise StoreError(
                    f"{where}, prefix {self.prefix!r}: schema version {found}, "
                    f"this library reads version {SCHEMA_VERSION}"
                )

    def _migrate_from_1(self) -> Commands[None]:
        """Version 2 keeps hold expiries as exact stamps (version 1 scored holds by a double,
        which rounds microseconds after about 2255). Stop version 1 clients first."""
        args: list[str] = []
        for counter in (yield RedisCommand("zrange", (self._base + "keys", 0, -1))):
            holds = yield RedisCommand("zrange", (self._base + "h:" + counter, 0, -1))
            for operation_id in holds:
                micros = yield RedisCommand("hget", (self._base + "o:" + operation_id, "e"))
                if micros is not None:
                    args += [counter, operation_id, _stamp_of_micros(micros)]
        yield self._run(_MIGRATE_1, *args)

    # -- counting -----------------------------------------------------------------------------

    def count(self, request: CountRequest) -> Commands[CountResult]:
        """See `CounterStore.count`."""
        held = request.expires_at is not None
        keys = [counter.key for counter in request.counters]
        quantity = request.quantity
        # The ledger line and the key list are made here: the server runs every script alone,
        # so the less it has to do, the more redemptions it serves.
        line = json.dumps(
            [
                request.at.isoformat(),
                "reserve" if held else "redeem",
                request.operation_id,
                request.user_id,
                request.promotion,
                request.code,
                quantity,
                request.idempotency_key,
                [[k, 0, quantity, 0] if held else [k, quantity, 0, 0] for k in keys],
            ],
            separators=(",", ":"),
        )
        args: list[str | int] = [
            secrets.token_hex(8),  # this call's nonce: a re-sent copy finds it, nothing else
            request.operation_id,
            _optional(request.idempotency_key),
            request.fingerprint,
            request.at.isoformat(),
            _stamp(request.at),
            "" if request.expires_at is None else "=" + _stamp(request.expires_at),
            request.user_id,
            request.promotion,
            _optional(request.code),
            quantity,
            request.result,
            _optional(request.version),
            ("1" if request.absent_ok else "0") + (request.version_of or ""),
            json.dumps(keys, separators=(",", ":")),
            line,
            len(request.requires),
        ]
        for requirement in request.requires:
            args.append(requirement.key)
            args.append(requirement.at_least)
        for counter in request.counters:
            args.append(counter.key)
            args.append("" if counter.limit is None else f"={counter.limit}")
        reply = yield self._run(_COUNT, *args)
        verdict = reply[0]
        if verdict == "counted":
            return _COUNTED
        if verdict == "stale":
            return _STALE
        if verdict == "replay":
            return CountResult(ok=True, replayed=reply[1])
        if verdict == "conflict":
            raise IdempotencyConflict(request.idempotency_key)
        if verdict == "collision":
            raise OperationCollision(request.operation_id)
        if verdict == "unmet":
            state = CounterState(int(reply[2]), int(reply[3]), int(reply[4]))
            return CountResult(ok=False, unmet=request.requires[int(reply[1]) - 1], state=state)
        spec: CounterSpec = request.counters[int(reply[1]) - 1]
        return CountResult(
            ok=False,
            exhausted=spec,
            state=CounterState(int(reply[2]), int(reply[3]), int(reply[4]), spec.limit),
        )

    def settle(
        self, action: SettleAction, operation_id: str, at: datetime
    ) -> Commands[SettleResult]:
        """See `CounterStore.settle`."""
        reply = yield self._run(_SETTLE, operation_id, action.value, _stamp(at), at.isoformat())
        if reply[0] == "unknown":
            return SettleResult(ok=False, status=None)
        status = Status(reply[0])
        return SettleResult(
            ok=status in SETTLED[action],
            status=status,
            changed=int(reply[1]) == 1,
            quantity=int(reply[2]),
            user_id=reply[3],
            promotion=reply[4],
            code=reply[5] if len(reply) > 5 else None,
        )

    def counter(self, key: str, at: datetime) -> Commands[CounterState]:
        """See `CounterStore.counter`."""
        return _state((yield self._run(_COUNTER, key, _stamp(at), at.isoformat())))

    def adjust(
        self, key: str, limit: int, available: int, at: datetime
    ) -> Commands[CounterState | None]:
        """See `CounterStore.adjust`."""
        args = (key, limit, available, _stamp(at), at.isoformat(), COUNT_MAX)
        found = json.loads((yield self._run(_ADJUST, secrets.token_hex(12), *args)))
        return None if found is None else _state(found)

    def add_extra(
        self, key: str, limit: int, change: int, at: datetime
    ) -> Commands[CounterState | None]:
        """See `CounterStore.add_extra`."""
        args = (key, limit, change, _stamp(at), at.isoformat(), COUNT_MAX)
        found = json.loads((yield self._run(_ADD_EXTRA, secrets.token_hex(12), *args)))
        return None if found is None else _state(found)

    def reset(self, prefix: str, at: datetime, *, exact: bool = False) -> Commands[int]:
        """See `CounterStore.reset`."""
        args = (prefix, at.isoformat(), "1" if exact else "0")
        return int((yield self._run(_RESET, secrets.token_hex(12), *args)))

    def counters_with_prefix(self, prefix: str) -> Commands[dict[str, CounterState]]:
        """See `CounterStore.counters_with_prefix`."""
        return _counters((yield self._run(_COUNTERS_WITH_PREFIX, prefix)))

    def counters(self) -> Commands[dict[str, CounterState]]:
        """See `CounterStore.counters`."""
        return _counters((yield self._run(_COUNTERS)))

    def audit(self) -> Commands[tuple[list[LedgerEntry], dict[str, CounterState]]]:
        """See `LedgerStore.audit`: one script reads both."""
        lines, flat = yield self._run(_AUDIT)
        return _entries(lines), _counters(flat)

    # -- idempotency --------------------------------------------------------------------------

    def remember(self, key: str, fingerprint: str, result: str) -> Commands[str]:
        """See `IdempotencyStore.remember`."""
        reply = yield self._run(_REMEMBER, key, fingerprint, result)
        if reply[0] == "conflict":
            raise IdempotencyConflict(key)
        return str(reply[1])

    def recall(self, key: str, fingerprint: str) -> Commands[str | None]:
        """See `IdempotencyStore.recall`."""
        kept, result = yield RedisCommand("hmget", (self._base + "i:" + key, "f", "r"))
        if kept is None:
            return None
        if kept != fingerprint:
            raise IdempotencyConflict(key)
        return str(result)

    # -- ledger -------------------------------------------------------------------------------

    def ledger(self) -> Commands[list[LedgerEntry]]:
        """See `LedgerStore.ledger`."""
        return _entries((yield RedisCommand("lrange", (self._ledger, 0, -1))))

    # -- codes and promotions -----------------------------------------------------------------

    def add_codes(self, ref: str, codes: Sequence[str]) -> Commands[tuple[str, ...]]:
        """See `CodeStore.add_codes`."""
        return (yield from self.add_code_sets([(ref, codes)]))[0]

    def add_code_sets(
        self, assignments: Sequence[tuple[str, Sequence[str]]]
    ) -> Commands[list[tuple[str, ...]]]:
        """See `CodeStore.add_code_sets`: one script per 5,000 codes."""
        answers: list[list[str]] = [[] for _ in assignments]
        batches: list[tuple[list[str], list[int]]] = []
        batch: list[str] = []
        owners: list[int] = []  # which assignment each group of the batch belongs to
        size = 0
        for index, (ref, codes) in enumerate(assignments):
            for start in range(0, max(len(codes), 1), _CODES_PER_SCRIPT):
                chunk = codes[start : start + _CODES_PER_SCRIPT]
                if size + len(chunk) > _CODES_PER_SCRIPT and batch:
                    batches.append((batch, owners))
                    batch, owners, size = [], [], 0
                batch += [ref, str(len(chunk)), *chunk]
                owners.append(index)
                size += len(chunk)
        if batch:
            batches.append((batch, owners))
        for sent, sent_owners in batches:
            replies = json.loads((yield self._run(_ADD_CODE_SETS, secrets.token_hex(12), *sent)))
            for owner, taken in zip(sent_owners, replies, strict=True):
                answers[owner].extend(taken or ())  # Lua's JSON writes [] as {}
        return [tuple(taken) for taken in answers]

    def remove_codes(self, ref: str, codes: Sequence[str]) -> Commands[tuple[str, ...]]:
        """See `CodeStore.remove_codes`."""
        removed: list[str] = []
        for start in range(0, len(codes), _CODES_PER_SCRIPT):
            chunk = codes[start : start + _CODES_PER_SCRIPT]
            removed += (yield self._run(_REMOVE_CODES, secrets.token_hex(12), ref, *chunk)) or ()
        return tuple(removed)

    def code_owner(self, code: str) -> Commands[str | None]:
        """See `CodeStore.code_owner`."""
        owner = yield RedisCommand("hget", (self._base + "codes", code))
        return None if owner is None else str(owner)

    def code_owners(self, codes: Sequence[str]) -> Commands[dict[str, str]]:
        """See `CodeStore.code_owners`."""
        found: dict[str, str] = {}
        for start in range(0, len(codes), 5_000):
            chunk = list(codes[start : start + 5_000])
            owners = yield RedisCommand("hmget", (self._base + "codes", chunk))
            found.update((code, owner) for code, owner in zip(chunk, owners, strict=True) if owner)
        return found

    def code_map(self) -> Commands[dict[str, str]]:
        """See `CodeStore.code_map`."""
        return dict((yield RedisCommand("hgetall", (self._base + "codes",))))

    def codes(self, ref: str, offset: int = 0, limit: int | None = None) -> Commands[list[str]]:
        """See `CodeStore.codes` (Redis keeps them unsorted: sorted here)."""
        ordered = sorted((yield RedisCommand("smembers", (self._base + "pc:" + ref,))))
        return ordered[offset:] if limit is None else ordered[offset : offset + limit]

    def code_count(self, ref: str) -> Commands[int]:
        """See `CodeStore.code_count`."""
        return int((yield RedisCommand("scard", (self._base + "pc:" + ref,))))

    def put_promotion(self, ref: str, document: str) -> Commands[None]:
        """See `PromotionStore.put_promotion`."""
        yield from self.put_promotions([(ref, document)])

    def put_promotions(self, documents: Sequence[tuple[str, str]]) -> Commands[None]:
        """See `PromotionStore.put_promotions`: one script per 500 documents."""
        for start in range(0, len(documents), 500):
            args: list[str] = []
            for ref, document in documents[start : start + 500]:
                args += [ref, document, document_version(document)]
            yield self._run(_PUT_PROMOTIONS, *args)

    def swap_promotion(self, ref: str, expected: str | None, document: str) -> Commands[bool]:
        """See `PromotionStore.swap_promotion`."""
        args = (ref, _optional(expected), document, document_version(document))
        return bool(int((yield self._run(_SWAP_PROMOTION, secrets.token_hex(12), *args))))

    def retire_promotion(self, ref: str, expected: str, document: str) -> Commands[int | None]:
        """See `PromotionStore.retire_promotion`."""
        args = (ref, expected, document, document_version(document))
        freed = int((yield self._run(_RETIRE_PROMOTION, secrets.token_hex(12), *args)))
        return None if freed < 0 else freed

    def promotion(self, ref: str) -> Commands[str | None]:
        """See `PromotionStore.promotion`."""
        document = yield RedisCommand("hget", (self._base + "promotions", ref))
        return None if document is None else str(document)

    def promotion_version(self, ref: str) -> Commands[str | None]:
        """See `PromotionStore.promotion_version`."""
        version = yield RedisCommand("hget", (self._base + "versions", ref))
        return None if version is None else str(version)

    def promotion_refs(self, prefix: str = "") -> Commands[list[str]]:
        """See `PromotionStore.promotion_refs` (a lexical range of the refs' sorted set)."""
        low, high = ("-", "+") if not prefix else ("[" + prefix, "(" + prefix + "\U0010ffff")
        found = yield RedisCommand("zrangebylex", (self._base + "refs", low, high))
        return [ref for ref in found if ref.startswith(prefix)]

    def promotion_documents(self, prefix: str = "") -> Commands[dict[str, str]]:
        """See `PromotionStore.promotion_documents`."""
        if not prefix:
            return dict((yield RedisCommand("hgetall", (self._base + "promotions",))))
        refs = yield from self.promotion_refs(prefix)
        documents: dict[str, str] = {}
        for start in range(0, len(refs), 1000):
            chunk = refs[start : start + 1000]
            found = yield RedisCommand("hmget", (self._base + "promotions", chunk))
            documents.update((r, d) for r, d in zip(chunk, found, strict=True) if d is not None)
        return documents
