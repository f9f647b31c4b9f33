"""RedisStore: counters shared by every machine that talks to one Redis primary (redis-py).

What it says to Redis is written once, in `redis_steps`, for this store and the async one
(`redis_async`); this module only sends it.

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

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError
from redis.retry import Retry

from liveops_rules.stores.protocol import (
    CounterState,
    CountRequest,
    CountResult,
    LedgerEntry,
    SettleAction,
    SettleResult,
)
from liveops_rules.stores.redis_steps import (
    SCHEMA_VERSION,
    TRANSIENT,
    Commands,
    RedisCommand,
    RedisSettings,
    RedisSteps,
    RetryWindow,
    T,
    failure,
)

__all__ = ["SCHEMA_VERSION", "RedisStore"]


class RedisStore:
    """A RedemptionStore on Redis (see the module's notes on retries, durability and slots).

    `url` is a redis-py URL (`redis://host:port/db`, `rediss://` for TLS, `unix://`); options
    redis-py reads from the URL (`socket_timeout=...`) apply, except its retries. `settings`
    is what it was opened with: `AsyncRedisStore.like(store)` opens the same keys.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "liveops",
        retry_window: float = 10.0,
        socket_timeout: float = 5.0,
    ) -> None:
        settings = RedisSettings(
            url, prefix=prefix, retry_window=retry_window, socket_timeout=socket_timeout
        )
        self.settings = settings
        self.prefix = settings.prefix
        self.steps = RedisSteps(settings.prefix)
        self._where = settings.where
        self._retry_window = settings.retry_window
        self._client: redis.Redis = settings.client(redis.Redis.from_url, Retry(NoBackoff(), 0))
        try:
            self._drive(self.steps.check_schema(self._where))
        except BaseException:
            self._client.close()
            raise

    # -- talking to Redis ---------------------------------------------------------------------

    def _drive(self, commands: Commands[T]) -> T:
        """Send an operation's commands, each retried within the window; its result."""
        try:
            command = next(commands)
            while True:
                command = commands.send(self._send(command))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        finally:
            commands.close()

    def _send(self, command: RedisCommand) -> Any:
        """One command, sent again on connection loss and timeouts while the window lasts
        (every command may safely run twice: reads, idempotent writes, scripts)."""
        window = RetryWindow(self._retry_window)
        while True:
            try:
                return self._once(command)
            except TRANSIENT as error:
                pause = window.pause()
                if pause is None:
                    raise failure(
                        error, self._where, writes=command.writes, window=self._retry_window
                    ) from None
                time.sleep(pause)
            except redis.RedisError as error:
                raise failure(
                    error, self._where, writes=command.writes, window=self._retry_window
                ) from None

    def _once(self, command: RedisCommand) -> Any:
        method = getattr(self._client, command.name)
        try:
            return method(*command.args, **dict(command.options))
        except NoScriptError:  # after SCRIPT FLUSH, a restart or a failover
            if command.source is None:
                raise
            self._client.script_load(command.source)
            return method(*command.args)

    # -- the RedemptionStore methods: each sends its steps (see RedisSteps) --------------------

    def count(self, request: CountRequest) -> CountResult:
        """See `CounterStore.count`."""
        return self._drive(self.steps.count(request))

    def settle(self, action: SettleAction, operation_id: str, at: datetime) -> SettleResult:
        """See `CounterStore.settle`."""
        return self._drive(self.steps.settle(action, operation_id, at))

    def counter(self, key: str, at: datetime) -> CounterState:
        """See `CounterStore.counter`."""
        return self._drive(self.steps.counter(key, at))

    def adjust(self, key: str, limit: int, available: int, at: datetime) -> CounterState | None:
        """See `CounterStore.adjust`."""
        return self._drive(self.steps.adjust(key, limit, available, at))

    def add_extra(self, key: str, limit: int, change: int, at: datetime) -> CounterState | None:
        """See `CounterStore.add_extra`."""
        return self._drive(self.steps.add_extra(key, limit, change, at))

    def reset(self, prefix: str, at: datetime, *, exact: bool = False) -> int:
        """See `CounterStore.reset`."""
        return self._drive(self.steps.reset(prefix, at, exact=exact))

    def counters_with_prefix(self, prefix: str) -> dict[str, CounterState]:
        """See `CounterStore.counters_with_prefix`."""
        return self._drive(self.steps.counters_with_prefix(prefix))

    def counters(self) -> dict[str, CounterState]:
        """See `CounterStore.counters`."""
        return self._drive(self.steps.counters())

    def audit(self) -> tuple[list[LedgerEntry], dict[str, CounterState]]:
        """See `LedgerStore.audit`: one script reads both."""
        return self._drive(self.steps.audit())

    def remember(self, key: str, fingerprint: str, result: str) -> str:
        """See `IdempotencyStore.remember`."""
        return self._drive(self.steps.remember(key, fingerprint, result))

    def recall(self, key: str, fingerprint: str) -> str | None:
        """See `IdempotencyStore.recall`."""
        return self._drive(self.steps.recall(key, fingerprint))

    def ledger(self) -> list[LedgerEntry]:
        """See `LedgerStore.ledger`."""
        return self._drive(self.steps.ledger())

    def add_codes(self, ref: str, codes: Sequence[str]) -> tuple[str, ...]:
        """See `CodeStore.add_codes`."""
        return self._drive(self.steps.add_codes(ref, codes))

    def add_code_sets(
        self, assignments: Sequence[tuple[str, Sequence[str]]]
    ) -> list[tuple[str, ...]]:
        """See `CodeStore.add_code_sets`: one script per 5,000 codes."""
        return self._drive(self.steps.add_code_sets(assignments))

    def remove_codes(self, ref: str, codes: Sequence[str]) -> tuple[str, ...]:
        """See `CodeStore.remove_codes`."""
        return self._drive(self.steps.remove_codes(ref, codes))

    def code_owner(self, code: str) -> str | None:
        """See `CodeStore.code_owner`."""
        return self._drive(self.steps.code_owner(code))

    def code_owners(self, codes: Sequence[str]) -> dict[str, str]:
        """See `CodeStore.code_owners`."""
        return self._drive(self.steps.code_owners(codes))

    def code_map(self) -> dict[str, str]:
        """See `CodeStore.code_map`."""
        return self._drive(self.steps.code_map())

    def codes(self, ref: str, offset: int = 0, limit: int | None = None) -> list[str]:
        """See `CodeStore.codes` (Redis keeps them unsorted: sorted here)."""
        return self._drive(self.steps.codes(ref, offset, limit))

    def code_count(self, ref: str) -> int:
        """See `CodeStore.code_count`."""
        return self._drive(self.steps.code_count(ref))

    def put_promotion(self, ref: str, document: str) -> None:
        """See `PromotionStore.put_promotion`."""
        return self._drive(self.steps.put_promotion(ref, document))

    def put_promotions(self, documents: Sequence[tuple[str, str]]) -> None:
        """See `PromotionStore.put_promotions`: one script per 500 documents."""
        return self._drive(self.steps.put_promotions(documents))

    def swap_promotion(self, ref: str, expected: str | None, document: str) -> bool:
        """See `PromotionStore.swap_promotion`."""
        return self._drive(self.steps.swap_promotion(ref, expected, document))

    def retire_promotion(self, ref: str, expected: str, document: str) -> int | None:
        """See `PromotionStore.retire_promotion`."""
        return self._drive(self.steps.retire_promotion(ref, expected, document))

    def promotion(self, ref: str) -> str | None:
        """See `PromotionStore.promotion`."""
        return self._drive(self.steps.promotion(ref))

    def promotion_version(self, ref: str) -> str | None:
        """See `PromotionStore.promotion_version`."""
        return self._drive(self.steps.promotion_version(ref))

    def promotion_refs(self, prefix: str = "") -> list[str]:
        """See `PromotionStore.promotion_refs` (a lexical range of the refs' sorted set)."""
        return self._drive(self.steps.promotion_refs(prefix))

    def promotion_documents(self, prefix: str = "") -> dict[str, str]:
        """See `PromotionStore.promotion_documents`."""
        return self._drive(self.steps.promotion_documents(prefix))

    def close(self) -> None:
        """Close this store's connections."""
        self._client.close()
