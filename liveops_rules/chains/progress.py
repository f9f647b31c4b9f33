"""The per-player progress every kind of chain keeps on a store's counters: configuration as
versioned documents, and counts with requirements, idempotency keys and LiveOps refusals.

A chain operation is one store count, so it carries every guarantee redemptions have: checked
and counted in one atomic step (a claim once, whatever the concurrency), its configuration's
version checked in that step, replayed for a repeated idempotency key, a line in the ledger,
resets as epochs. Nothing here knows the rules of a kind of chain.

Like the accounting engine, everything here is steps (see `accounting.steps`): methods that
touch the store are generators yielding `StoreCall`s, driven by a sync or an async driver.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from liveops_rules.accounting import AccountingError, OperationIds, Outcome, Refusal
from liveops_rules.accounting.core import tombstone_moment
from liveops_rules.accounting.steps import Steps, call
from liveops_rules.errors import StoreError, ValidationError
from liveops_rules.models import RewardItem, User
from liveops_rules.stores import CounterSpec, CountRequest, CountResult
from liveops_rules.stores.bounds import check_count, check_stored_moment, check_text, hold_expiry
from liveops_rules.stores.protocol import IdempotencyConflict, Requirement, document_version

__all__ = ["Documents", "Progress"]

T = TypeVar("T")
_STALE_RETRIES = 5


class Documents(Generic[T]):
    """Configuration of one kind kept as documents under `PREFIX:id`, loaded once per
    version (a store keeps other documents too: each kind reads only its own). Its reads and
    writes are steps."""

    def __init__(
        self,
        prefix: str,
        dump: Callable[[T], str],
        load: Callable[[str], T],
    ) -> None:
        self.prefix = prefix
        self._dump = dump
        self._load = load
        self._loaded: dict[str, tuple[str, T, str]] = {}  # document, value, version

    def ref(self, key: str | int) -> str:
        """The document ref of `key`."""
        return f"{self.prefix}:{key}"

    def get(self, key: str | int) -> Steps[tuple[T, str] | None]:
        """The value kept under `key` now and its version, or None (none, or deleted)."""
        ref = self.ref(key)
        cached = self._loaded.get(ref)
        if cached is not None and (yield call("promotion_version", ref)) == cached[2]:
            return cached[1], cached[2]  # still current: asked for the version alone
        document = yield call("promotion", ref)
        if document is None or tombstone_moment(document) is not None:
            self._loaded.pop(ref, None)
            return None
        cached = self._loaded.get(ref)
        if cached is None or cached[0] != document:
            if len(self._loaded) >= 10_000:
                self._loaded.clear()
            cached = self._keep(ref, document)
        return cached[1], cached[2]

    def _keep(self, ref: str, document: str) -> tuple[str, T, str]:
        kept = (document, self._load(document), document_version(document))
        self._loaded[ref] = kept
        return kept

    def last(self, key: str | int) -> Steps[tuple[T, str] | None]:
        """The value loaded last for `key` and its version, without reading the store (the
        first time, it is read): for counts, which check the version themselves."""
        cached = self._loaded.get(self.ref(key))
        if cached is None:
            return (yield from self.get(key))
        return cached[1], cached[2]

    def forget(self, key: str | int) -> None:
        """Drop what was loaded for `key` (the store keeps another version)."""
        self._loaded.pop(self.ref(key), None)

    def raw(self, key: str | int) -> Steps[str | None]:
        """The document kept under `key`, tombstones included."""
        document: str | None = yield call("promotion", self.ref(key))
        return document

    def ids(self) -> Steps[list[str]]:
        """The keys of every value of this kind the store keeps (deleted ones included)."""
        head = self.prefix + ":"
        return [ref[len(head) :] for ref in (yield call("promotion_refs", head))]

    def all(self) -> Steps[list[T]]:
        """Every value of this kind the store keeps (not deleted), by key: one read."""
        found = []
        documents = yield call("promotion_documents", self.prefix + ":")
        for ref, document in sorted(documents.items()):
            if tombstone_moment(document) is not None:
                continue
            cached = self._loaded.get(ref)
            if cached is None or cached[0] != document:
                cached = self._keep(ref, document)
            found.append(cached[1])
        return found

    def swap(self, key: str | int, expected: str | None, value: T) -> Steps[bool]:
        """Keep `value` under `key` while the version there is `expected` (None: none)."""
        swapped: bool = yield call("swap_promotion", self.ref(key), expected, self._dump(value))
        return swapped

    def put(self, key: str | int, value: T) -> Steps[None]:
        """Keep `value` under `key` (replacing what is there)."""
        yield call("put_promotion", self.ref(key), self._dump(value))

    def retire(self, key: str | int, expected: str, at: datetime) -> Steps[bool]:
        """Replace `key`'s document with a tombstone, while its version is `expected`."""
        tombstone = json.dumps(
            {"deleted": True, "deleted_at": at.isoformat(), "kind": self.prefix}, sort_keys=True
        )
        freed = yield call("retire_promotion", self.ref(key), expected, tombstone)
        return freed is not None


class Progress:
    """Counting for chains (as steps): what every kind of chain shares."""

    def __init__(self, *, new_id: Callable[[], str] | None = None) -> None:
        self._new_id = new_id if new_id is not None else OperationIds()

    @classmethod
    def user_id_of(cls, user: object) -> str:
        """The id of a signed-in player (a `User`) a store can keep."""
        if not isinstance(user, User):
            raise ValidationError.single("user", "a User", user)
        return cls.check_user_id(user.id)

    @staticmethod
    def check_user_id(user_id: object, name: str = "user.id") -> str:
        """A signed-in player's id a store can keep."""
        if user_id is None:
            raise AccountingError("sign_in_required", "Chains need a signed-in player.")
        return check_text(user_id, name)

    def count(
        self,
        operation: str,
        ref: str,
        user_id: str,
        at: datetime,
        counters: Sequence[CounterSpec],
        *,
        version: str | None,
        version_of: str | None = None,
        quantity: int = 1,
        requires: Sequence[Requirement] = (),
        items: tuple[RewardItem, ...] = (),
        hold: timedelta | None = None,
        idempotency_key: str | None = None,
        identity: str | None = None,
        refusal: Callable[[CountResult], Refusal | Steps[Refusal]],
    ) -> Steps[Outcome | None]:
        """Count `quantity` on every counter, if every requirement holds, in one atomic step;
        None when the configuration's version (of the document `version_of` names, by default
        `ref`'s) is no longer `version` (load it again). A refusal is `refusal(result)`: a
        Refusal, or steps giving one (it may read the store). An idempotency key replays the
        first result of the same request (`identity`, by default the operation, ref, user and
        quantity)."""
        check_stored_moment(at)
        expires = None if hold is None else hold_expiry(at, hold)
        check_count(quantity, "quantity")
        fingerprint = ""
        if idempotency_key is not None:
            check_text(idempotency_key, "idempotency_key")
            fingerprint = identity or json.dumps([operation, ref, user_id, quantity])
        operation_id = self._new_id()
        success = Outcome(True, ref, operation_id, items)
        request = CountRequest(
            operation_id,
            idempotency_key,
            fingerprint,
            at,
            expires,
            user_id,
            ref,
            None,
            quantity,
            tuple(counters),
            "" if idempotency_key is None else json.dumps(success.to_dict()),
            version,
            requires=tuple(requires),
            version_of=version_of,
        )
        try:
            result: CountResult = yield call("count", request)
        except IdempotencyConflict:
            raise _conflict(idempotency_key) from None
        if result.stale:
            return None
        if result.replayed is not None:
            return Outcome.from_dict(json.loads(result.replayed), replayed=True)
        if result.ok:
            return success
        found = refusal(result)
        reason = found if isinstance(found, Refusal) else (yield from found)
        refused = Outcome(False, ref, refusal=reason)
        if idempotency_key is None:
            return refused
        try:
            kept_text = yield call(
                "remember", idempotency_key, fingerprint, json.dumps(refused.to_dict())
            )
        except IdempotencyConflict:
            raise _conflict(idempotency_key) from None
        return Outcome.from_dict(
            json.loads(kept_text), replayed=kept_text != json.dumps(refused.to_dict())
        )

    def recall(self, key: str, identity: str) -> Steps[Outcome | None]:
        """The first result kept under an idempotency key for this request, or None."""
        return (yield from self._recall(key, identity))

    def _recall(self, key: str, fingerprint: str) -> Steps[Outcome | None]:
        try:
            kept = yield call("recall", key, fingerprint)
        except IdempotencyConflict:
            raise _conflict(key) from None
        return None if kept is None else Outcome.from_dict(json.loads(kept), replayed=True)

    @staticmethod
    def retrying(attempt: Callable[[], Steps[Outcome | None]]) -> Steps[Outcome]:
        """Run `attempt`'s steps until they give an outcome, not None (a configuration changed
        meanwhile), boundedly."""
        for _ in range(_STALE_RETRIES):
            outcome = yield from attempt()
            if outcome is not None:
                return outcome
        raise StoreError(f"the configuration kept changing during {_STALE_RETRIES} tries")


def _conflict(key: str | None) -> AccountingError:
    return AccountingError(
        "idempotency_conflict", f"idempotency key {key!r} was used for a different request"
    )
