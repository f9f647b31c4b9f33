"""Promotions in a store, through their whole life: import (and sync) a catalog, create, read,
list, update, activate, deactivate and delete.

Every change is a new document whose version every `Accounting` on the store checks at its next
count, so a change made on one machine takes effect at the next operation on every other.
Changes of one promotion are compare-and-set on its version: two admins changing it at once
never lose one another's change silently (the second is applied on the first, or refused).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from liveops_rules.accounting.core import (
    CODE_KINDS,
    AccountingCore,
    is_promotion_ref,
    promotion_ref,
    tombstone,
    tombstone_moment,
)
from liveops_rules.accounting.outcomes import AccountingError, code_exists_error
from liveops_rules.accounting.steps import Steps, call
from liveops_rules.errors import StoreError, ValidationError
from liveops_rules.models import Promotion, PromotionKind
from liveops_rules.stores.bounds import check_count, check_stored_moment
from liveops_rules.stores.protocol import document_version
from liveops_rules.wire import Form, dump_promotion

__all__ = ["ImportReport", "PromotionPage", "PromotionRegistry"]

_SWAP_TRIES = 10  # concurrent changes of one promotion, each retried on the newest version


@attrs.frozen
class ImportReport:
    """What an import did, or (`dry_run`) would do: promotions by ref, codes by count."""

    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    """Promotions the store had and the file does not (deleted by a sync)."""
    codes_added: int = 0
    codes_removed: int = 0
    """Codes the store had and the file does not (freed by a sync)."""
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "created": list(self.created),
            "updated": list(self.updated),
            "unchanged": len(self.unchanged),
            "removed": list(self.removed),
            "codes_added": self.codes_added,
            "codes_removed": self.codes_removed,
            "dry_run": self.dry_run,
        }


@attrs.frozen
class PromotionPage:
    """One page of a promotion list, with LiveOps' counts over the whole (filtered by kind)."""

    promotions: tuple[Promotion, ...]
    total_promotions_count: int
    active_promotions_count: int
    inactive_promotions_count: int


class PromotionRegistry(AccountingCore):
    """Keeping promotions and their configuration in the store."""

    # -- catalogs -----------------------------------------------------------------------------

    def import_catalog(
        self,
        promotions: Sequence[Promotion],
        codes: Mapping[tuple[PromotionKind, str], Sequence[str]],
        *,
        sync: bool = False,
        dry_run: bool = False,
        at: datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> Steps[ImportReport]:
        """Make the store keep these promotions and give each its codes, in a few batched
        writes: documents that did not change are not written again, and importing the same
        catalog again changes nothing.

        With `sync`, the store is made to hold exactly the catalog: promotions it does not
        list are deleted (at `at`, which a sync needs) and codes it does not list are freed.
        With `dry_run`, nothing is written: the report says what would be done. `progress`
        is called with how many promotions are done, as the import goes.

        AccountingError `code_exists` (9803) when a code belongs to a promotion that keeps
        it: found before anything is written, nothing is; found while adding (another import
        took it meanwhile), the error names the codes lost. A repeated code, codes for a
        promotion not in the catalog or for a kind without codes are refused first.
        """
        if sync and not dry_run and at is None:
            raise ValidationError.single("at", "the moment of a sync (it deletes)", None)
        if at is not None:
            check_stored_moment(at)
        refs = [promotion_ref(p) for p in promotions]
        if len(set(refs)) != len(refs):
            raise ValidationError.single("promotions", "each promotion once", "a repeated id")
        by_key = {(p.kind, p.key): p for p in promotions}
        wanted: dict[str, list[str]] = {}
        seen: dict[str, str] = {}
        for (kind, key), given in codes.items():
            ref = f"{kind.value}:{key}"
            if (kind, key) not in by_key:
                raise ValidationError.single("codes", "codes of a promotion in the catalog", ref)
            self._check_code_kind(by_key[kind, key])
            fresh = self._valid_codes(given)
            for code in fresh:
                if seen.setdefault(code, ref) != ref:
                    raise ValidationError.single("codes", "each code for one promotion", code)
            wanted[ref] = fresh
        documents = []
        for index, (ref, promotion) in enumerate(zip(refs, promotions, strict=True), 1):
            documents.append((ref, self._document(promotion)))
            if progress is not None and index % 1000 == 0:
                progress(index // 2)  # making documents is about half the work
        if progress is not None:
            progress(len(promotions) // 2)
        stored = yield call("promotion_documents")
        kept = {ref: doc for ref, doc in stored.items() if is_promotion_ref(ref)}
        created = tuple(ref for ref, _ in documents if self._absent(kept.get(ref)))
        updated = tuple(
            ref for ref, doc in documents if not self._absent(kept.get(ref)) and kept[ref] != doc
        )
        unchanged = tuple(ref for ref, doc in documents if kept.get(ref) == doc)
        listed = set(refs)
        removed = tuple(
            sorted(ref for ref, doc in kept.items() if ref not in listed and not self._absent(doc))
        )
        # Codes: who holds them now, and (sync) what the store holds that the file drops.
        owners = yield (call("code_map") if sync else call("code_owners", list(seen)))
        dropped: dict[str, list[str]] = {}
        if sync:
            for code, owner in owners.items():
                if seen.get(code) != owner:
                    dropped.setdefault(owner, []).append(code)
        freed = {code for codes_of in dropped.values() for code in codes_of}
        clash = [
            c for c, ref in seen.items() if owners.get(c) not in (None, ref) and c not in freed
        ]
        if clash:
            raise code_exists_error(sorted(clash))
        new_codes = {
            ref: [c for c in fresh if owners.get(c) != ref] for ref, fresh in wanted.items()
        }
        report = ImportReport(
            created=created,
            updated=updated,
            unchanged=unchanged,
            removed=removed if sync else (),
            codes_added=sum(len(c) for c in new_codes.values()),
            codes_removed=sum(len(c) for c in dropped.values()),
            dry_run=dry_run,
        )
        if dry_run:
            if progress is not None:
                progress(len(promotions))
            return report
        if sync:
            assert at is not None
            for ref in removed:
                yield from self._delete(ref, at)
            for owner, codes_of in sorted(dropped.items()):
                if owner not in removed:  # a deleted promotion's codes are freed already
                    yield call("remove_codes", owner, codes_of)
        yield from self._put_documents(
            [(ref, doc) for ref, doc in documents if ref in created or ref in updated], kept
        )
        assignments = [(ref, fresh) for ref, fresh in new_codes.items() if fresh]
        taken = (yield call("add_code_sets", assignments)) if assignments else []
        lost = [code for (_, fresh), gone in zip(assignments, taken, strict=True) for code in gone]
        if lost:
            raise code_exists_error(lost)
        if progress is not None:
            progress(len(promotions))
        return report

    @staticmethod
    def _absent(document: str | None) -> bool:
        return document is None or tombstone_moment(document) is not None

    # -- one promotion ----------------------------------------------------------------------

    def create_promotion(self, promotion: Promotion) -> Steps[Promotion]:
        """Keep a new promotion, disabled (activate it to start it), as LiveOps creates them;
        AccountingError `promotion_exists` (422) when its id is taken. A promotion without an
        id (an item discount, a bonus or a rule as LiveOps creates them) is given the next
        free `promotion_id` of its kind. The id of a deleted promotion can be used again: it
        starts with its counters forgiven."""
        if not isinstance(promotion, Promotion):
            raise ValidationError.single("promotion", "a promotion", promotion)
        if promotion.key is None:
            for _ in range(_SWAP_TRIES):
                try:
                    next_id = yield from self._next_id(promotion)
                    return (yield from self._create(attrs.evolve(promotion, promotion_id=next_id)))
                except AccountingError as error:
                    if error.code != "promotion_exists":
                        raise
            raise StoreError(f"others kept taking the next {promotion.kind.value} id")
        return (yield from self._create(promotion))

    def _next_id(self, promotion: Promotion) -> Steps[int]:
        prefix = promotion.kind.value + ":"
        refs = yield call("promotion_refs")
        taken = [
            int(ref[len(prefix) :])
            for ref in refs
            if ref.startswith(prefix) and ref[len(prefix) :].isdigit()
        ]
        return max(taken, default=0) + 1

    def _create(self, promotion: Promotion) -> Steps[Promotion]:
        created = attrs.evolve(promotion, enabled=False)
        ref = promotion_ref(created)
        document = self._document(created)
        kept = yield call("promotion", ref)
        if not self._absent(kept):
            raise AccountingError("promotion_exists", f"Promotion {ref} already exists.")
        deleted_at = tombstone_moment(kept)
        if deleted_at is not None:
            yield from self._forgive(ref, deleted_at)
        expected = None if kept is None else document_version(kept)
        if not (yield call("swap_promotion", ref, expected, document)):
            raise AccountingError("promotion_exists", f"Promotion {ref} already exists.")
        return created

    def update_promotion(self, promotion: Promotion) -> Steps[Promotion]:
        """Replace a promotion's whole configuration (LiveOps' PUT), keeping whether it is
        enabled (activate and deactivate change that); `unknown_promotion` (9802) if there is
        none."""
        if not isinstance(promotion, Promotion):
            raise ValidationError.single("promotion", "a promotion", promotion)
        return (
            yield from self._change(
                promotion_ref(promotion),
                lambda kept: attrs.evolve(promotion, enabled=kept.enabled),
            )
        )

    def activate_promotion(self, promotion: Promotion | str) -> Steps[Promotion]:
        """Enable a promotion (idempotent)."""
        return (yield from self._change(self._ref(promotion), _enabled(True)))

    def deactivate_promotion(self, promotion: Promotion | str) -> Steps[Promotion]:
        """Disable a promotion (idempotent): it no longer applies anywhere."""
        return (yield from self._change(self._ref(promotion), _enabled(False)))

    def delete_promotion(self, promotion: Promotion | str, at: datetime) -> Steps[int]:
        """Delete a promotion at `at`, irreversibly: it no longer applies anywhere, its codes
        are freed (they may be given to another promotion) and their number returned; its
        counters and ledger lines stay, for audit."""
        check_stored_moment(at)
        ref = self._ref(promotion)
        freed = yield from self._delete(ref, at)
        if freed is None:
            raise AccountingError("unknown_promotion", f"Promotion {ref} not found")
        return freed

    def _delete(self, ref: str, at: datetime) -> Steps[int | None]:
        for _ in range(_SWAP_TRIES):
            document = yield call("promotion", ref)
            kept = None if self._absent(document) else (yield from self.promotion(ref))
            if kept is None or document is None:
                return None
            freed: int | None = yield call(
                "retire_promotion", ref, document_version(document), tombstone(kept, at)
            )
            if freed is not None:
                self._loaded.pop(ref, None)
                self._owners.clear()  # codes it owned are free now
                return freed
        raise StoreError(f"{ref} kept changing during {_SWAP_TRIES} tries to change it")

    def _change(self, ref: str, change: Callable[[Promotion], Promotion]) -> Steps[Promotion]:
        """Apply `change` to the promotion kept under `ref`, compare-and-set on its version."""
        for _ in range(_SWAP_TRIES):
            document = yield call("promotion", ref)
            kept = None if self._absent(document) else (yield from self.promotion(ref))
            if kept is None or document is None:
                raise AccountingError("unknown_promotion", f"Promotion {ref} not found")
            changed = change(kept)
            if promotion_ref(changed) != ref:
                raise ValidationError.single("promotion", f"the promotion {ref}", changed.key)
            new = self._document(changed)
            if new == document or (
                yield call("swap_promotion", ref, document_version(document), new)
            ):
                return changed
        raise StoreError(f"{ref} kept changing during {_SWAP_TRIES} tries to change it")

    def _ref(self, promotion: Promotion | str) -> str:
        if isinstance(promotion, Promotion):
            return promotion_ref(promotion)
        if not isinstance(promotion, str):
            raise ValidationError.single("promotion", "a promotion or its ref", promotion)
        return promotion

    # -- reading ------------------------------------------------------------------------------

    def list_promotions(
        self,
        *,
        kind: PromotionKind | str | None = None,
        enabled: bool | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Steps[PromotionPage]:
        """The store's promotions, sorted by ref: of one `kind`, `enabled` or not, `limit` of
        them from `offset`; LiveOps' counts are of every promotion of the kind."""
        wanted = None if kind is None else _kind(kind)
        if enabled is not None and not isinstance(enabled, bool):
            raise ValidationError.single("enabled", "true or false", enabled)
        if limit is not None:
            check_count(limit, "limit", 1)
        check_count(offset, "offset", 0)
        found = []
        for ref in sorted((yield call("promotion_refs"))):
            if not is_promotion_ref(ref):
                continue
            if wanted is not None and not ref.startswith(wanted.value + ":"):
                continue
            promotion = yield from self.promotion(ref)
            if promotion is not None:
                found.append(promotion)
        active = sum(1 for p in found if p.enabled)
        shown = [p for p in found if enabled is None or p.enabled is enabled]
        page = shown[offset:] if limit is None else shown[offset : offset + limit]
        return PromotionPage(tuple(page), len(found), active, len(found) - active)

    def promotion_view(self, promotion: Promotion | str, at: datetime) -> Steps[dict[str, Any]]:
        """A promotion as LiveOps' GET answers it at `at`: the response form, with
        `total_limit_state` ({available, reserved, used}) when it has a total limit and
        `total_codes_count` when it has codes."""
        check_stored_moment(at)
        ref = self._ref(promotion)
        found = yield from self.promotion(ref)
        if found is None:
            raise AccountingError("unknown_promotion", f"Promotion {ref} not found")
        view: dict[str, Any] = dump_promotion(found, Form.RESPONSE, at=at)
        total = getattr(found, "redeem_total_limit", None)
        if total is not None:
            state = yield call("counter", f"t|{ref}", at)
            view["total_limit_state"] = {
                "available": max(0, total + state.extra - state.used - state.reserved),
                "reserved": state.reserved,
                "used": state.used,
            }
        if isinstance(found, CODE_KINDS):
            view["total_codes_count"] = yield call("code_count", ref)
        return view


def _enabled(enabled: bool) -> Callable[[Promotion], Promotion]:
    def change(kept: Promotion) -> Promotion:
        return attrs.evolve(kept, enabled=enabled)

    return change


def _kind(kind: PromotionKind | str) -> PromotionKind:
    try:
        return PromotionKind(kind)
    except ValueError:
        names = ", ".join(k.value for k in PromotionKind)
        raise ValidationError.single("kind", f"one of {names}", kind) from None
