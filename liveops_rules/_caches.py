"""Bounded memo dicts shared by the indexes, safe to use from many threads at once."""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Hashable
from typing import Any, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_ADMIT_WHEN_FULL = 1 / 8


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
    """A memory budget shared by several memo dicts: entries are costed in bytes and, once
    the costs would exceed `limit`, random entries (of any of the dicts) are forgotten.

    Random, not oldest first: a workload that asks for more values than fit, in the same
    order again and again, would find nothing cached after first-in-first-out eviction,
    and part of them after random eviction. When the budget is full, `admits` lets one new
    entry in eight be computed to be kept, so that a cache too small for its work does not
    spend every query replacing entries.

    Reading a dict needs nothing from the budget (`cache.get(key)`); only `keep` changes the
    dicts, under a lock, so that the running total stays exact when many threads fill them.
    An entry costing more than the whole budget is not kept.
    """

    def __init__(self, limit: int, seed: int = 0) -> None:
        self.limit = max(0, limit)
        self.used = 0
        self._entries: list[tuple[dict[Any, Any], Hashable, int]] = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def admits(self, cost: int) -> bool:
        """Whether an entry of `cost` bytes should be computed to be kept: when it fits,
        always; when the budget is full, now and then; when larger than it, never."""
        if cost > self.limit:
            return False
        return self.used + cost <= self.limit or self._random.random() < _ADMIT_WHEN_FULL

    def keep(self, cache: dict[K, V], key: K, value: V, cost: int) -> V:
        """Keep `value` under `key` in `cache`, which only this budget may change."""
        if cost > self.limit:
            return value
        with self._lock:
            if key in cache:  # another thread computed it meanwhile
                return value
            self.used += cost
            entries = self._entries
            pick = self._random.randrange
            while self.used > self.limit:
                chosen = pick(len(entries))
                entries[chosen], entries[-1] = entries[-1], entries[chosen]
                held, old_key, old_cost = entries.pop()
                del held[old_key]
                self.used -= old_cost
            entries.append((cache, key, cost))
            cache[key] = value
        return value
