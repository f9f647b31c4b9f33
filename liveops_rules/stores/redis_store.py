"""RedisStore: counters shared by every machine that talks to one Redis primary (redis-py).

Every operation that writes is one Lua script (see `_redis_scripts`), so Redis runs its checks
and writes with no other client in between. redis-py's own retries are switched off: they would
re-send a command whose first run may have happened. The store retries by itself instead, for
up to `retry_window` seconds, which is safe because every writing script is idempotent. When the
window passes without an answer, `OutcomeUnknownError` says that the operation may have been
applied; retrying it with the same idempotency key counts it at most once.

Durability is the server's: with `appendfsync everysec` (Redis' default with AOF on) a crash of
the operating system or a power loss can lose up to a second of acknowledged counts, while a
killed server process loses nothing. Hard limits need `appendonly yes` with
`appendfsync always` on a single primary (replication is asynchronous: a failover can lose
what the replica had not received).

All keys start with `{prefix}:`; the braces make the prefix a hash tag, so every key of a store
lives in one Redis Cluster slot and each script's keys are always together. A store is one
slot: to spread load over a cluster, give each tenant or game its own prefix.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import redis
import redis.connection
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError
from redis.retry import Retry

from liveops_rules.errors import OutcomeUnknownError, StoreError, ValidationError
from liveops_rules.redaction import redact_message
from liveops_rules.stores import _redis_scripts as scripts
from liveops_rules.stores.bounds import COUNT_MAX, check_seconds
from liveops_rules.stores.protocol import (
    SETTLED,
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

__all__ = ["SCHEMA_VERSION", "RedisStore"]

SCHEMA_VERSION = 2

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STAMP_ORIGIN = datetime(1, 1, 1, tzinfo=UTC)
_COUNTED = CountResult(ok=True)
_STALE = CountResult(ok=False, stale=True)
_CODES_PER_SCRIPT = 5_000  # keeps each script short: Redis serves no one else while it runs
_TRANSIENT = (redis.ConnectionError, redis.TimeoutError)


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


class _Script:
    """A script's source (with the shared prelude) and its SHA-1, known before loading."""

    __slots__ = ("name", "sha", "source", "writes")

    def __init__(self, name: str, body: str, *, writes: bool = True) -> None:
        self.name = name
        self.writes = writes
        self.source = scripts.PRELUDE + body
        self.sha = hashlib.sha1(self.source.encode(), usedforsecurity=False).hexdigest()


_COUNT = _Script("count", scripts.COUNT)
_SETTLE = _Script("settle", scripts.SETTLE)
_COUNTER = _Script("counter", scripts.COUNTER, writes=False)  # reclaims only
_ADJUST = _Script("adjust", scripts.ADJUST)
_ADD_EXTRA = _Script("add_extra", scripts.ADD_EXTRA)
_RESET = _Script("reset", scripts.RESET)
_REMEMBER = _Script("remember", scripts.REMEMBER)
_ADD_CODE_SETS = _Script("add_code_sets", scripts.ADD_CODE_SETS)
_REMOVE_CODES = _Script("remove_codes", scripts.REMOVE_CODES)
_PUT_PROMOTIONS = _Script("put_promotions", scripts.PUT_PROMOTIONS)
_SWAP_PROMOTION = _Script("swap_promotion", scripts.SWAP_PROMOTION)
_RETIRE_PROMOTION = _Script("retire_promotion", scripts.RETIRE_PROMOTION)
_COUNTERS = _Script("counters", scripts.COUNTERS, writes=False)
_AUDIT = _Script("audit", scripts.AUDIT, writes=False)
_COUNTERS_WITH_PREFIX = _Script("counters_with_prefix", scripts.COUNTERS_WITH_PREFIX, writes=False)
_MIGRATE_1 = _Script("migrate_1", scripts.MIGRATE_1)


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


class RedisStore:
    """A RedemptionStore on Redis (see the module's notes on retries, durability and slots).

    `url` is a redis-py URL (`redis://host:port/db`, `rediss://` for TLS, `unix://`); options
    redis-py reads from the URL (`socket_timeout=...`) apply, except its retries.
    """

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
        check_seconds("retry_window", retry_window)
        check_seconds("socket_timeout", socket_timeout, low=0.001)
        if not isinstance(url, str):
            raise ValidationError.single("url", "a redis:// URL", url)
        known = _known_url_options(url)
        unknown = sorted({name for name, _ in parse_qsl(urlsplit(url).query)} - known)
        if unknown:
            raise ValidationError.single(
                "url",
                "options redis-py knows: prefix, retry_window, " + ", ".join(sorted(known)),
                f"unknown option {unknown[0]}",
            )
        self.prefix = prefix
        self._base = "{" + prefix + "}:"
        self._ledger = self._base + "ledger"
        self._retry_window = float(retry_window)
        try:
            self._client: redis.Redis = redis.Redis.from_url(
                url,
                decode_responses=True,
                socket_timeout=socket_timeout,
                socket_connect_timeout=socket_timeout,
                retry=Retry(NoBackoff(), 0),
                retry_on_error=[],
            )
        except (ValueError, TypeError) as error:
            reason = redact_message(str(error), url)
            raise ValidationError.single("url", "a redis:// URL", f"({reason})") from None
        where = urlsplit(url)  # no scheme, user or password in messages
        self._where = f"Redis at {where.hostname or where.path}:{where.port or 6379}"
        try:
            self._check_schema()
        except StoreError:
            self._client.close()
            raise

    def _check_schema(self) -> None:
        key = self._base + "schema"
        if self._call(lambda: self._client.set(key, SCHEMA_VERSION, nx=True)) is None:
            found = self._call(lambda: self._client.get(key))
            if found == "1":
                self._migrate_from_1()
                found = self._call(lambda: self._client.get(key))
            if found != str(SCHEMA_VERSION):
                raise StoreError(
                    f"{self._where}, prefix {self.prefix!r}: schema version {found}, "
                    f"this library reads version {SCHEMA_VERSION}"
                )

    def _migrate_from_1(self) -> None:
        """Version 2 keeps hold expiries as exact stamps (version 1 scored holds by a double,
        which rounds microseconds after about 2255). Stop version 1 clients first."""
        args: list[str] = []
        for counter in self._call(lambda: self._client.zrange(self._base + "keys", 0, -1)):
            holds = self._call(lambda c=counter: self._client.zrange(self._base + "h:" + c, 0, -1))
            for operation_id in holds:
                micros = self._call(
                    lambda o=operation_id: self._client.hget(self._base + "o:" + o, "e")
                )
                if micros is not None:
                    args += [counter, operation_id, _stamp_of_micros(micros)]
        self._run(_MIGRATE_1, *args)

    # -- talking to Redis ---------------------------------------------------------------------

    def _call(self, command: Any, *, writes: bool = False) -> Any:
        """Run a command, retried within the window on connection loss and timeouts. Only
        for commands that may safely run twice (reads, idempotent writes, scripts). When the
        window passes, a command that `writes` has an unknown outcome; a read just failed."""
        deadline = time.monotonic() + self._retry_window
        delay = 0.01
        while True:
            try:
                return command()
            except _TRANSIENT as error:
                if time.monotonic() + delay > deadline:
                    if not writes:
                        raise StoreError(f"{self._where} is unreachable: {error}") from None
                    raise OutcomeUnknownError(
                        f"{self._where} did not answer within {self._retry_window:g} s "
                        f"({error}); the operation may or may not have been applied"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.25)
            except redis.ResponseError as error:
                raise StoreError(f"{self._where} refused the operation: {error}") from None
            except redis.RedisError as error:
                raise StoreError(f"{self._where}: {error}") from None

    def _run(self, script: _Script, *args: str | int) -> Any:
        """Run a script (loading it when the server lacks it)."""

        def once() -> Any:
            try:
                return self._client.evalsha(script.sha, 1, self._ledger, self._base, *args)
            except NoScriptError:  # after SCRIPT FLUSH, a restart or a failover
                self._client.script_load(script.source)
                return self._client.evalsha(script.sha, 1, self._ledger, self._base, *args)

        return self._call(once, writes=script.writes)

    # -- counting -----------------------------------------------------------------------------

    def count(self, request: CountRequest) -> CountResult:
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
        reply = self._run(_COUNT, *args)
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

    def settle(self, action: SettleAction, operation_id: str, at: datetime) -> SettleResult:
        """See `CounterStore.settle`."""
        reply = self._run(_SETTLE, operation_id, action.value, _stamp(at), at.isoformat())
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

    def counter(self, key: str, at: datetime) -> CounterState:
        """See `CounterStore.counter`."""
        reply = self._run(_COUNTER, key, _stamp(at), at.isoformat())
        return _state(reply)

    def adjust(self, key: str, limit: int, available: int, at: datetime) -> CounterState | None:
        """See `CounterStore.adjust`."""
        token = secrets.token_hex(12)
        args = (key, limit, available, _stamp(at), at.isoformat(), COUNT_MAX)
        found = json.loads(self._run(_ADJUST, token, *args))
        return None if found is None else _state(found)

    def add_extra(self, key: str, limit: int, change: int, at: datetime) -> CounterState | None:
        """See `CounterStore.add_extra`."""
        token = secrets.token_hex(12)
        args = (key, limit, change, _stamp(at), at.isoformat(), COUNT_MAX)
        found = json.loads(self._run(_ADD_EXTRA, token, *args))
        return None if found is None else _state(found)

    def reset(self, prefix: str, at: datetime, *, exact: bool = False) -> int:
        """See `CounterStore.reset`."""
        args = (prefix, at.isoformat(), "1" if exact else "0")
        return int(self._run(_RESET, secrets.token_hex(12), *args))

    def counters_with_prefix(self, prefix: str) -> dict[str, CounterState]:
        """See `CounterStore.counters_with_prefix`."""
        return _counters(self._run(_COUNTERS_WITH_PREFIX, prefix))

    def counters(self) -> dict[str, CounterState]:
        """See `CounterStore.counters`."""
        return _counters(self._run(_COUNTERS))

    def audit(self) -> tuple[list[LedgerEntry], dict[str, CounterState]]:
        """See `LedgerStore.audit`: one script reads both."""
        lines, flat = self._run(_AUDIT)
        return _entries(lines), _counters(flat)

    # -- idempotency --------------------------------------------------------------------------

    def remember(self, key: str, fingerprint: str, result: str) -> str:
        """See `IdempotencyStore.remember`."""
        reply = self._run(_REMEMBER, key, fingerprint, result)
        if reply[0] == "conflict":
            raise IdempotencyConflict(key)
        return str(reply[1])

    def recall(self, key: str, fingerprint: str) -> str | None:
        """See `IdempotencyStore.recall`."""
        kept, result = self._call(lambda: self._client.hmget(self._base + "i:" + key, "f", "r"))
        if kept is None:
            return None
        if kept != fingerprint:
            raise IdempotencyConflict(key)
        return str(result)

    # -- ledger -------------------------------------------------------------------------------

    def ledger(self) -> list[LedgerEntry]:
        """See `LedgerStore.ledger`."""
        return _entries(self._call(lambda: self._client.lrange(self._ledger, 0, -1)))

    # -- codes and promotions -----------------------------------------------------------------

    def add_codes(self, ref: str, codes: Sequence[str]) -> tuple[str, ...]:
        """See `CodeStore.add_codes`."""
        return self.add_code_sets([(ref, codes)])[0]

    def add_code_sets(
        self, assignments: Sequence[tuple[str, Sequence[str]]]
    ) -> list[tuple[str, ...]]:
        """See `CodeStore.add_code_sets`: one script per 5,000 codes."""
        answers: list[list[str]] = [[] for _ in assignments]
        batch: list[str] = []
        owners: list[int] = []  # which assignment each group of the batch belongs to
        size = 0

        def send() -> None:
            nonlocal batch, owners, size
            if batch:
                replies = json.loads(self._run(_ADD_CODE_SETS, secrets.token_hex(12), *batch))
                for owner, taken in zip(owners, replies, strict=True):
                    answers[owner].extend(taken or ())  # Lua's JSON writes [] as {}
            batch, owners, size = [], [], 0

        for index, (ref, codes) in enumerate(assignments):
            for start in range(0, max(len(codes), 1), _CODES_PER_SCRIPT):
                chunk = codes[start : start + _CODES_PER_SCRIPT]
                if size + len(chunk) > _CODES_PER_SCRIPT:
                    send()
                batch += [ref, str(len(chunk)), *chunk]
                owners.append(index)
                size += len(chunk)
        send()
        return [tuple(taken) for taken in answers]

    def remove_codes(self, ref: str, codes: Sequence[str]) -> tuple[str, ...]:
        """See `CodeStore.remove_codes`."""
        removed: list[str] = []
        for start in range(0, len(codes), _CODES_PER_SCRIPT):
            chunk = codes[start : start + _CODES_PER_SCRIPT]
            removed += self._run(_REMOVE_CODES, secrets.token_hex(12), ref, *chunk) or ()
        return tuple(removed)

    def code_owner(self, code: str) -> str | None:
        """See `CodeStore.code_owner`."""
        owner = self._call(lambda: self._client.hget(self._base + "codes", code))
        return None if owner is None else str(owner)

    def code_owners(self, codes: Sequence[str]) -> dict[str, str]:
        """See `CodeStore.code_owners`."""
        found: dict[str, str] = {}
        for start in range(0, len(codes), 5_000):
            chunk = list(codes[start : start + 5_000])
            owners = self._call(lambda c=chunk: self._client.hmget(self._base + "codes", c))
            found.update((code, owner) for code, owner in zip(chunk, owners, strict=True) if owner)
        return found

    def code_map(self) -> dict[str, str]:
        """See `CodeStore.code_map`."""
        return dict(self._call(lambda: self._client.hgetall(self._base + "codes")))

    def codes(self, ref: str, offset: int = 0, limit: int | None = None) -> list[str]:
        """See `CodeStore.codes` (Redis keeps them unsorted: sorted here)."""
        ordered = sorted(self._call(lambda: self._client.smembers(self._base + "pc:" + ref)))
        return ordered[offset:] if limit is None else ordered[offset : offset + limit]

    def code_count(self, ref: str) -> int:
        """See `CodeStore.code_count`."""
        return int(self._call(lambda: self._client.scard(self._base + "pc:" + ref)))

    def put_promotion(self, ref: str, document: str) -> None:
        """See `PromotionStore.put_promotion`."""
        self.put_promotions([(ref, document)])

    def put_promotions(self, documents: Sequence[tuple[str, str]]) -> None:
        """See `PromotionStore.put_promotions`: one script per 500 documents."""
        for start in range(0, len(documents), 500):
            args: list[str] = []
            for ref, document in documents[start : start + 500]:
                args += [ref, document, document_version(document)]
            self._run(_PUT_PROMOTIONS, *args)

    def swap_promotion(self, ref: str, expected: str | None, document: str) -> bool:
        """See `PromotionStore.swap_promotion`."""
        args = (ref, _optional(expected), document, document_version(document))
        return bool(int(self._run(_SWAP_PROMOTION, secrets.token_hex(12), *args)))

    def retire_promotion(self, ref: str, expected: str, document: str) -> int | None:
        """See `PromotionStore.retire_promotion`."""
        args = (ref, expected, document, document_version(document))
        freed = int(self._run(_RETIRE_PROMOTION, secrets.token_hex(12), *args))
        return None if freed < 0 else freed

    def promotion(self, ref: str) -> str | None:
        """See `PromotionStore.promotion`."""
        document = self._call(lambda: self._client.hget(self._base + "promotions", ref))
        return None if document is None else str(document)

    def promotion_version(self, ref: str) -> str | None:
        """See `PromotionStore.promotion_version`."""
        version = self._call(lambda: self._client.hget(self._base + "versions", ref))
        return None if version is None else str(version)

    def promotion_refs(self, prefix: str = "") -> list[str]:
        """See `PromotionStore.promotion_refs` (a lexical range of the refs' sorted set)."""
        low, high = ("-", "+") if not prefix else ("[" + prefix, "(" + prefix + "\U0010ffff")
        found = self._call(lambda: self._client.zrangebylex(self._base + "refs", low, high))
        return [ref for ref in found if ref.startswith(prefix)]

    def promotion_documents(self, prefix: str = "") -> dict[str, str]:
        """See `PromotionStore.promotion_documents`."""
        if not prefix:
            return dict(self._call(lambda: self._client.hgetall(self._base + "promotions")))
        refs = self.promotion_refs(prefix)
        documents: dict[str, str] = {}
        for start in range(0, len(refs), 1000):
            chunk = refs[start : start + 1000]
            found = self._call(lambda c=chunk: self._client.hmget(self._base + "promotions", c))
            documents.update((r, d) for r, d in zip(chunk, found, strict=True) if d is not None)
        return documents

    def close(self) -> None:
        """Close this store's connections."""
        self._client.close()
