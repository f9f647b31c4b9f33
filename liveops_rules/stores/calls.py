"""A store call as a value, and the async interface of stores: what the accounting engine's
steps ask for and what an async driver awaits."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import MappingProxyType, TracebackType
from typing import Any, NamedTuple, Protocol, Self

from liveops_rules.errors import ValidationError

__all__ = ["AsyncClosing", "AsyncStore", "OnAsyncStore", "StoreCall", "call"]

_NO_KEYWORDS: Mapping[str, Any] = MappingProxyType({})


class StoreCall(NamedTuple):
    """One call asked of a store: the `RedemptionStore` method by name and its arguments."""

    method: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = _NO_KEYWORDS


def call(method: str, *args: Any, **kwargs: Any) -> StoreCall:
    """The StoreCall of `store.method(*args, **kwargs)`."""
    # tuple.__new__ directly: a NamedTuple's own __new__ is a Python call, on every step.
    return tuple.__new__(
        StoreCall, (method, args, MappingProxyType(kwargs) if kwargs else _NO_KEYWORDS)
    )


class AsyncStore(Protocol):
    """A store behind the async interface: it performs a StoreCall when awaited, with the
    answer (or the exception) of the same `RedemptionStore` method."""

    async def perform(self, call: StoreCall) -> Any:
        """The answer of `call.method(*call.args, **call.kwargs)` on the store."""

    async def aclose(self) -> None:
        """Close the store once its calls in flight are done."""


class AsyncClosing(ABC):
    """`async with` for what holds an async store: `aclose` on the way out."""

    @abstractmethod
    async def aclose(self) -> None:
        """Close it."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()


class OnAsyncStore(AsyncClosing):
    """What drives its steps on an async store: `store`, refused unless it is one, and
    `aclose` closing it."""

    def __init__(self, store: AsyncStore) -> None:
        if not callable(getattr(store, "perform", None)):
            raise ValidationError.single("store", "an async store (open_async_store)", store)
        self.store = store

    async def aclose(self) -> None:
        """Close the store once the calls in flight are done."""
        await self.store.aclose()
