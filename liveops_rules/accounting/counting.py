"""Counting: redeem, reserve, commit, release and cancel, every limit checked and counted in
one atomic step of the store."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from liveops_rules.accounting.core import REDEEMABLE, AccountingCore, promotion_ref
from liveops_rules.accounting.outcomes import LIMIT_NAMES, AccountingError, Outcome, refused_outcome
from liveops_rules.accounting.steps import Steps, call
from liveops_rules.errors import StoreError, ValidationError
from liveops_rules.evaluate import eligible_at, evaluate
from liveops_rules.models import PromoCode, Promotion, RewardItem, UniqueCatalogOffer, User
from liveops_rules.stores.bounds import check_count, check_stored_moment, check_text, hold_expiry
from liveops_rules.stores.protocol import (
    CountRequest,
    IdempotencyConflict,
    OperationCollision,
    SettleAction,
)

__all__ = ["Counting"]

_STALE_RETRIES = 5


class Counting(AccountingCore):
    """Redemptions and reservations against the store's counters."""

    def redeem(
        self, code: str, user: User, at: datetime, *, idempotency_key: str | None = None
    ) -> Steps[Outcome]:
        """Redeem `code` for `user` at `at`: all limits checked and counted, or none.

        Only coupon codes and unique catalog offer codes are redeemed on their own; a promo
        code is applied to a cart (a checkout reserves it) and is refused here with
        `not_redeemable` (9807)."""
        # The steps of `_count` themselves, not wrapped in one more generator: a redeem is
        # the hot path, and each level of generators costs on every step.
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
    ) -> Steps[Outcome]:
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
    ) -> Steps[Outcome]:
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
            replayed = yield from self._recall(idempotency_key, fingerprint)
            if replayed is not None:
                return replayed
        # Resolve, evaluate and count; again when the store held a newer version of the
        # promotion than the one evaluated (its cached copy is dropped). One generator for
        # all of it: a redeem is the hot path, and each level of steps costs on every step.
        for _ in range(_STALE_RETRIES):
            known = self._known(code, promotion)
            code, ref, found, refusal = (
                known if known is not None else (yield from self._resolve(code, promotion))
            )
            given = promotion is not None and not isinstance(promotion, str)
            if refusal is None:
                assert found is not None
                assert ref is not None
                if operation == "redeem" and not isinstance(found, REDEEMABLE):
                    refusal = refused_outcome(
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
                    if not given and (yield from self._changed(ref)):
                        continue  # refused by an old copy: evaluate the current one instead
                    decision = evaluate(found, user, at)
                    first = decision.reasons[0]
                    refusal = refused_outcome(
                        first.code,
                        first.message,
                        ref,
                        reasons=tuple(r.to_dict() for r in decision.reasons),
                    )
            if refusal is not None:
                return (yield from self._keep_refusal(idempotency_key, fingerprint, refusal))
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
                result = yield call("count", request)
            except IdempotencyConflict:
                raise self._conflict(idempotency_key) from None
            except OperationCollision:
                raise StoreError(
                    f"operation id {operation_id!r} is already the id of another operation: "
                    "operation ids must be unique (nothing was counted)"
                ) from None
            if result.stale:
                # The promotion changed, or the code moved: what was loaded or resolved is old.
                self._loaded.pop(ref, None)
                if code is not None:
                    self._owners.pop(code, None)
                if given:
                    raise AccountingError(
                        "stale_promotion",
                        f"{ref} given is not the version the store keeps: it was changed "
                        "elsewhere; load it from the store again (nothing was counted)",
                    )
                continue
            if result.replayed is not None:
                return Outcome.from_dict(json.loads(result.replayed), replayed=True)
            if result.ok:
                return success
            assert result.exhausted is not None
            assert result.state is not None
            name, label = LIMIT_NAMES[result.exhausted.key[0]]
            allowed = (result.exhausted.limit or 0) + result.state.extra
            taken = result.state.used + result.state.reserved
            refusal = refused_outcome(
                "limit_reached", f"{label} limit {taken} of {allowed} used", ref, limit=name
            )
            return (yield from self._keep_refusal(idempotency_key, fingerprint, refusal))
        raise StoreError(f"the promotion kept changing during {_STALE_RETRIES} tries to count")

    @staticmethod
    def _conflict(key: str | None) -> AccountingError:
        return AccountingError(
            "idempotency_conflict", f"idempotency key {key!r} was used for a different request"
        )

    def _recall(self, key: str, fingerprint: str) -> Steps[Outcome | None]:
        try:
            kept = yield call("recall", key, fingerprint)
        except IdempotencyConflict:
            raise self._conflict(key) from None
        return None if kept is None else Outcome.from_dict(json.loads(kept), replayed=True)

    def _keep_refusal(self, key: str | None, fingerprint: str, refusal: Outcome) -> Steps[Outcome]:
        if key is None:
            return refusal
        try:
            kept = yield call("remember", key, fingerprint, json.dumps(refusal.to_dict()))
        except IdempotencyConflict:
            raise self._conflict(key) from None
        if kept == json.dumps(refusal.to_dict()):
            return refusal
        return Outcome.from_dict(json.loads(kept), replayed=True)

    def _settle(self, action: SettleAction, operation_id: str, at: datetime) -> Steps[Outcome]:
        check_stored_moment(at)
        check_text(operation_id, "operation_id")
        result = yield call("settle", action, operation_id, at)
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

    def commit(self, operation_id: str, at: datetime) -> Steps[Outcome]:
        """Turn a hold into a redemption (idempotent); AccountingError if it expired or was
        released."""
        return self._settle(SettleAction.COMMIT, operation_id, at)

    def release(self, operation_id: str, at: datetime) -> Steps[Outcome]:
        """Give a hold's capacity back (idempotent; an expired hold is already released)."""
        return self._settle(SettleAction.RELEASE, operation_id, at)

    def cancel(self, operation_id: str, at: datetime) -> Steps[Outcome]:
        """Undo a committed redemption (a refund) and give back what it still counts: a reset
        since then has already forgiven it on the limits it reset (idempotent)."""
        return self._settle(SettleAction.CANCEL, operation_id, at)
