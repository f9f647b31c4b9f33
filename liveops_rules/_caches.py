"""Bounded memo dicts shared by the indexes, safe to use from many threads at once."""

from __future__ import annotations

import contextlib
from collections.abc import Hashable
from typing import TypeVar

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
