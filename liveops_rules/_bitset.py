"""Sets of small non-negative integers as Python ints (bit i set = member i)."""

from __future__ import annotations

from array import array
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from liveops_rules._failing import Failing


def bitset(members: Iterable[int], size: int) -> int:
    """The bitset of `members`, all in range(size)."""
    buffer = bytearray((size + 7) // 8)
    for member in members:
        buffer[member >> 3] |= 1 << (member & 7)
    return int.from_bytes(buffer, "little")


_BYTE_MEMBERS = tuple(tuple(i for i in range(8) if byte >> i & 1) for byte in range(256))
_NONZERO = bytes([0] + [1] * 255)  # bytes.translate table: every non-zero byte to 1


def members(bits: int) -> list[int]:
    """The members of a non-negative bitset, smallest first, by the set's density.

    Each way costs differently (measured at 100,000 bits): taking the lowest bit costs a
    pass over the whole int per member, so it serves only a few members or a small set; a
    sparse set finds its non-zero bytes with `bytes.find` (C speed) in a translated copy;
    a middling one finds its "1"s in the binary text; a dense one reads every byte.
    """
    if bits <= 0:
        return []
    count = bits.bit_count()
    width = bits.bit_length()
    found: list[int] = []
    if count <= 4 or width <= 256:
        while bits:
            lowest = bits & -bits
            found.append(lowest.bit_length() - 1)
            bits ^= lowest
        return found
    add = found.extend
    table = _BYTE_MEMBERS
    if count * 2 >= width or count * 128 <= width:
        data = bits.to_bytes((width + 7) // 8, "little")
        if count * 2 >= width:  # dense: most bytes hold members
            for position, byte in enumerate(data):
                if byte:
                    base = position << 3
                    add([base + offset for offset in table[byte]])
            return found
        flags = data.translate(_NONZERO)  # sparse: skip the zero bytes in C
        find = flags.find
        position = find(1)
        while position >= 0:
            base = position << 3
            add([base + offset for offset in table[data[position]]])
            position = find(1, position + 1)
        return found
    text = bin(bits)[:1:-1]  # least significant bit first, without the "0b"
    find_text = text.find
    position = find_text("1")
    while position >= 0:
        found.append(position)
        position = find_text("1", position + 1)
    return found


class SetsByValue:
    """Sets of members kept per value: as bitsets when dense, as member lists when sparse.

    A bitset costs size/8 bytes however few its members; a sparse set is kept as its
    members (4 bytes each), which a query gathers (`collect`) with the rest of its members.
    """

    def __init__(self, groups: Mapping[Hashable, Sequence[int]], size: int) -> None:
        dense_from = max(1, size // 64)  # kept as a bitset once it costs at most 2 bytes a member
        self._sets: dict[Hashable, int | array[int]] = {
            value: bitset(found, size) if len(found) >= dense_from else _array(found)
            for value, found in groups.items()
        }

    def kept(self, value: Hashable) -> int | array[int]:
        """The members kept for `value` as they are kept: a bitset (0 when none) or the
        members of a sparse set."""
        return self._sets.get(value, 0)

    def collect(self, value: Hashable, failing: Failing) -> None:
        """Add the members kept for `value` to `failing`, without converting a sparse set."""
        found = self._sets.get(value, 0)
        if isinstance(found, int):
            if found:
                failing.dense |= found
        else:
            failing.members.extend(found)


def _array(found: Sequence[int]) -> array[int]:
    return found if isinstance(found, array) and found.typecode == "i" else array("i", found)


class PrefixBits:
    """The bitset of the first m members of a fixed sequence, for any m, quickly.

    Keeps the bitsets of the first 0, k, 2k, ... members (every `step` members) and adds
    the few members past the nearest checkpoint on demand. Each checkpoint costs about
    size/8 bytes: the caller's `step` weighs that memory against the members added.
    """

    def __init__(self, sequence: Sequence[int], size: int, step: int) -> None:
        self._sequence = _array(sequence)
        self._step = max(1, step)
        self._checkpoints = [0]
        buffer = bytearray((size + 7) // 8)
        for position, member in enumerate(self._sequence, 1):
            buffer[member >> 3] |= 1 << (member & 7)
            if position % self._step == 0:
                self._checkpoints.append(int.from_bytes(buffer, "little"))

    def __len__(self) -> int:
        return len(self._sequence)

    def collect(self, count: int, failing: Failing) -> None:
        """Add the first `count` members of the sequence to `failing`: the nearest
        checkpoint as a bitset, the members past it as members."""
        step = self._step
        checkpoint = count // step
        found = self._checkpoints[checkpoint]
        if found:
            failing.dense |= found
        start = checkpoint * step
        if start < count:
            failing.members.extend(self._sequence[start:count])


class PrefixParity:
    """The bitset of the members that occur an odd number of times among the first m of a
    fixed sequence (members may repeat), for any m, quickly: `PrefixBits` with XOR.

    Keeps the parities of the first 0, k, 2k, ... members (at most `max_checkpoints`) and
    toggles the few members past the nearest checkpoint on demand.
    """

    def __init__(self, sequence: Sequence[int], size: int, max_checkpoints: int = 256) -> None:
        self._sequence = list(sequence)
        self._size = size
        self._step = max(64, -(-len(self._sequence) // max_checkpoints))
        self._checkpoints = [0]
        buffer = bytearray((size + 7) // 8)
        for position, member in enumerate(self._sequence, 1):
            buffer[member >> 3] ^= 1 << (member & 7)
            if position % self._step == 0:
                self._checkpoints.append(int.from_bytes(buffer, "little"))

    def __len__(self) -> int:
        return len(self._sequence)

    def first(self, count: int) -> int:
        """The members occurring an odd number of times among the first `count`."""
        checkpoint = count // self._step
        found = self._checkpoints[checkpoint]
        rest = self._sequence[checkpoint * self._step : count]
        if not rest:
            return found
        buffer = bytearray((self._size + 7) // 8)
        for member in rest:
            buffer[member >> 3] ^= 1 << (member & 7)
        return found ^ int.from_bytes(buffer, "little")
