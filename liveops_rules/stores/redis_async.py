"""AsyncRedisStore: the Redis store on redis.asyncio, for `AsyncAccounting`.

It sends the same scripts with the same arguments as `RedisStore` (both drive `RedisSteps`),
so the two share keys and data: a sync and an async store with the same URL and prefix are
one store. Its connections belong to the event loop that first uses it; use it on that loop.

Retries are the sync store's: a lost connection or a timeout is sent again, after pauses
that do not block the loop, until `retry_window` seconds have passed; then a write has an
unknown outcome (`OutcomeUnknownError`). A task cancelled while its command is in flight
leaves the command to Redis: a script runs whole or not at all there, so the store holds the
operation once or not at all, as after a lost reply, and a retry with the same idempotency key
settles which.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError

from liveops_rules.errors import ValidationError
from liveops_rules.stores.async_driver import AsyncDriver
from liveops_rules.stores.redis_steps import (
    TRANSIENT,
    Commands,
    RedisCommand,
    RedisSettings,
    RedisSteps,
    RetryWindow,
    T,
    failure,
)
from liveops_rules.stores.redis_store import RedisStore

__all__ = ["AsyncRedisStore"]


class AsyncRedisStore(AsyncDriver):
    """A Redis store behind the async interface (`AsyncStore`), on redis.asyncio; it takes
    `RedisStore`'s arguments. Nothing is sent until its first call, which first checks the
    schema as `RedisStore` does when opened (so an unreachable server or another schema
    version is reported there). It belongs to the event loop of its first call: another
    loop is refused."""

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
        super().__init__()
        self.settings = settings
        self.prefix = settings.prefix
        self.steps = RedisSteps(settings.prefix)
        self._where = settings.where
        self._retry_window = settings.retry_window
        self._client: redis.asyncio.Redis = settings.client(
            redis.asyncio.Redis.from_url, Retry(NoBackoff(), 0)
        )

    @classmethod
    def like(cls, store: RedisStore) -> AsyncRedisStore:
        """An async store on the same server and keys as the sync `store`."""
        if not isinstance(store, RedisStore):
            raise ValidationError.single("store", "a RedisStore", store)
        settings = store.settings
        return cls(
            settings.url,
            prefix=settings.prefix,
            retry_window=settings.retry_window,
            socket_timeout=settings.socket_timeout,
        )

    async def _open(self) -> None:
        checks = self.steps.check_schema(self._where)
        await self._drive(checks, next(checks))

    async def _drive(self, commands: Commands[T], command: RedisCommand) -> T:
        """Send an operation's commands from `command` (its first), each retried within
        the window; its result."""
        try:
            while True:
                command = commands.send(await self._send(command))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        finally:
            commands.close()

    async def _send(self, command: RedisCommand) -> Any:
        """One command, sent again on connection loss and timeouts while the window lasts
        (every command may safely run twice: reads, idempotent writes, scripts)."""
        window = RetryWindow(self._retry_window)
        while True:
            try:
                return await self._once(command)
            except TRANSIENT as error:
                pause = window.pause()
                if pause is None:
                    raise failure(
                        error, self._where, writes=command.writes, window=self._retry_window
                    ) from None
                await asyncio.sleep(pause)
            except redis.RedisError as error:
                raise failure(
                    error, self._where, writes=command.writes, window=self._retry_window
                ) from None

    async def _once(self, command: RedisCommand) -> Any:
        method = getattr(self._client, command.name)
        try:
            return await method(*command.args, **dict(command.options))
        except NoScriptError:  # after SCRIPT FLUSH, a restart or a failover
            if command.source is None:
                raise
            await self._client.script_load(command.source)
            return await method(*command.args)

    async def _close(self) -> None:
        await self._client.aclose()

    def __repr__(self) -> str:
        return f"AsyncRedisStore({self._where}, prefix={self.prefix!r})"
