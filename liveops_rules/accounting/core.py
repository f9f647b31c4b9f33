"""What every accounting operation stands on: the store, the promotions loaded from it and
their versions, how codes and refs resolve, and which counters an operation touches."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from liveops_rules.accounting.ids import OperationIds
from liveops_rules.accounting.outcomes import AccountingError, Outcome, refused_outcome
from liveops_rules.accounting.steps import Steps, call
from liveops_rules.codes import is_valid_code, validate_code
from liveops_rules.errors import ValidationError
from liveops_rules.models import (
    Bonus,
    Coupon,
    ItemDiscount,
    PromoCode,
    Promotion,
    PromotionKind,
    UniqueCatalogOffer,
    User,
)
from liveops_rules.schedule import period_start
from liveops_rules.stores.bounds import check_text
from liveops_rules.stores.protocol import CounterSpec, document_version
from liveops_rules.wire import dump_stored_promotion, load_stored_promotion

__all__ = [
    "CODE_KINDS",
    "REDEEMABLE",
    "AccountingCore",
    "is_promotion_ref",
    "promotion_ref",
    "quote_user_id",
    "tombstone",
    "tombstone_moment",
]

CODE_KINDS = (Coupon, PromoCode, UniqueCatalogOffer)
"""The kinds of promotion that have codes."""

REDEEMABLE = (Coupon, UniqueCatalogOffer)
"""The kinds whose codes are redeemed on their own (a promo code is applied to a cart)."""


def promotion_ref(promotion: Promotion) -> str:
    """The name a store keeps a promotion under: `kind:id`."""
    if promotion.key is None:
        raise ValidationError.single("promotion", "a promotion with an id", "none")
    return f"{promotion.kind.value}:{promotion.key}"


def quote_user_id(text: str) -> str:
    """A user id made safe inside a counter key (`|` separates the key's parts)."""
    if "|" not in text and "%" not in text:
        return text
    return text.replace("%", "%25").replace("|", "%7C")


_PROMOTION_KINDS = frozenset(kind.value for kind in PromotionKind)


def is_promotion_ref(ref: str) -> bool:
    """Whether a document ref names a promotion (stores keep other documents too: chains)."""
    return ref.partition(":")[0] in _PROMOTION_KINDS


def tombstone(promotion: Promotion, at: datetime) -> str:
    """The document a deleted promotion leaves: its kind and when it was deleted. Counts made
    against any version of it are then stale everywhere."""
    return json.dumps(
        {"deleted": True, "deleted_at": at.isoformat(), "kind": promotion.kind.value},
        sort_keys=True,
    )


def tombstone_moment(document: str | None) -> datetime | None:
    """When a stored document says its promotion was deleted (None: it was not)."""
    if document is None or not document.startswith('{"deleted": true'):
        return None
    return datetime.fromisoformat(json.loads(document)["deleted_at"])


class AccountingCore:
    """The state every part of the engine shares: the promotions loaded from the store and
    their versions, the codes already resolved. It holds no store: its operations are steps
    (see `accounting.steps`) that a driver performs on one."""

    def __init__(
        self,
        *,
        code_normalizer: Callable[[str], str] | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self._normalize = code_normalizer
        self._new_id = new_id if new_id is not None else OperationIds()
        self._loaded: dict[str, tuple[str, Promotion, str]] = {}
        # Codes resolved to their promotion: a count checks the code is still the promotion's.
        self._owners: dict[str, str] = {}
        self._given: dict[str, tuple[Promotion, str]] = {}
        self._shared_specs: dict[
            tuple[str, str | None], tuple[Promotion, CounterSpec, CounterSpec | None, str]
        ] = {}

    @staticmethod
    def _document(promotion: Promotion) -> str:
        """The JSON document a store keeps for a promotion (its version is the document's)."""
        return json.dumps(dump_stored_promotion(promotion), sort_keys=True)

    def import_promotions(self, promotions: Sequence[Promotion]) -> Steps[None]:
        """Keep these promotions' configuration in the store (replacing older versions), in
        one write. The id of a deleted promotion starts anew: its counters are forgiven."""
        # Every document is made before the first is kept: one that cannot be kept keeps none.
        documents = [(promotion_ref(p), self._document(p)) for p in promotions]
        kept = yield call("promotion_documents")
        yield from self._put_documents(documents, kept)

    def _put_documents(
        self, documents: list[tuple[str, str]], kept: Mapping[str, str]
    ) -> Steps[None]:
        """Keep `documents`, given the documents the store keeps now: ids of deleted
        promotions get their counters forgiven first."""
        for ref, _ in documents:
            deleted_at = tombstone_moment(kept.get(ref))
            if deleted_at is not None:
                yield from self._forgive(ref, deleted_at)
        yield call("put_promotions", documents)

    def _forgive(self, ref: str, at: datetime) -> Steps[None]:
        """Forgive every counter of a promotion: its total, its users', its codes'."""
        yield call("reset", f"t|{ref}", at, exact=True)
        yield call("reset", f"u|{ref}|", at)
        yield call("reset", f"c|{ref}|", at)

    def promotion(self, ref: str) -> Steps[Promotion | None]:
        """The promotion kept under `ref`, or None (also when it was deleted)."""
        check_text(ref, "promotion", 512)
        if not is_promotion_ref(ref):
            return None
        document = yield call("promotion", ref)
        if document is None or tombstone_moment(document) is not None:
            return None
        cached = self._loaded.get(ref)
        if cached is not None and cached[0] == document:
            return cached[1]
        promotion = load_stored_promotion(json.loads(document))
        self._loaded[ref] = (document, promotion, document_version(document))
        return promotion

    def _changed(self, ref: str) -> Steps[bool]:
        """Whether the store keeps another document for `ref` than the one loaded (then the
        loaded copy is dropped)."""
        cached = self._loaded.get(ref)
        if cached is not None and (yield call("promotion", ref)) == cached[0]:
            return False
        self._loaded.pop(ref, None)
        return True

    def _current(self, ref: str) -> Steps[tuple[Promotion | None, str | None]]:
        """The promotion last loaded for `ref` (read from the store the first time) and its
        version; `count` refuses a stale version, so a change made elsewhere is never missed."""
        cached = self._loaded.get(ref)
        if cached is None:
            if (yield from self.promotion(ref)) is None:
                return None, None
            cached = self._loaded[ref]
        return cached[1], cached[2]

    def _version_of(self, promotion: Promotion) -> str:
        """The version a store would keep for this promotion object (remembered per object)."""
        ref = promotion_ref(promotion)
        cached = self._given.get(ref)
        if cached is None or cached[0] is not promotion:
            if len(self._given) >= 10_000:
                self._given.clear()
            cached = self._given[ref] = (promotion, document_version(self._document(promotion)))
        return cached[1]

    def _code(self, code: str) -> str:
        return self._normalize(code) if self._normalize is not None else code

    def _valid_codes(self, codes: Sequence[str]) -> list[str]:
        """The codes normalized, each valid and given once; else a ValidationError."""
        if isinstance(codes, str) or not isinstance(codes, Sequence):
            raise ValidationError.single("codes", "a list of codes", codes)
        normalized = []
        for index, code in enumerate(codes):
            if not isinstance(code, str):
                raise ValidationError.single(f"codes[{index}]", "a code", code)
            normalized.append(validate_code(self._code(code), f"codes[{index}]"))
        if len(set(normalized)) != len(normalized):
            raise ValidationError.single("codes", "each code once", "a repeated code")
        return normalized

    @staticmethod
    def _check_code_kind(promotion: Promotion) -> None:
        """Only coupons, promo codes and unique catalog offers have codes."""
        if not isinstance(promotion, CODE_KINDS):
            raise AccountingError(
                "no_codes",
                f"{promotion.kind.value} promotions have no codes: only coupons, promo codes "
                "and unique catalog offers do",
            )

    def _require(self, promotion: Promotion | str) -> Steps[str]:
        """The ref of a promotion the store has: a model the store lacks is imported; an
        unknown ref is AccountingError `unknown_promotion`."""
        if isinstance(promotion, str):
            ref = check_text(promotion, "promotion", 512)
        elif isinstance(promotion, Promotion):
            ref = promotion_ref(promotion)
        else:
            raise ValidationError.single(
                "promotion", "a promotion or its ref (kind:external_id)", promotion
            )
        if (yield from self.promotion(ref)) is None:
            if isinstance(promotion, str):
                raise AccountingError("unknown_promotion", f"Promotion {ref} not found")
            yield from self.import_promotions([promotion])
        return ref

    def _stored(self, ref: str) -> Steps[Promotion]:
        """The promotion the store keeps under `ref` (which `_require` has checked)."""
        found = yield from self.promotion(ref)
        if found is None:  # deleted meanwhile
            raise AccountingError("unknown_promotion", f"Promotion {ref} not found")
        return found

    def _known(
        self, code: str | None, promotion: Promotion | str | None
    ) -> tuple[str | None, str | None, Promotion | None, Outcome | None] | None:
        """What `_resolve` gives when the caches hold all of it (a code resolved before, its
        promotion loaded, no promotion given), without its steps; else None."""
        if code is None or promotion is not None:
            return None
        ref = self._owners.get(code)
        cached = None if ref is None else self._loaded.get(ref)
        return None if cached is None else (code, ref, cached[1], None)

    def _resolve(
        self, code: str | None, promotion: Promotion | str | None
    ) -> Steps[tuple[str | None, str | None, Promotion | None, Outcome | None]]:
        if code is not None:
            ref = self._owners.get(code)  # a known code was valid when it was added
            if ref is None:
                if not is_valid_code(code):
                    return (
                        code,
                        None,
                        None,
                        refused_outcome("malformed_code", "Enter a valid coupon code."),
                    )
                ref = yield from self._owner(code)
                if ref is None:
                    return code, None, None, refused_outcome("unknown_code", "Code not found.")
            if promotion is not None and not isinstance(promotion, str):
                wanted = promotion_ref(promotion)
                if wanted != ref:
                    ref = yield from self._owner(code)  # the owner cached may be out of date
                    if wanted != ref:
                        return code, None, None, refused_outcome("unknown_code", "Code not found.")
                return code, ref, promotion, None
            found, _ = yield from self._current(ref)
            if found is None:
                return (
                    code,
                    ref,
                    None,
                    refused_outcome("unknown_promotion", f"{ref} not found", ref),
                )
            return code, ref, found, None
        if promotion is None:
            raise ValidationError.single("promotion", "a code or a promotion", None)
        if isinstance(promotion, str):
            found, _ = yield from self._current(promotion)
            if found is None:
                return (
                    None,
                    promotion,
                    None,
                    refused_outcome("unknown_promotion", f"{promotion} not found", promotion),
                )
            return None, promotion, found, None
        return None, promotion_ref(promotion), promotion, None

    def _owner(self, code: str) -> Steps[str | None]:
        """The code's owner as the store has it now (a cached one may be out of date: the
        code was moved elsewhere, or by a removal whose answer was lost)."""
        self._owners.pop(code, None)
        owner: str | None = yield call("code_owner", code)
        if owner is not None:
            if len(self._owners) >= 100_000:
                self._owners.clear()
            self._owners[code] = owner
        return owner

    def _counters(
        self, promotion: Promotion, ref: str, user: User, code: str | None, at: datetime
    ) -> tuple[CounterSpec, ...]:
        if isinstance(promotion, Coupon | PromoCode | UniqueCatalogOffer):
            # The total and per-code counters depend only on the promotion and the code.
            cached = self._shared_specs.get((ref, code))
            if cached is None or cached[0] is not promotion:
                cached = self._code_promotion_specs(promotion, ref, code)
            _, total, per_code, user_prefix = cached
            limit = promotion.redeem_user_limit
            if limit is None:
                return (total,) if per_code is None else (total, per_code)
            if user.id is None:
                raise ValidationError.single(
                    "user", "a signed-in user (per-user limits)", "anonymous"
                )
            # Checked in the order total, per user, per code: the first refusal is named.
            per_user = CounterSpec(user_prefix + quote_user_id(user.id) + "|", limit)
            return (total, per_user) if per_code is None else (total, per_user, per_code)
        found: list[CounterSpec] = []
        if isinstance(promotion, ItemDiscount | Bonus):
            found.append(CounterSpec(f"t|{ref}", None))
            limits = promotion.limits
            if limits is not None and limits.per_user is not None:
                schedule = limits.recurrent_schedule
                period = "" if schedule is None else period_start(schedule, at).isoformat()
                found.append(self._user_spec(ref, user, limits.per_user, period))
        return tuple(found)

    def _code_promotion_specs(
        self, promotion: Coupon | PromoCode | UniqueCatalogOffer, ref: str, code: str | None
    ) -> tuple[Promotion, CounterSpec, CounterSpec | None, str]:
        total = CounterSpec(f"t|{ref}", promotion.redeem_total_limit)
        per_code = (
            None if code is None else CounterSpec(f"c|{ref}|{code}", promotion.redeem_code_limit)
        )
        if len(self._shared_specs) >= 100_000:
            self._shared_specs.clear()
        cached = self._shared_specs[ref, code] = (promotion, total, per_code, f"u|{ref}|")
        return cached

    @staticmethod
    def _user_spec(ref: str, user: User, limit: int, period: str) -> CounterSpec:
        if user.id is None:
            raise ValidationError.single("user", "a signed-in user (per-user limits)", "anonymous")
        return CounterSpec(f"u|{ref}|{quote_user_id(user.id)}|{period}", limit)
