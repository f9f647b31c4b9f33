"""What the async server stores (Redis, PostgreSQL) share: one event loop per store, each call
an operation of the store's steps started before any I/O, the store opened at its first call,
and closing that waits for the calls in flight."""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from collections.abc import Generator
from typing import Any

from liveops_rules.errors import ValidationError
from liveops_rules.stores.calls import AsyncClosing, StoreCall
from liveops_rules.stores.protocol import STORE_OPERATIONS

__all__ = ["AsyncDriver"]


class AsyncDriver(AsyncClosing):
    """An async store driving a steps object (`steps`, whose methods are the store
    operations as generators): `perform` refuses what it cannot do before any I/O, opens the
    store at the first call (`_open`, once, under a lock) and drives the operation (`_drive`).
    It belongs to the event loop of its first call."""

    steps: Any

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Lock | None = None
        self._opened = False
        self._closed = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @abstractmethod
    async def _open(self) -> None:
        """Connect and check the store (called once, before the first operation)."""

    @abstractmethod
    async def _drive(self, operation: Generator[Any, Any, Any], first: Any) -> Any:
        """Perform an operation's steps from `first` (its first); its result."""

    @abstractmethod
    async def _close(self) -> None:
        """Close the connections."""

    def _bind(self) -> None:
        """Refuse a closed store and another loop than the first call's; new per-loop state
        (`_bound`) on the first call."""
        if self._closed:
            raise ValidationError.single("store", "an open store", "a closed one")
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._loop is not None:  # its connections and locks are the first loop's
                raise ValidationError.single(
                    "store", "used on the event loop that first used it", "another loop"
                )
            self._loop = loop
            self._opening = asyncio.Lock()
            self._bound()

    def _bound(self) -> None:
        """What a store makes for its loop at its first call (nothing by default)."""

    async def perform(self, call: StoreCall) -> Any:
        """See `AsyncStore.perform`."""
        self._bind()
        if call.method not in STORE_OPERATIONS:
            raise ValidationError.single("call", "a RedemptionStore method", call.method)
        operation = getattr(self.steps, call.method)(*call.args, **call.kwargs)
        try:
            first = next(operation)  # bad arguments fail here, before anything is sent
        except StopIteration as done:  # nothing to send (no codes to add, say)
            return done.value
        self._in_flight += 1
        self._idle.clear()
        try:
            if not self._opened:
                assert self._opening is not None
                async with self._opening:
                    if not self._opened:
                        await self._open()
                        self._opened = True
            return await self._drive(operation, first)
        finally:
            operation.close()
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()

    async def aclose(self) -> None:
        """Refuse new calls, wait for those in flight (each command or transaction of theirs
        ends within its retry window), then close the connections (also when the wait is
        cancelled)."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._idle.wait()
        finally:
            await self._close()
