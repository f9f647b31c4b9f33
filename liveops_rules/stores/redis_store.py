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
import json
import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError
from redis.retry import Retry

from liveops_rules.errors import OutcomeUnknownError, StoreError, ValidationError
from liveops_rules.stores import _redis_scripts as scripts
from liveops_rules.stores.protocol import (
    SETTLED,
    CounterSpec,
    CounterState,
    CountRequest,
    CountResult,
    IdempotencyConflict,
    LedgerEntry,
    SettleAction,
    SettleResult,
    Status,
    document_version,
)

__all__ = ["SCHEMA_VERSION", "RedisStore"]

SCHEMA_VERSION = 1

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COUNTED = CountResult(ok=True)
_STALE = CountResult(ok=False, stale=True)
_CODES_PER_SCRIPT = 5_000  # keeps each script short: Redis serves no one else while it runs
_TRANSIENT = (redis.ConnectionError, redis.TimeoutError)


def _micros(at: datetime) -> str:
    delta = at - _EPOCH
    return str((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)


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
_ADD_CODES = _Script("add_codes", scripts.ADD_CODES)
_PUT_PROMOTION = _Script("put_promotion", scripts.PUT_PROMOTION)
_COUNTERS = _Script("counters", scripts.COUNTERS, writes=False)


def _optional(value: str | None) -> str:
    """An optional script argument: "" when absent, "=" + the value when present."""
    return "" if value is None else "=" + value


def _state(values: Sequence[Any]) -> CounterState:
    used, reserved, extra, limit = values
    return CounterState(int(used), int(reserved), int(extra), None if limit is None else int(limit))


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
        if not isinstance(retry_window, int | float) or retry_window < 0:
            raise ValidationError.single("retry_window", "seconds, 0 or more", retry_window)
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
        except ValueError as error:
            raise ValidationError.single("url", "a redis:// URL", f"{url} ({error})") from None
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
            if found != str(SCHEMA_VERSION):
                raise StoreError(
                    f"{self._where}, prefix {self.prefix!r}: schema version {found}, "
                    f"this library reads version {SCHEMA_VERSION}"
                )

    # -- talking to Redis ---------------------------------------------------------------------

    def _call(self, command: Any, *, writes: bool = False, resent: list[bool] | None = None) -> Any:
        """Run a command, retried within the window on connection loss and timeouts. Only
        for commands that may safely run twice (reads, idempotent writes, scripts). When the
        window passes, a command that `writes` has an unknown outcome; a read just failed.
        `resent`, when given, is set to [True] before every attempt after the first."""
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
                if resent is not None:
                    resent[0] = True
            except redis.ResponseError as error:
                raise StoreError(f"{self._where} refused the operation: {error}") from None
            except redis.RedisError as error:
                raise StoreError(f"{self._where}: {error}") from None

    def _run(self, script: _Script, *args: str | int, marks_resend: bool = False) -> Any:
        """Run a script (loading it when the server lacks it). With `marks_resend`, its first
        argument becomes "1" on every attempt after the first."""
        sent = list(args)
        resent = [False]

        def once() -> Any:
            if marks_resend and resent[0]:
                sent[0] = "1"
            try:
                return self._client.evalsha(script.sha, 1, self._ledger, self._base, *sent)
            except NoScriptError:  # after SCRIPT FLUSH, a restart or a failover
                self._client.script_load(script.source)
                return self._client.evalsha(script.sha, 1, self._ledger, self._base, *sent)

        return self._call(once, writes=script.writes, resent=resent)

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
            "0",  # becomes "1" when re-sent: only then can the operation exist already
            request.operation_id,
            _optional(request.idempotency_key),
            request.fingerprint,
            request.at.isoformat(),
            _micros(request.at),
            "" if request.expires_at is None else "=" + _micros(request.expires_at),
            request.user_id,
            request.promotion,
            _optional(request.code),
            quantity,
            request.result,
            _optional(request.version),
            json.dumps(keys, separators=(",", ":")),
            line,
        ]
        for counter in request.counters:
            args.append(counter.key)
            args.append("" if counter.limit is None else f"={counter.limit}")
        reply = self._run(_COUNT, *args, marks_resend=True)
        verdict = reply[0]
        if verdict == "counted":
            return _COUNTED
        if verdict == "stale":
            return _STALE
        if verdict == "replay":
            return CountResult(ok=True, replayed=reply[1])
        if verdict == "conflict":
            raise IdempotencyConflict(request.idempotency_key)
        spec: CounterSpec = request.counters[int(reply[1]) - 1]
        return CountResult(
            ok=False,
            exhausted=spec,
            state=CounterState(int(reply[2]), int(reply[3]), int(reply[4]), spec.limit),
        )

    def settle(self, action: SettleAction, operation_id: str, at: datetime) -> SettleResult:
        """See `CounterStore.settle`."""
        reply = self._run(_SETTLE, operation_id, action.value, _micros(at), at.isoformat())
        if reply[0] == "unknown":
            return SettleResult(ok=False, status=None)
        status = Status(reply[0])
        return SettleResult(
            ok=status in SETTLED[action],
            status=status,
            quantity=int(reply[1]),
            user_id=reply[2],
            promotion=reply[3],
            code=reply[4] if len(reply) > 4 else None,
        )

    def counter(self, key: str, at: datetime) -> CounterState:
        """See `CounterStore.counter`."""
        reply = self._run(_COUNTER, key, _micros(at), at.isoformat())
        return _state(reply)

    def adjust(self, key: str, limit: int, available: int, at: datetime) -> CounterState:
        """See `CounterStore.adjust`."""
        reply = self._run(
            _ADJUST, secrets.token_hex(12), key, limit, available, _micros(at), at.isoformat()
        )
        return _state(json.loads(reply))

    def add_extra(self, key: str, limit: int, change: int, at: datetime) -> CounterState | None:
        """See `CounterStore.add_extra`."""
        reply = self._run(
            _ADD_EXTRA, secrets.token_hex(12), key, limit, change, _micros(at), at.isoformat()
        )
        found = json.loads(reply)
        return None if found is None else _state(found)

    def reset(self, prefix: str, at: datetime) -> int:
        """See `CounterStore.reset`."""
        return int(self._run(_RESET, secrets.token_hex(12), prefix, at.isoformat()))

    def counters(self) -> dict[str, CounterState]:
        """See `CounterStore.counters`."""
        flat = self._run(_COUNTERS)
        return {flat[n]: _state(flat[n + 1 : n + 5]) for n in range(0, len(flat), 5)}

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
        lines = self._call(lambda: self._client.lrange(self._ledger, 0, -1))
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

    # -- codes and promotions -----------------------------------------------------------------

    def add_codes(self, ref: str, codes: Sequence[str]) -> tuple[str, ...]:
        """See `CodeStore.add_codes`."""
        taken: list[str] = []
        for start in range(0, len(codes), _CODES_PER_SCRIPT):
            batch = codes[start : start + _CODES_PER_SCRIPT]
            (found,) = json.loads(self._run(_ADD_CODES, secrets.token_hex(12), ref, *batch))
            taken.extend(found or ())  # Lua's JSON writes an empty list as {}
        return tuple(taken)

    def code_owner(self, code: str) -> str | None:
        """See `CodeStore.code_owner`."""
        owner = self._call(lambda: self._client.hget(self._base + "codes", code))
        return None if owner is None else str(owner)

    def codes(self, ref: str) -> list[str]:
        """See `CodeStore.codes`."""
        return sorted(self._call(lambda: self._client.smembers(self._base + "pc:" + ref)))

    def put_promotion(self, ref: str, document: str) -> None:
        """See `PromotionStore.put_promotion`."""
        self._run(_PUT_PROMOTION, ref, document, document_version(document))

    def promotion(self, ref: str) -> str | None:
        """See `PromotionStore.promotion`."""
        document = self._call(lambda: self._client.hget(self._base + "promotions", ref))
        return None if document is None else str(document)

    def promotion_refs(self) -> list[str]:
        """See `PromotionStore.promotion_refs`."""
        return sorted(self._call(lambda: self._client.hkeys(self._base + "promotions")))

    def close(self) -> None:
        """Close this store's connections."""
        self._client.close()
