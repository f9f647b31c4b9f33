"""Operation ids, unique across the processes that share a store."""

from __future__ import annotations

import itertools
import os
import secrets
import threading
import weakref
from typing import ClassVar

__all__ = ["OperationIds"]


class OperationIds:
    """Operation ids: a random 64-bit prefix, then a counter; unique across the processes
    sharing a store without a system call per id. A child of `os.fork()` draws a new prefix
    before its first id, so pre-fork workers (gunicorn, uWSGI, multiprocessing) never repeat
    their parent's or each other's ids."""

    _all: ClassVar[weakref.WeakSet[OperationIds]] = weakref.WeakSet()
    _all_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._draw()
        with OperationIds._all_lock:
            OperationIds._all.add(self)

    def _draw(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count(1)

    def __call__(self) -> str:
        """A new id: fixed width, so ids of one engine sort by age."""
        return self._prefix + format(next(self._counter), "012x")

    @classmethod
    def _after_fork(cls) -> None:
        cls._all_lock = threading.Lock()  # a lock held by another thread at fork stays held
        for ids in list(cls._all):
            ids._draw()


os.register_at_fork(after_in_child=OperationIds._after_fork)
