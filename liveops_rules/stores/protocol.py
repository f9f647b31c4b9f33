"""What a redemption store must do, as small Protocols, and the values that cross them.

Every method is one atomic operation: a store checks, counts, records the reservation,
appends to the ledger and claims the idempotency key all at once or not at all. The
accounting engine (`liveops_rules.accounting`) decides which counters an operation touches and
their limits; a store knows nothing of promotions beyond opaque keys and JSON documents.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple, Protocol, runtime_checkable

import attrs

__all__ = [
    "SETTLED",
    "STORE_OPERATIONS",
    "CodeStore",
    "CountRequest",
    "CountResult",
    "CounterSpec",
    "CounterState",
    "CounterStore",
    "IdempotencyConflict",
    "IdempotencyStore",
    "LedgerEntry",
    "LedgerStore",
    "OperationCollision",
    "PromotionStore",
    "RedemptionStore",
    "Requirement",
    "SettleAction",
    "SettleResult",
    "Status",
    "document_version",
]


def document_version(document: str) -> str:
    """The version of a promotion document: the engine evaluates a version and the store
    counts only while that version is still the one it keeps."""
    return hashlib.blake2b(document.encode(), digest_size=12).hexdigest()


class Status(enum.StrEnum):
    """Where a reservation stands."""

    HELD = "held"
    COMMITTED = "committed"
    RELEASED = "released"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class SettleAction(enum.StrEnum):
    """What to do with a reservation or redemption."""

    COMMIT = "commit"
    RELEASE = "release"
    CANCEL = "cancel"


# CounterSpec and CountRequest are NamedTuples rather than attrs classes: one redeem makes
# several of them, and building frozen attrs instances costs several times more.
class CounterSpec(NamedTuple):
    """A counter an operation touches: its key and its configured limit (None: unlimited,
    counted but never refused)."""

    key: str
    limit: int | None


SETTLED: dict[SettleAction, tuple[Status, ...]] = {
    SettleAction.COMMIT: (Status.COMMITTED,),
    SettleAction.RELEASE: (Status.RELEASED, Status.EXPIRED),
    SettleAction.CANCEL: (Status.CANCELLED,),
}
"""The statuses in which each settle action has succeeded (repeating one is not an error)."""


@attrs.frozen
class CounterState:
    """A counter's `used` and `reserved` amounts, the admin `extra` allowance and the last
    `limit` it was counted against."""

    used: int = 0
    reserved: int = 0
    extra: int = 0
    limit: int | None = None

    @property
    def available(self) -> int | None:
        """What is left: limit + extra - used - reserved (None when unlimited)."""
        if self.limit is None:
            return None
        return self.limit + self.extra - self.used - self.reserved


class Requirement(NamedTuple):
    """A precondition of a count on another counter: its committed `used` must be at least
    `at_least` (a balance that reaches a step's price, a previous step claimed)."""

    key: str
    at_least: int


class CountRequest(NamedTuple):
    """Reserve (when `expires_at` is set) or redeem outright `quantity` on every counter.

    `fingerprint` and `result` matter only with an `idempotency_key`: the request's identity,
    and the JSON text to keep under the key if the operation succeeds. `version` is the
    `document_version` of the promotion document the engine evaluated (or of the document
    `version_of` names): when the store keeps
    another one it counts nothing and answers `stale` (None: count without that check), as it
    does when `code` is not (or no longer) a code of `promotion`. With
    `absent_ok`, a store that keeps no document for the promotion counts anyway (a promotion
    the caller holds that was never imported).
    """

    operation_id: str
    idempotency_key: str | None
    fingerprint: str
    at: datetime
    expires_at: datetime | None
    user_id: str
    promotion: str
    code: str | None
    quantity: int
    counters: tuple[CounterSpec, ...]
    result: str
    version: str | None = None
    absent_ok: bool = False
    requires: tuple[Requirement, ...] = ()
    """Other counters' uses this count needs, checked in the same atomic step."""
    version_of: str | None = None
    """The document whose version `version` is (None: `promotion`'s): a count whose
    configuration is kept in another document than the one it is counted for."""

    @property
    def versioned(self) -> str:
        """The ref of the document `version` is checked against."""
        return self.promotion if self.version_of is None else self.version_of


@attrs.frozen(kw_only=True)
class CountResult:
    """The outcome: counted, refused by a counter, the first result of an earlier try, or
    `stale` (the promotion changed since the engine evaluated it; nothing counted)."""

    ok: bool
    stale: bool = False
    exhausted: CounterSpec | None = None
    state: CounterState | None = None
    """The exhausted counter's state when refused."""
    replayed: str | None = None
    """The stored result when the idempotency key had been used by the same request."""
    unmet: Requirement | None = None
    """The first requirement that was not met (nothing counted), with `state` its counter's."""


@attrs.frozen(kw_only=True)
class SettleResult:
    """The outcome of commit/release/cancel: `status` after it; `ok` False with the status
    that prevented it (or None for an unknown id)."""

    ok: bool
    status: Status | None
    quantity: int = 0
    promotion: str | None = None
    user_id: str | None = None
    code: str | None = None
    changed: bool = False
    """Whether this call moved the operation to `status` (not an earlier call)."""


@attrs.frozen(kw_only=True)
class LedgerEntry:
    """One line of the append-only ledger, with the change it made to each counter."""

    seq: int
    at: datetime
    event: str
    operation_id: str | None
    user_id: str | None
    promotion: str | None
    code: str | None
    quantity: int
    idempotency_key: str | None
    deltas: tuple[tuple[str, int, int, int], ...]
    """(counter key, change of used, change of reserved, change of extra) for each counter."""


class IdempotencyConflict(Exception):  # noqa: N818 - the name says what happened
    """An idempotency key was reused for a different request (internal to stores)."""


class OperationCollision(Exception):  # noqa: N818 - the name says what happened
    """A count's operation id is already the id of another operation (internal to stores):
    never taken for a replay of this one."""


class CounterStore(Protocol):
    """Counters with holds, checked and counted atomically."""

    def count(self, request: CountRequest) -> CountResult:
        """Atomically: replay an earlier result for the idempotency key; or answer `stale`
        if the promotion's version is not `request.version` or the code is no longer the
        promotion's; or reclaim expired holds as needed, check every requirement and every
        counter, count them all and record the operation with each counter's epoch. Raises
        OperationCollision when another operation has its id."""
        ...

    def settle(self, action: SettleAction, operation_id: str, at: datetime) -> SettleResult:
        """Commit or release a hold, or cancel a committed redemption, atomically. Only the
        counters still in the epoch the operation was counted in change: a reset has already
        forgiven what it counted in the others."""
        ...

    def counter(self, key: str, at: datetime) -> CounterState:
        """A counter's state at `at` (expired holds on it reclaimed first)."""
        ...

    def adjust(self, key: str, limit: int, available: int, at: datetime) -> CounterState | None:
        """Set the counter's `extra` so that `available` remain, atomically; None (nothing
        written) when limit + extra would pass COUNT_MAX."""
        ...

    def add_extra(self, key: str, limit: int, change: int, at: datetime) -> CounterState | None:
        """Change `extra` by `change` unless availability would drop below 0 or limit + extra
        pass COUNT_MAX (then None, nothing written)."""
        ...

    def reset(self, prefix: str, at: datetime, *, exact: bool = False) -> int:
        """Forgive everything counted on every counter whose key starts with `prefix` (with
        `exact`: whose key is `prefix`): its
        use, its holds in flight and its extra allowance go to 0 and its epoch moves on (held
        operations can still be committed or released, without changing it); returns how
        many counters changed."""
        ...

    def counters(self) -> dict[str, CounterState]:
        """Every counter, as it is (for checks)."""
        ...

    def counters_with_prefix(self, prefix: str) -> dict[str, CounterState]:
        """The counters whose key starts with `prefix`, as they are (holds not reclaimed)."""
        ...


class IdempotencyStore(Protocol):
    """Results kept under idempotency keys."""

    def remember(self, key: str, fingerprint: str, result: str) -> str:
        """Keep `result` under `key` unless a result is already there; return the kept one.
        Raises IdempotencyConflict when the key holds another request's result."""
        ...

    def recall(self, key: str, fingerprint: str) -> str | None:
        """The result kept under `key`, or None. Raises IdempotencyConflict on a mismatch."""
        ...


class LedgerStore(Protocol):
    """The append-only record of every change to a counter."""

    def ledger(self) -> list[LedgerEntry]:
        """The whole ledger, oldest first."""
        ...

    def audit(self) -> tuple[list[LedgerEntry], dict[str, CounterState]]:
        """The whole ledger and every counter, read at one moment (a consistent snapshot,
        while other clients go on counting)."""
        ...


class CodeStore(Protocol):
    """Codes, unique across every promotion."""

    def add_codes(self, ref: str, codes: Sequence[str]) -> tuple[str, ...]:
        """Give the codes not yet taken by any promotion to `ref`; return those already taken
        (by another promotion or by `ref` itself)."""
        ...

    def add_code_sets(
        self, assignments: Sequence[tuple[str, Sequence[str]]]
    ) -> list[tuple[str, ...]]:
        """`add_codes` for many promotions in one go (one transaction where the store has
        them): the codes already taken, per assignment."""
        ...

    def remove_codes(self, ref: str, codes: Sequence[str]) -> tuple[str, ...]:
        """Take these codes from `ref` (they may then be given to any promotion); return those
        removed (the others were not `ref`'s)."""
        ...

    def code_owner(self, code: str) -> str | None:
        """The ref of the promotion that owns `code`."""
        ...

    def code_owners(self, codes: Sequence[str]) -> dict[str, str]:
        """The owner of each of these codes that has one."""
        ...

    def code_map(self) -> dict[str, str]:
        """Every code with the ref of its promotion."""
        ...

    def codes(self, ref: str, offset: int = 0, limit: int | None = None) -> list[str]:
        """The codes of `ref`, sorted: `limit` of them from `offset` (all when None)."""
        ...

    def code_count(self, ref: str) -> int:
        """How many codes `ref` has."""
        ...


class PromotionStore(Protocol):
    """Promotion configuration, as JSON documents."""

    def put_promotion(self, ref: str, document: str) -> None:
        """Keep a promotion's JSON document under `ref` (replacing an older one)."""
        ...

    def put_promotions(self, documents: Sequence[tuple[str, str]]) -> None:
        """`put_promotion` for many (ref, document) pairs in one go (one transaction where
        the store has them)."""
        ...

    def swap_promotion(self, ref: str, expected: str | None, document: str) -> bool:
        """Keep `document` under `ref` only while the document kept there has the version
        `expected` (None: while there is none), atomically; whether it did."""
        ...

    def retire_promotion(self, ref: str, expected: str, document: str) -> int | None:
        """While `ref`'s document has the version `expected`: replace it with `document` (a
        tombstone) and free every code of `ref`, atomically; how many codes were freed, or
        None (nothing done) when the version differs."""
        ...

    def promotion(self, ref: str) -> str | None:
        """The promotion document kept under `ref`."""
        ...

    def promotion_version(self, ref: str) -> str | None:
        """The `document_version` of the document kept under `ref` (a small read: whether a
        copy loaded earlier is still current)."""
        ...

    def promotion_refs(self, prefix: str = "") -> list[str]:
        """Every document ref kept that starts with `prefix`, sorted."""
        ...

    def promotion_documents(self, prefix: str = "") -> dict[str, str]:
        """Every document kept whose ref starts with `prefix`, by ref."""
        ...


@runtime_checkable
class RedemptionStore(
    CounterStore, IdempotencyStore, LedgerStore, CodeStore, PromotionStore, Protocol
):
    """Everything the accounting engine needs from a store."""

    def close(self) -> None:
        """Release connections and files."""
        ...


STORE_OPERATIONS: frozenset[str] = frozenset(
    name
    for klass in RedemptionStore.__mro__
    if klass.__module__ == __name__
    for name, value in vars(klass).items()
    if not name.startswith("_") and callable(value) and name != "close"
)
"""The names of RedemptionStore's methods an async store performs (every one but `close`)."""
