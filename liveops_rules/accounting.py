"""Redemption accounting: redeem, reserve, commit, release and cancel against a store.

The engine decides; the store counts. For each operation the engine finds the promotion,
asks the evaluator whether it applies, works out every counter the operation touches (the
promotion's total, the user's — per reset period when the limit recurs —, the code's) and
hands them to the store, which checks and counts them all in one atomic step. A limit of 500
means 500, whatever the concurrency.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import string
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar, NamedTuple

import attrs

from liveops_rules.codes import CODE_MAX_LENGTH, is_valid_code, validate_code
from liveops_rules.error_catalog import ErrorCode, error_code_for
from liveops_rules.errors import LiveOpsError, StoreError, ValidationError
from liveops_rules.evaluate import eligible_at, evaluate
from liveops_rules.models import (
    Bonus,
    Coupon,
    ItemDiscount,
    PromoCode,
    Promotion,
    PromotionKind,
    RewardItem,
    UniqueCatalogOffer,
    User,
)
from liveops_rules.models.requests import UserLimitState
from liveops_rules.schedule import period_start
from liveops_rules.stores.bounds import (
    COUNT_MAX,
    check_count,
    check_stored_moment,
    check_text,
    hold_expiry,
)
from liveops_rules.stores.protocol import (
    CounterSpec,
    CounterState,
    CountRequest,
    IdempotencyConflict,
    OperationCollision,
    RedemptionStore,
    SettleAction,
    document_version,
)
from liveops_rules.wire import dump_stored_promotion, load_stored_promotion

__all__ = [
    "DEFAULT_CODE_ALPHABET",
    "Accounting",
    "AccountingError",
    "Outcome",
    "Refusal",
    "check_ledger",
    "promotion_ref",
]

DEFAULT_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""Upper-case letters and digits without the ones people confuse (0/O, 1/I/L)."""

_MAX_GENERATED = 100_000
_GENERATE_ROUNDS = 20
_STALE_RETRIES = 5
_CODE_KINDS = (Coupon, PromoCode, UniqueCatalogOffer)
_REDEEMABLE = (Coupon, UniqueCatalogOffer)


class OperationIds:
    """Operation ids: a random 64-bit prefix, then a counter; unique across the processes
    sharing a store without a system call per id. A child of `os.fork()` draws a new prefix
    before its first id, so pre-fork workers (gunicorn, uWSGI, multiprocessing) never repeat
    their parent's or each other's ids."""

    _all: ClassVar[weakref.WeakSet[OperationIds]] = weakref.WeakSet()
    _all_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._draw()
        with OperationIds._all_lock:
            OperationIds._all.add(self)

    def _draw(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count(1)

    def __call__(self) -> str:
        """A new id: fixed width, so ids of one engine sort by age."""
        return self._prefix + format(next(self._counter), "012x")

    @classmethod
    def _after_fork(cls) -> None:
        cls._all_lock = threading.Lock()  # a lock held by another thread at fork stays held
        for ids in list(cls._all):
            ids._draw()


os.register_at_fork(after_in_child=OperationIds._after_fork)


def _code_exists(codes: list[str]) -> AccountingError:
    return AccountingError("code_exists", f"The code already exists: {', '.join(codes[:5])}")


def promotion_ref(promotion: Promotion) -> str:
    """The name a store keeps a promotion under: `kind:id`."""
    if promotion.key is None:
        raise ValidationError.single("promotion", "a promotion with an id", "none")
    return f"{promotion.kind.value}:{promotion.key}"


def _quote(text: str) -> str:
    """A user id made safe inside a counter key (`|` separates the key's parts)."""
    if "|" not in text and "%" not in text:
        return text
    return text.replace("%", "%25").replace("|", "%7C")


class AccountingError(LiveOpsError):
    """An admin or settle operation that cannot be done; `code` names the refusal and
    `error_code` is LiveOps' code for it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def error_code(self) -> ErrorCode:
        """LiveOps' error code for this refusal."""
        if self.code in _EXTRA_CODES:
            return _EXTRA_CODES[self.code]
        return error_code_for(self.code)


_EXTRA_CODES = {
    "idempotency_conflict": ErrorCode.VALIDATION_ERROR,
    "stale_promotion": ErrorCode.VALIDATION_ERROR,
    "no_codes": ErrorCode.VALIDATION_ERROR,
    "code_space_full": ErrorCode.VALIDATION_ERROR,
    "unknown_operation": ErrorCode.VALIDATION_ERROR,
    "wrong_state": ErrorCode.VALIDATION_ERROR,
    "reservation_expired": ErrorCode.EXPIRED,
}


@attrs.frozen
class Refusal:
    """Why an operation did not count: a stable `code`, a message, and the details."""

    code: str
    message: str
    reasons: tuple[dict[str, Any], ...] = ()
    """The evaluator's reasons (as dicts) when the promotion does not apply."""
    limit: str | None = None
    """Which limit was exhausted: `total`, `per_user` or `per_code`."""

    @property
    def error_code(self) -> ErrorCode:
        """LiveOps' error code for this refusal."""
        return _EXTRA_CODES.get(self.code) or error_code_for(self.code)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "reason": self.code,
            "error_code": int(self.error_code),
            "message": self.message,
            "limit": self.limit,
            "reasons": list(self.reasons),
        }


# A NamedTuple rather than an attrs class: one is made per redemption, on the hot path.
class Outcome(NamedTuple):
    """The result of redeem/reserve/commit: `ok` with what was granted, or a refusal."""

    ok: bool
    promotion: str | None = None
    operation_id: str | None = None
    items: tuple[RewardItem, ...] = ()
    refusal: Refusal | None = None
    replayed: bool = False
    """True when this is the first result of an earlier call with the same idempotency key."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (without `replayed`)."""
        document: dict[str, Any] = {"ok": self.ok, "promotion": self.promotion}
        if self.ok:
            document["operation_id"] = self.operation_id
            document["items"] = [{"sku": i.sku, "quantity": i.quantity} for i in self.items]
        else:
            assert self.refusal is not None
            document.update(self.refusal.to_dict())
        return document

    @classmethod
    def from_dict(cls, document: dict[str, Any], *, replayed: bool = False) -> Outcome:
        """The Outcome a `to_dict` wrote."""
        if document["ok"]:
            return cls(
                ok=True,
                promotion=document["promotion"],
                operation_id=document["operation_id"],
                items=tuple(RewardItem(i["sku"], i["quantity"]) for i in document["items"]),
                replayed=replayed,
            )
        return cls(
            ok=False,
            promotion=document["promotion"],
            refusal=Refusal(
                document["reason"],
                document["message"],
                tuple(document["reasons"]),
                document["limit"],
            ),
            replayed=replayed,
        )


def _refused(code: str, message: str, promotion: str | None = None, **extra: Any) -> Outcome:
    return Outcome(ok=False, promotion=promotion, refusal=Refusal(code, message, **extra))


_LIMIT_NAMES = {
    "t": ("total", "promotion"),
    "u": ("per_user", "per-user"),
    "c": ("per_code", "per-code"),
}


class Accounting:
    """Redemptions and their limits, against any RedemptionStore.

    `code_normalizer` (for example `liveops_rules.normalize_code`) is applied to every code
    given; by default codes are case-sensitive, as in LiveOps. `new_id` makes operation ids.
    """

    def __init__(
        self,
        store: RedemptionStore,
        *,
        code_normalizer: Callable[[str], str] | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self.store = store
        self._normalize = code_normalizer
        self._new_id = new_id if new_id is not None else OperationIds()
        self._loaded: dict[str, tuple[str, Promotion, str]] = {}
        self._owners: dict[str, str] = {}  # a code never changes hands: safe to remember
        self._given: dict[str, tuple[Promotion, str]] = {}
        self._shared_specs: dict[
            tuple[str, str | None], tuple[Promotion, CounterSpec, CounterSpec | None, str]
        ] = {}

    # -- configuration ------------------------------------------------------------------------

    @staticmethod
    def _document(promotion: Promotion) -> str:
        """The JSON document a store keeps for a promotion (its version is the document's)."""
        return json.dumps(dump_stored_promotion(promotion), sort_keys=True)

    def import_promotions(self, promotions: Sequence[Promotion]) -> None:
        """Keep these promotions' configuration in the store (replacing older versions)."""
        # Every document is made before the first is kept: one that cannot be kept keeps none.
        documents = [(promotion_ref(p), self._document(p)) for p in promotions]
        for ref, document in documents:
            self.store.put_promotion(ref, document)

    def import_catalog(
        self,
        promotions: Sequence[Promotion],
        codes: Mapping[tuple[PromotionKind, str], Sequence[str]],
    ) -> int:
        """Keep the promotions and give each its codes; importing the same catalog again
        changes nothing. Returns how many codes were new. AccountingError `code_exists` if a
        code belongs to another promotion: found before anything is written, nothing of the
        catalog's codes is added; found while adding (another import gave it away meanwhile),
        the promotion keeps none of the codes the other took, and the error names them."""
        by_key = {(p.kind, p.key): p for p in promotions}
        wanted_codes: dict[str, list[str]] = {}
        for (kind, key), wanted in codes.items():
            ref = f"{kind.value}:{key}"
            if (kind, key) not in by_key:
                raise ValidationError.single("codes", "codes of a promotion in the catalog", ref)
            self._check_code_kind(by_key[kind, key])
            fresh = self._valid_codes(wanted)
            clash = [c for c in fresh if self.store.code_owner(c) not in (None, ref)]
            if clash:
                raise _code_exists(clash)
            wanted_codes[ref] = fresh
        self.import_promotions(promotions)
        added = 0
        for ref, fresh in wanted_codes.items():
            taken = self.store.add_codes(ref, fresh)
            lost = [c for c in taken if self.store.code_owner(c) != ref]
            if lost:
                raise _code_exists(lost)
            added += len(fresh) - len(taken)
        return added

    def promotion(self, ref: str) -> Promotion | None:
        """The promotion kept under `ref`, or None."""
        document = self.store.promotion(ref)
        if document is None:
            return None
        cached = self._loaded.get(ref)
        if cached is not None and cached[0] == document:
            return cached[1]
        promotion = load_stored_promotion(json.loads(document))
        self._loaded[ref] = (document, promotion, document_version(document))
        return promotion

    def _changed(self, ref: str) -> bool:
        """Whether the store keeps another document for `ref` than the one loaded (then the
        loaded copy is dropped)."""
        cached = self._loaded.get(ref)
        if cached is not None and self.store.promotion(ref) == cached[0]:
            return False
        self._loaded.pop(ref, None)
        return True

    def _current(self, ref: str) -> tuple[Promotion | None, str | None]:
        """The promotion last loaded for `ref` (read from the store the first time) and its
        version; `count` refuses a stale version, so a change made elsewhere is never missed."""
        cached = self._loaded.get(ref)
        if cached is None:
            if self.promotion(ref) is None:
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

    def code_promotion(self, code: str) -> Promotion | Refusal:
        """The promotion that owns `code` (normalized as redeem does), or why there is none:
        a Refusal `malformed_code`, `unknown_code` or `unknown_promotion`."""
        if not isinstance(code, str):
            raise ValidationError.single("code", "a string", code)
        _, _, found, refusal = self._resolve(self._code(code), None)
        if refusal is not None:
            assert refusal.refusal is not None
            return refusal.refusal
        assert found is not None
        return found

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
        if not isinstance(promotion, _CODE_KINDS):
            raise AccountingError(
                "no_codes",
                f"{promotion.kind.value} promotions have no codes: only coupons, promo codes "
                "and unique catalog offers do",
            )

    def add_codes(self, promotion: Promotion | str, codes: Sequence[str]) -> None:
        """Give `codes` to `promotion` (imported first if the store lacks it);
        AccountingError `code_exists` (9803) if any is taken, `no_codes` if the promotion's
        kind has none.

        Codes are checked first: a malformed or repeated code is a ValidationError and
        nothing is added. Codes already taken are not added; the others are.
        """
        normalized = self._valid_codes(codes)
        ref = self._require(promotion)
        self._check_code_kind(self._stored(ref))
        taken = self.store.add_codes(ref, normalized)
        if taken:
            raise _code_exists(list(taken))

    def generate_codes(
        self,
        promotion: Promotion | str,
        count: int,
        *,
        length: int = 12,
        alphabet: str = DEFAULT_CODE_ALPHABET,
        progress: Callable[[int], None] | None = None,
    ) -> list[str]:
        """Make `count` (1..100,000) new random codes for `promotion`, unique in the store.

        Codes come from `secrets`. The alphabet must be Latin letters and digits; the space
        of possible codes must be at least 1,000 times `count` so that collisions stay rare.
        When the codes already in the store leave too little room (20 rounds in a row find no
        new code), AccountingError `code_space_full` says so; the codes made so far stay.
        """
        check_count(count, "count", 1, _MAX_GENERATED)
        check_count(length, "length", 1, CODE_MAX_LENGTH)
        letters = set(string.ascii_letters + string.digits)
        if not isinstance(alphabet, str) or len(set(alphabet)) < 2 or not set(alphabet) <= letters:
            raise ValidationError.single(
                "alphabet", "two or more Latin letters and digits", alphabet
            )
        symbols = sorted(set(alphabet))
        space = len(symbols) ** length
        if space < count * 1000:
            raise ValidationError.single(
                "length", f"a length giving at least {count * 1000} possible codes", length
            )
        ref = self._require(promotion)
        self._check_code_kind(self._stored(ref))
        made: list[str] = []
        barren = 0
        while len(made) < count:
            batch: set[str] = set()
            wanted = min(count - len(made), 10_000)
            while len(batch) < wanted:  # the space holds >= 1,000 x count codes: ends quickly
                batch.add("".join(secrets.choice(symbols) for _ in range(length)))
            ordered = sorted(batch)
            taken = set(self.store.add_codes(ref, ordered))
            fresh = [code for code in ordered if code not in taken]
            made.extend(fresh)
            barren = 0 if fresh else barren + 1
            if barren >= _GENERATE_ROUNDS:
                raise AccountingError(
                    "code_space_full",
                    f"made {len(made)} of {count} codes: {_GENERATE_ROUNDS} rounds in a row found "
                    f"only codes already taken among the {space} codes of length {length} over "
                    f"{''.join(symbols)!r}; use a longer length or a larger alphabet",
                )
            if progress is not None:
                progress(len(made))
        return made

    def _require(self, promotion: Promotion | str) -> str:
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
        if self.store.promotion(ref) is None:
            if isinstance(promotion, str):
                raise AccountingError("unknown_promotion", f"Promotion {ref} not found")
            self.import_promotions([promotion])
        return ref

    def _stored(self, ref: str) -> Promotion:
        """The promotion the store keeps under `ref` (which `_require` has checked)."""
        found = self.promotion(ref)
        if found is None:  # deleted meanwhile
            raise AccountingError("unknown_promotion", f"Promotion {ref} not found")
        return found

    # -- counting -----------------------------------------------------------------------------

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
            per_user = CounterSpec(user_prefix + _quote(user.id) + "|", limit)
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
        return CounterSpec(f"u|{ref}|{_quote(user.id)}|{period}", limit)

    def redeem(
        self, code: str, user: User, at: datetime, *, idempotency_key: str | None = None
    ) -> Outcome:
        """Redeem `code` for `user` at `at`: all limits checked and counted, or none.

        Only coupon codes and unique catalog offer codes are redeemed on their own; a promo
        code is applied to a cart (a checkout reserves it) and is refused here with
        `not_redeemable` (9807)."""
        return self._count("redeem", user, at, code=code, idempotency_key=idempotency_key)

    def reserve(
        self,
        user: User,
        at: datetime,
        *,
        hold: timedelta,
        code: str | None = None,
        promotion: Promotion | str | None = None,
        quantity: int = 1,
        idempotency_key: str | None = None,
    ) -> Outcome:
        """Hold capacity for a checkout until `at + hold`; then `commit` or `release` it.

        Name the promotion by `code`, or give it (or its ref) as `promotion`. A promotion
        object is counted only while the store keeps that very version of it (or none):
        AccountingError `stale_promotion` when the store keeps another, so a configuration
        changed elsewhere is never held by a copy that predates it. With both, the code must
        belong to the promotion given.
        """
        return self._count(
            "reserve",
            user,
            at,
            code=code,
            promotion=promotion,
            quantity=quantity,
            hold=hold,
            idempotency_key=idempotency_key,
        )

    def _resolve(
        self, code: str | None, promotion: Promotion | str | None
    ) -> tuple[str | None, str | None, Promotion | None, Outcome | None]:
        if code is not None:
            ref = self._owners.get(code)  # a known code was valid when it was added
            if ref is None:
                if not is_valid_code(code):
                    return (
                        code,
                        None,
                        None,
                        _refused("malformed_code", "Enter a valid coupon code."),
                    )
                ref = self.store.code_owner(code)
                if ref is None:
                    return code, None, None, _refused("unknown_code", "Code not found.")
                if len(self._owners) >= 100_000:
                    self._owners.clear()
                self._owners[code] = ref
            if promotion is not None and not isinstance(promotion, str):
                if promotion_ref(promotion) != ref:
                    return code, None, None, _refused("unknown_code", "Code not found.")
                return code, ref, promotion, None
            found, _ = self._current(ref)
            if found is None:
                return code, ref, None, _refused("unknown_promotion", f"{ref} not found", ref)
            return code, ref, found, None
        if promotion is None:
            raise ValidationError.single("promotion", "a code or a promotion", None)
        if isinstance(promotion, str):
            found, _ = self._current(promotion)
            if found is None:
                return (
                    None,
                    promotion,
                    None,
                    _refused("unknown_promotion", f"{promotion} not found", promotion),
                )
            return None, promotion, found, None
        return None, promotion_ref(promotion), promotion, None

    def _count(
        self,
        operation: str,
        user: User,
        at: datetime,
        *,
        code: str | None = None,
        promotion: Promotion | str | None = None,
        quantity: int = 1,
        hold: timedelta | None = None,
        idempotency_key: str | None = None,
    ) -> Outcome:
        # Everything a store could not keep is refused here, before any I/O.
        check_stored_moment(at)
        expires_at = None if operation == "redeem" else hold_expiry(at, hold)
        if not isinstance(user, User):
            raise ValidationError.single("user", "a User", user)
        if user.id is not None:
            check_text(user.id, "user.id")
        check_count(quantity, "quantity")
        if code is not None:
            if not isinstance(code, str):
                raise ValidationError.single("code", "a string", code)
            code = self._code(code)
        if promotion is not None and not isinstance(promotion, str | Promotion):
            raise ValidationError.single("promotion", "a promotion or its ref", promotion)
        if isinstance(promotion, str):
            check_text(promotion, "promotion", 512)
        fingerprint = ""
        if idempotency_key is not None:
            check_text(idempotency_key, "idempotency_key")
            wanted = (
                promotion
                if isinstance(promotion, str) or promotion is None
                else promotion_ref(promotion)
            )
            fingerprint = json.dumps([operation, code, wanted, user.id, quantity])
            replayed = self._recall(idempotency_key, fingerprint)
            if replayed is not None:
                return replayed
        for _ in range(_STALE_RETRIES):
            outcome = self._count_once(
                operation,
                user,
                at,
                code,
                promotion,
                quantity,
                expires_at,
                idempotency_key,
                fingerprint,
            )
            if outcome is not None:
                return outcome
        raise StoreError(f"the promotion kept changing during {_STALE_RETRIES} tries to count")

    def _count_once(
        self,
        operation: str,
        user: User,
        at: datetime,
        code: str | None,
        promotion: Promotion | str | None,
        quantity: int,
        expires_at: datetime | None,
        idempotency_key: str | None,
        fingerprint: str,
    ) -> Outcome | None:
        """Resolve, evaluate and count once; None when the store held a newer version of the
        promotion than the one evaluated (its cached copy is dropped: the caller tries again)."""
        code, ref, found, refusal = self._resolve(code, promotion)
        given = promotion is not None and not isinstance(promotion, str)
        if refusal is None:
            assert found is not None
            assert ref is not None
            if operation == "redeem" and not isinstance(found, _REDEEMABLE):
                refusal = _refused(
                    "not_redeemable",
                    f"{found.kind.value} codes are not redeemed on their own"
                    + (
                        ": a promo code is applied to a cart at checkout"
                        if isinstance(found, PromoCode)
                        else ""
                    ),
                    ref,
                )
            elif not eligible_at(found, user, at):  # reasons are built only for a refusal
                if not given and self._changed(ref):
                    return None  # refused by an old copy: evaluate the current one instead
                decision = evaluate(found, user, at)
                first = decision.reasons[0]
                refusal = _refused(
                    first.code,
                    first.message,
                    ref,
                    reasons=tuple(r.to_dict() for r in decision.reasons),
                )
        if refusal is not None:
            return self._keep_refusal(idempotency_key, fingerprint, refusal)
        assert found is not None
        assert ref is not None
        operation_id = self._new_id()
        if isinstance(found, UniqueCatalogOffer):
            items = tuple(RewardItem(sku) for sku in found.items)  # the items it unlocks
        else:
            items = tuple(getattr(found, "bonus", ()))
        success = Outcome(True, ref, operation_id, items)
        # A promotion object given by the caller counts only while the store keeps that very
        # version (or none, when given without a code); one named by code or ref was loaded
        # from the store, and the store checks it is still current.
        version = self._version_of(found) if given else self._loaded[ref][2]
        request = CountRequest(  # positional: the fields in their declared order
            operation_id,
            idempotency_key,
            fingerprint,
            at,
            expires_at,
            user.id or "",
            ref,
            code,
            quantity,
            self._counters(found, ref, user, code, at),
            "" if idempotency_key is None else json.dumps(success.to_dict()),
            version,
            given and code is None,
        )
        try:
            result = self.store.count(request)
        except IdempotencyConflict:
            raise self._conflict(idempotency_key) from None
        except OperationCollision:
            raise StoreError(
                f"operation id {operation_id!r} is already the id of another operation: "
                "operation ids must be unique (nothing was counted)"
            ) from None
        if result.stale:
            self._loaded.pop(ref, None)  # a copy loaded earlier may be as old as the one given
            if given:
                raise AccountingError(
                    "stale_promotion",
                    f"{ref} given is not the version the store keeps: it was changed "
                    "elsewhere; load it from the store again (nothing was counted)",
                )
            self._loaded.pop(ref, None)
            return None
        if result.replayed is not None:
            return Outcome.from_dict(json.loads(result.replayed), replayed=True)
        if result.ok:
            return success
        assert result.exhausted is not None
        assert result.state is not None
        name, label = _LIMIT_NAMES[result.exhausted.key[0]]
        allowed = (result.exhausted.limit or 0) + result.state.extra
        taken = result.state.used + result.state.reserved
        refusal = _refused(
            "limit_reached", f"{label} limit {taken} of {allowed} used", ref, limit=name
        )
        return self._keep_refusal(idempotency_key, fingerprint, refusal)

    @staticmethod
    def _conflict(key: str | None) -> AccountingError:
        return AccountingError(
            "idempotency_conflict", f"idempotency key {key!r} was used for a different request"
        )

    def _recall(self, key: str, fingerprint: str) -> Outcome | None:
        try:
            kept = self.store.recall(key, fingerprint)
        except IdempotencyConflict:
            raise self._conflict(key) from None
        return None if kept is None else Outcome.from_dict(json.loads(kept), replayed=True)

    def _keep_refusal(self, key: str | None, fingerprint: str, refusal: Outcome) -> Outcome:
        if key is None:
            return refusal
        try:
            kept = self.store.remember(key, fingerprint, json.dumps(refusal.to_dict()))
        except IdempotencyConflict:
            raise self._conflict(key) from None
        if kept == json.dumps(refusal.to_dict()):
            return refusal
        return Outcome.from_dict(json.loads(kept), replayed=True)

    # -- settling -----------------------------------------------------------------------------

    def _settle(self, action: SettleAction, operation_id: str, at: datetime) -> Outcome:
        check_stored_moment(at)
        check_text(operation_id, "operation_id")
        result = self.store.settle(action, operation_id, at)
        if result.status is None:
            raise AccountingError("unknown_operation", f"no reservation {operation_id!r}")
        if not result.ok:
            if result.status.value == "expired":
                raise AccountingError(
                    "reservation_expired", f"reservation {operation_id!r} expired"
                )
            raise AccountingError(
                "wrong_state",
                f"cannot {action.value} {operation_id!r}: it is {result.status.value}",
            )
        return Outcome(ok=True, promotion=result.promotion, operation_id=operation_id)

    def commit(self, operation_id: str, at: datetime) -> Outcome:
        """Turn a hold into a redemption (idempotent); AccountingError if it expired or was
        released."""
        return self._settle(SettleAction.COMMIT, operation_id, at)

    def release(self, operation_id: str, at: datetime) -> Outcome:
        """Give a hold's capacity back (idempotent; an expired hold is already released)."""
        return self._settle(SettleAction.RELEASE, operation_id, at)

    def cancel(self, operation_id: str, at: datetime) -> Outcome:
        """Undo a committed redemption (a refund) and give back what it still counts: a reset
        since then has already forgiven it on the limits it reset (idempotent)."""
        return self._settle(SettleAction.CANCEL, operation_id, at)

    # -- per-user limits (LiveOps admin) -----------------------------------------------------

    def _user_limit_spec(
        self, promotion: Promotion | str, user_id: str, at: datetime
    ) -> CounterSpec:
        check_stored_moment(at)
        check_text(user_id, "user_id")
        ref = self._require(promotion)
        found = self._stored(ref)
        specs = [
            s for s in self._counters(found, ref, User(user_id), None, at) if s.key.startswith("u|")
        ]
        if not specs:
            raise AccountingError(
                "no_user_limits", "Promotion does not have configured user limits."
            )
        return specs[0]

    @staticmethod
    def _state(spec: CounterSpec, state: CounterState | None) -> UserLimitState:
        if state is None:
            raise AccountingError(
                "limit_out_of_range", "Available promotion limit is out of range."
            )
        assert spec.limit is not None
        return UserLimitState(
            total=spec.limit + state.extra,
            available=max(0, spec.limit + state.extra - state.used - state.reserved),
        )

    def user_limit(self, promotion: Promotion | str, user_id: str, at: datetime) -> UserLimitState:
        """The user's `total` uses and `available` ones in the current period."""
        spec = self._user_limit_spec(promotion, user_id, at)
        return self._state(spec, self.store.counter(spec.key, at))

    def set_user_limit(
        self, promotion: Promotion | str, user_id: str, available: int, at: datetime
    ) -> UserLimitState:
        """Make `available` uses remain for the user (0..2**31-1, and the total it makes at
        most 2**31-1: `limit_out_of_range` (4511) otherwise, nothing changed)."""
        if type(available) is not int or not 0 <= available <= COUNT_MAX:
            raise AccountingError(
                "limit_out_of_range", "Available promotion limit is out of range."
            )
        spec = self._user_limit_spec(promotion, user_id, at)
        assert spec.limit is not None
        return self._state(spec, self.store.adjust(spec.key, spec.limit, available, at))

    def change_user_limit(
        self, promotion: Promotion | str, user_id: str, change: int, at: datetime
    ) -> UserLimitState:
        """Increase (change > 0) or decrease (< 0) the user's available uses; a change that
        would take them below zero or the total past 2**31-1 is refused with
        `limit_out_of_range` (4511) and changes nothing."""
        if type(change) is not int or not -COUNT_MAX <= change <= COUNT_MAX or change == 0:
            raise AccountingError(
                "limit_out_of_range", "Available promotion limit is out of range."
            )
        spec = self._user_limit_spec(promotion, user_id, at)
        assert spec.limit is not None
        return self._state(spec, self.store.add_extra(spec.key, spec.limit, change, at))

    def reset_user_limit(self, promotion: Promotion | str, user_id: str, at: datetime) -> int:
        """Give the user back every use of the promotion (all periods). Holds in flight are
        forgiven too: they can still be committed or released, but no longer count against
        the user's limit, and a later refund of a use made before the reset gives nothing
        back twice."""
        spec = self._user_limit_spec(promotion, user_id, at)
        prefix = spec.key[: spec.key.rindex("|") + 1]
        return self.store.reset(prefix, at)

    def reset_all_user_limits(self, promotion: Promotion | str, at: datetime) -> int:
        """Give every user back every use of the promotion (as `reset_user_limit`)."""
        spec = self._user_limit_spec(promotion, "-", at)
        ref = spec.key.split("|")[1]
        return self.store.reset(f"u|{ref}|", at)

    def code_usage(self, promotion: Promotion | str, at: datetime) -> dict[str, CounterState]:
        """Each code of the promotion with its counter (used, reserved)."""
        check_stored_moment(at)
        ref = self._require(promotion)
        return {code: self.store.counter(f"c|{ref}|{code}", at) for code in self.store.codes(ref)}


def check_ledger(store: RedemptionStore) -> list[str]:
    """Every disagreement between the store's counters and what its ledger implies, and every
    broken invariant (used, reserved >= 0; used + reserved <= limit + extra); [] when sound."""
    implied: dict[str, list[int]] = {}
    ledger, counters = store.audit()  # one snapshot: counting may go on meanwhile
    for entry in ledger:
        for key, used, reserved, extra in entry.deltas:
            totals = implied.setdefault(key, [0, 0, 0])
            totals[0] += used
            totals[1] += reserved
            totals[2] += extra
    problems = []
    for key in sorted(set(implied) | set(counters)):
        state = counters.get(key, CounterState())
        used, reserved, extra = implied.get(key, [0, 0, 0])
        if (state.used, state.reserved, state.extra) != (used, reserved, extra):
            problems.append(
                f"{key}: counter used={state.used} reserved={state.reserved} extra={state.extra}, "
                f"ledger implies used={used} reserved={reserved} extra={extra}"
            )
        if state.used < 0 or state.reserved < 0:
            problems.append(f"{key}: negative used or reserved")
        if state.limit is not None and state.used + state.reserved > state.limit + state.extra:
            problems.append(
                f"{key}: used {state.used} + reserved {state.reserved} over "
                f"limit {state.limit} + extra {state.extra}"
            )
    return problems
