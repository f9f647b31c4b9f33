"""The accounting engine without I/O (the sans-I/O pattern of h11 and h2).

Each operation is written once, as a generator of steps: it yields a `StoreCall` ("count
these", "read that document") and is sent the store's answer, or has the store's exception
thrown in at that point. It never touches a store itself. `run_steps` performs the calls on a
store synchronously (that is `Accounting`); `run_steps_async` awaits them on an async store
(that is `AsyncAccounting`). So the decisions (which counters an operation touches, versions,
refusals, idempotency fingerprints) exist once, whatever drives them.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Generator
from typing import Any, Concatenate, ParamSpec, Protocol, TypeAlias, TypeVar

from liveops_rules.stores.calls import AsyncStore, StoreCall, call

__all__ = [
    "AsyncStore",
    "Steps",
    "StoreCall",
    "async_operation",
    "call",
    "run_steps",
    "run_steps_async",
    "sync_operation",
]

T = TypeVar("T")
P = ParamSpec("P")

Steps: TypeAlias = Generator[StoreCall, Any, T]
"""An operation as steps: yields StoreCalls, is sent their answers, returns its result."""


def run_steps(steps: Steps[T], store: object) -> T:
    """Perform an operation's steps on a (synchronous) RedemptionStore; its result."""
    send = steps.send
    try:
        wanted = send(None)
        while True:
            method, args, kwargs = wanted
            try:
                if kwargs:
                    answer = getattr(store, method)(*args, **kwargs)
                else:
                    answer = getattr(store, method)(*args)
            except GeneratorExit:
                raise
            except BaseException as error:  # the operation decides what it means (an
                # interrupt too: its clean-up, such as releasing holds, runs as it did)
                wanted = steps.throw(error)
            else:
                wanted = send(answer)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        steps.close()


async def run_steps_async(steps: Steps[T], store: AsyncStore) -> T:
    """Perform an operation's steps on an AsyncStore; its result. A task cancelled while a
    call is in flight leaves that call to the store (applied once, or not at all, as a lost
    reply would) and takes no further step."""
    try:
        wanted = next(steps)
        while True:
            try:
                answer = await store.perform(wanted)
            except Exception as error:
                wanted = steps.throw(error)
            else:
                wanted = steps.send(answer)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        steps.close()


class _Driven(Protocol):
    steps: Any
    store: Any


def _returning(operation: Callable[..., Any]) -> inspect.Signature:
    """The operation's signature as its API shows it: returning what its steps return."""
    signature = inspect.signature(operation)
    shown = signature.return_annotation
    if isinstance(shown, str) and shown.startswith("Steps[") and shown.endswith("]"):
        shown = shown[len("Steps[") : -1]
    return signature.replace(return_annotation=shown)


def _presented(run: Callable[..., Any], operation: Callable[..., Any]) -> None:
    # functools.wraps gives the name and docs; the signature and annotations are the API's.
    signature = _returning(operation)
    run.__signature__ = signature  # type: ignore[attr-defined]
    run.__annotations__ = {**operation.__annotations__, "return": signature.return_annotation}


def sync_operation(
    operation: Callable[Concatenate[Any, P], Steps[T]],
) -> Callable[Concatenate[Any, P], T]:
    """A method running `operation` (a method of the steps' class) on `self.steps`, its
    calls performed on `self.store`."""

    @functools.wraps(operation)
    def run(self: _Driven, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return run_steps(operation(self.steps, *args, **kwargs), self.store)

    _presented(run, operation)
    return run


def async_operation(
    operation: Callable[Concatenate[Any, P], Steps[T]],
) -> Callable[Concatenate[Any, P], Awaitable[T]]:
    """A coroutine method running `operation` on `self.steps`, its calls awaited on
    `self.store` (an AsyncStore)."""

    @functools.wraps(operation)
    async def run(self: _Driven, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await run_steps_async(operation(self.steps, *args, **kwargs), self.store)

    _presented(run, operation)
    return run
