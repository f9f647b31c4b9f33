"""Checkout quotes: price a cart and hold the limits of every promotion it applies.

A quote reads no store. A checkout does: each applied promotion with a per-user limit (a
discount counts the units it discounts, a bonus one use) and the promo code (one use of the
code, against its total, per-user and per-code limits) is reserved through `Accounting` until
`at + hold`. A promotion whose reservation is refused (its limit is used up) does not apply:
the cart is priced again without it — which may let a promotion it excluded apply, and that one
is reserved in turn. The order then commits the checkout when it is paid, or releases it.

Give an `order_id` and a retried checkout of the same order reserves nothing twice: each
reservation's idempotency key is made from the order id and the promotion. If reserving fails
with an error, the holds this call made are released before the error is raised (and would
expire at `at + hold` anyway); holds an earlier checkout of the same order made are left to
that checkout. A cancelled async checkout releases nothing (a cancelled task does no more
I/O): its holds expire at `at + hold`, and a retry with the same `order_id` takes them over.

The checkout is written once, as steps over `AccountingSteps` (`checkout_steps`): `Accounting`
drives it (`Pricing.checkout`, `Checkout.commit`) and `AsyncAccounting` awaits it
(`Pricing.acheckout`, `Checkout.acommit`).
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from liveops_rules.accounting import (
    Accounting,
    AccountingError,
    AccountingSteps,
    AsyncAccounting,
    Refusal,
    Steps,
    promotion_ref,
    run_steps,
    run_steps_async,
)
from liveops_rules.errors import LiveOpsError, ValidationError
from liveops_rules.evaluate import check_moment
from liveops_rules.models import PromoCode, Promotion, PromotionKind, User
from liveops_rules.models.cart import Cart
from liveops_rules.pricing import _CODE, Quote, _CodeState
from liveops_rules.reasons import (
    LimitReached,
    MalformedCode,
    PricingReason,
    Refused,
    UnknownCode,
)

if TYPE_CHECKING:
    from liveops_rules.pricing import Pricing

__all__ = ["Checkout", "Reservation", "checkout_steps", "reserve_quote", "reserve_quote_async"]

_REFRESHES = 3  # how many times a checkout reloads a promo code changed while it prices


@attrs.frozen
class Reservation:
    """Capacity held for one promotion of a checkout: its operation id and how much."""

    kind: PromotionKind
    id: str
    operation_id: str
    quantity: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "kind": self.kind.value,
            "id": self.id,
            "operation_id": self.operation_id,
            "quantity": self.quantity,
        }


@attrs.frozen
class Checkout:
    """A quote whose promotions' limits are held until `expires_at`; commit it when the order
    is paid, release it when the order is abandoned."""

    quote: Quote
    reservations: tuple[Reservation, ...]
    expires_at: datetime

    @property
    def operation_ids(self) -> tuple[str, ...]:
        """The reservations' operation ids (for `Accounting.commit`/`release` elsewhere)."""
        return tuple(r.operation_id for r in self.reservations)

    def commit(self, accounting: Accounting, at: datetime) -> None:
        """Turn every hold into a redemption (idempotent). Every hold is tried; then an
        AccountingError names the ones that could not be committed (an expired hold)."""
        _check_accounting(accounting, Accounting)
        run_steps(self.settle_steps(accounting.steps, "commit", at), accounting.store)

    def release(self, accounting: Accounting, at: datetime) -> None:
        """Give every hold's capacity back (idempotent; expired holds are already free)."""
        _check_accounting(accounting, Accounting)
        run_steps(self.settle_steps(accounting.steps, "release", at), accounting.store)

    async def acommit(self, accounting: AsyncAccounting, at: datetime) -> None:
        """`commit`, awaited on an AsyncAccounting."""
        _check_accounting(accounting, AsyncAccounting)
        await run_steps_async(self.settle_steps(accounting.steps, "commit", at), accounting.store)

    async def arelease(self, accounting: AsyncAccounting, at: datetime) -> None:
        """`release`, awaited on an AsyncAccounting."""
        _check_accounting(accounting, AsyncAccounting)
        await run_steps_async(self.settle_steps(accounting.steps, "release", at), accounting.store)

    def settle_steps(self, steps: AccountingSteps, action: str, at: datetime) -> Steps[None]:
        """Commit or release (`action`) every hold, as steps of `steps`' operations."""
        check_moment(at)
        settle = steps.commit if action == "commit" else steps.release
        failed: list[tuple[Reservation, AccountingError]] = []
        for reservation in self.reservations:
            try:
                yield from settle(reservation.operation_id, at)
            except AccountingError as error:
                failed.append((reservation, error))
        if failed:
            first = failed[0][1]
            detail = "; ".join(f"{r.kind.value} {r.id}: {e.message}" for r, e in failed)
            raise AccountingError(first.code, detail)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields: the quote, the reservations and when they expire."""
        return {
            "quote": self.quote.to_dict(),
            "reservations": [r.to_dict() for r in self.reservations],
            "expires_at": self.expires_at.isoformat(),
        }


def _reason(refusal: Refusal) -> PricingReason:
    if refusal.code == "limit_reached":
        return LimitReached(refusal.limit or "", refusal.message)
    return Refused(refusal.code, refusal.message)


def _check_accounting(accounting: object, kind: type) -> None:
    if not isinstance(accounting, kind):
        wanted = (
            "an Accounting (acheckout, acommit and arelease take an AsyncAccounting)"
            if kind is Accounting
            else "an AsyncAccounting (checkout, commit and release take an Accounting)"
        )
        raise ValidationError.single("accounting", wanted, accounting)


def _code_state(steps: AccountingSteps, text: str) -> Steps[_CodeState]:
    found = yield from steps.code_promotion(text)
    if isinstance(found, Refusal):
        if found.code == "malformed_code":
            return _CodeState(text, None, (MalformedCode(text),))
        return _CodeState(text, None, (UnknownCode(text),))
    if not isinstance(found, PromoCode):  # a coupon's or an offer's code is not a promo code
        return _CodeState(text, None, (UnknownCode(text),))
    return _CodeState(text, found)


def reserve_quote(
    pricing: Pricing,
    accounting: Accounting,
    cart: Cart,
    user: User,
    at: datetime,
    *,
    hold: timedelta,
    promo_code: str | None = None,
    order_id: str | None = None,
) -> Checkout:
    """`Pricing.checkout`: `checkout_steps` run on an Accounting."""
    _check_accounting(accounting, Accounting)
    steps = checkout_steps(
        pricing,
        accounting.steps,
        cart,
        user,
        at,
        hold=hold,
        promo_code=promo_code,
        order_id=order_id,
    )
    return run_steps(steps, accounting.store)


async def reserve_quote_async(
    pricing: Pricing,
    accounting: AsyncAccounting,
    cart: Cart,
    user: User,
    at: datetime,
    *,
    hold: timedelta,
    promo_code: str | None = None,
    order_id: str | None = None,
) -> Checkout:
    """`Pricing.acheckout`: `checkout_steps` awaited on an AsyncAccounting."""
    _check_accounting(accounting, AsyncAccounting)
    steps = checkout_steps(
        pricing,
        accounting.steps,
        cart,
        user,
        at,
        hold=hold,
        promo_code=promo_code,
        order_id=order_id,
    )
    return await run_steps_async(steps, accounting.store)


def checkout_steps(
    pricing: Pricing,
    accounting: AccountingSteps,
    cart: Cart,
    user: User,
    at: datetime,
    *,
    hold: timedelta,
    promo_code: str | None = None,
    order_id: str | None = None,
) -> Steps[Checkout]:
    """Quote, reserve what the quote applies, re-quote without what was refused, until every
    applied limited promotion is held (as steps of `accounting`'s operations)."""
    check_moment(at)
    if not isinstance(hold, timedelta) or hold <= timedelta(0):
        raise ValidationError.single("hold", "a positive timedelta", hold)
    if order_id is not None and (not isinstance(order_id, str) or not order_id):
        raise ValidationError.single("order_id", "a non-empty string", order_id)
    if promo_code is not None and not isinstance(promo_code, str):
        raise ValidationError.single("promo_code", "a code", promo_code)
    code = None if promo_code is None else (yield from _code_state(accounting, promo_code))
    unavailable: dict[int, PricingReason] = {}
    code_blocked: tuple[PricingReason, ...] = ()
    made: dict[int, Reservation] = {}
    replayed: set[str] = set()  # holds an earlier checkout of the same order made: not ours
    refreshed = 0
    try:
        while True:
            quote = pricing._quote(cart, user, at, code, unavailable, code_blocked)
            needed = pricing._limited_uses(quote)
            refused = stale = False
            for key, quantity in needed.items():
                if key in made:
                    continue
                by_code = key == _CODE
                if by_code:
                    assert code is not None
                    assert code.promotion is not None
                    promotion: Promotion = code.promotion
                else:
                    promotion = pricing._promotions[key]
                ref = promotion_ref(promotion)
                try:
                    # The very version priced is held, or none: the store refuses a version
                    # it no longer keeps (changed or disabled on another machine).
                    outcome = yield from accounting.reserve(
                        user,
                        at,
                        hold=hold,
                        code=promo_code if by_code else None,  # the code's own limits count too
                        promotion=promotion,
                        quantity=quantity,
                        idempotency_key=None if order_id is None else f"checkout|{order_id}|{ref}",
                    )
                except AccountingError as error:
                    if error.code != "stale_promotion":
                        raise
                    if not by_code or refreshed >= _REFRESHES:
                        raise AccountingError(
                            "stale_promotion",
                            f"{ref} changed in the store after this Pricing was built: build "
                            "the Pricing again from the store's promotions (nothing is held)",
                        ) from None
                    # The code's promotion comes from the store: price with its current version.
                    assert promo_code is not None
                    refreshed += 1
                    code = yield from _code_state(accounting, promo_code)
                    stale = True
                    break
                kind, shown = promotion.kind, promotion.key or promo_code or ""
                if outcome.ok:
                    assert outcome.operation_id is not None
                    made[key] = Reservation(kind, shown, outcome.operation_id, quantity)
                    if outcome.replayed:
                        replayed.add(outcome.operation_id)
                    continue
                assert outcome.refusal is not None
                refused = True
                reason = _reason(outcome.refusal)
                if key == _CODE:
                    code_blocked = (reason,)
                else:
                    unavailable[key] = reason
            if stale:
                continue  # priced again with the code's current version
            if not refused:
                # Holds of promotions a later refusal pushed out (a refused code no longer
                # removes the one that excludes them) go back only now: released inside the
                # loop, one needed again would replay its released hold under the order's key.
                for key in [k for k in made if k not in needed]:
                    yield from accounting.release(made.pop(key).operation_id, at)
                ordered = sorted(made.items(), key=lambda pair: pricing._rank(pair[0]))
                return Checkout(quote, tuple(r for _, r in ordered), at + hold)
    except GeneratorExit:
        raise  # abandoned (a cancelled task): no more I/O; the holds expire at at + hold
    except BaseException:
        for reservation in made.values():
            if reservation.operation_id in replayed:
                continue
            with contextlib.suppress(LiveOpsError):
                yield from accounting.release(reservation.operation_id, at)
        raise
