"""Sets of small non-negative integers as Python ints (bit i set = member i)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def bitset(members: Iterable[int], size: int) -> int:
    """The bitset of `members`, all in range(size)."""
    buffer = bytearray((size + 7) // 8)
    for member in members:
        buffer[member >> 3] |= 1 << (member & 7)
    return int.from_bytes(buffer, "little")


def members(bits: int) -> Iterator[int]:
    """The members of a non-negative bitset, smallest first.

    Scans the binary text with str.find, so the cost grows with the number of members rather
    than with their number times the width of the set.
    """
    if bits <= 0:
        return
    text = bin(bits)[:1:-1]  # least significant bit first, without the "0b"
    find = text.find
    position = find("1")
    while position >= 0:
        yield position
        position = find("1", position + 1)
