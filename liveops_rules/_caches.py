"""Bounded memo dicts shared by the indexes, safe to use from many threads at once."""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Hashable
from typing import Any, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def remember(cache: dict[K, V], key: K, value: V, limit: int) -> V:
    """Keep `value` under `key`, first forgetting the oldest entry when `cache` holds `limit`.

    Another thread may forget the same oldest entry, or change the dict, between reading it
    and deleting it; that thread did the forgetting, so the error is ignored.
    """
    if len(cache) >= limit:
        with contextlib.suppress(KeyError, RuntimeError, StopIteration):
            del cache[next(iter(cache))]
    cache[key] = value
    return value


class ByteBudget:
    """A memory budget shared by several memo dicts: entries are costed in bytes, and the
    oldest entries (of any of the dicts) are forgotten once the costs exceed `limit`.

    Reading a dict needs nothing from the budget (`cache.get(key)`); only `keep` changes the
    dicts, under a lock, so that the running total stays exact when many threads fill them.
    An entry costing more than the whole budget is not kept.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(0, limit)
        self.used = 0
        self._order: deque[tuple[dict[Any, Any], Hashable, int]] = deque()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._order)

    def keep(self, cache: dict[K, V], key: K, value: V, cost: int) -> V:
        """Keep `value` under `key` in `cache`, which only this budget may change."""
        if cost > self.limit:
            return value
        with self._lock:
            if key in cache:  # another thread computed it meanwhile
                return value
            self.used += cost
            order = self._order
            while self.used > self.limit:
                oldest, old_key, old_cost = order.popleft()
                del oldest[old_key]
                self.used -= old_cost
            order.append((cache, key, cost))
            cache[key] = value
        return value
