"""The promotions a query finds failing, gathered from every attribute, then made one bitset.

Turning a list of members into a bitset over P promotions costs a pass over P/8 bytes
however few the members are. A query asks up to one such conversion of each attribute and
operator; gathering their members here and converting them once, at the end, makes it one
conversion a query.

Most parts of an answer are bitsets kept by the index (a prefix checkpoint, the holders of
a kind of condition), ORed as they come. Members are the sparse rest. One part is a
difference: the promotions with an `eq` condition on an attribute, except those whose value
the user holds (`E - S`, S sparse). Rather than convert S on the spot, E goes with the other
such sets into `equal` and S's members into `rescues`; at the end a promotion named in
`rescues` leaves `equal` when every set it belongs to there named it (its count of rescues
equals the number of those sets that hold it).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence

__all__ = ["Failing", "shared_members"]

_CLEAR = tuple(255 ^ (1 << bit) for bit in range(8))
_SET = tuple(1 << bit for bit in range(8))
_FEW = 8  # up to this many members and rescues are set one by one (measured at 100,000 bits)


class Failing:
    """An accumulator of failing promotions: `dense` bitsets, sparse `members`, and the
    `eq` holders with the members each rescues (see the module docstring)."""

    __slots__ = ("dense", "equal", "groups", "members", "rescues")

    def __init__(self) -> None:
        self.dense = 0
        self.members: list[int] = []
        self.equal = 0
        self.groups: list[Hashable] = []
        self.rescues: list[int] = []

    def add_difference(self, group: Hashable, holders: int, rescued: Sequence[int]) -> None:
        """Fail `holders` except the `rescued` ones (all among them), for one `group`: an
        object naming these holders, the same in `shared_members` for every query."""
        self.equal |= holders
        self.groups.append(group)
        self.rescues.extend(rescued)

    def bits(self, size: int, shared: Mapping[int, tuple[Hashable, ...]]) -> int:
        """The bitset of everything gathered, over `size` promotions; `shared` names, for
        each promotion held by two or more groups, all of those groups."""
        failing = self.dense
        members = self.members
        equal = self.equal
        if not equal and not members:
            return failing
        rescued = self._rescued(shared) if equal else ()
        if len(members) + len(rescued) <= _FEW:
            # A few members cost less as single bits than a pass over P/8 bytes.
            for position in rescued:  # each once, and in `equal`
                equal ^= 1 << position
            for member in members:
                failing |= 1 << member
            return failing | equal
        if equal:
            buffer = bytearray(equal.to_bytes((size + 7) // 8, "little"))
            clear = _CLEAR
            for position in rescued:
                buffer[position >> 3] &= clear[position & 7]
        else:
            buffer = bytearray((size + 7) // 8)
        mark = _SET
        for member in members:
            buffer[member >> 3] |= mark[member & 7]
        return failing | int.from_bytes(buffer, "little")

    def _rescued(self, shared: Mapping[int, tuple[Hashable, ...]]) -> Sequence[int]:
        rescues = self.rescues
        if not shared:
            return rescues
        rescued: list[int] = []
        pending: dict[int, int] = {}
        for position in rescues:
            if position in shared:
                pending[position] = pending.get(position, 0) + 1
            else:
                rescued.append(position)
        if pending:
            here = set(self.groups)
            for position, count in pending.items():
                if count == sum(group in here for group in shared[position]):
                    rescued.append(position)
        return rescued


def shared_members(
    groups: Iterable[tuple[Hashable, Iterable[int]]],
) -> dict[int, tuple[Hashable, ...]]:
    """For each member of two or more of `groups` ((group, its members) pairs, each member
    once a group), the groups holding it."""
    holding: dict[int, list[Hashable]] = {}
    for group, found in groups:
        for member in found:
            holding.setdefault(member, []).append(group)
    return {member: tuple(held) for member, held in holding.items() if len(held) > 1}
