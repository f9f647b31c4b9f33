"""Cart pricing: the discounts, promo code and bonuses that apply to a cart, and what it costs.

The rules, in the order they are applied:

1. A discount targets a line when it lists the line's SKU, or lists none and the unit price
   meets its `price_conditions` (with both, both must hold). A bonus targets a line when its
   `condition` lists the SKU, or is None (any purchase); its `price_conditions` must hold on
   the line's unit price. Price conditions compare undiscounted unit prices.
2. A targeting promotion applies when the evaluator says it applies to the user at `at`, and
   (with a per-user limit) the user is signed in.
3. One promo code per cart. Its cart `price_conditions` compare the cart's undiscounted
   total; its `item_price_conditions` pick the lines whose undiscounted unit price meets them.
   Its discount is per line (`discounted_items`, or `discount_percent` on the lines
   `item_price_conditions` pick) or on the whole cart (`discount_percent` otherwise).
4. Exclusions: the promo code's `excluded_promotions` go first and remove the promotions it
   names. Then every remaining promotion (the code included) that another remaining
   discount or bonus names in its `excluded_promotions` is removed.
5. Discounts stack multiplicatively and never touch virtual-currency prices. Each line's unit
   price is multiplied by every factor (1 - percent/100) exactly and rounded once, half-up,
   to the currency's minor unit, so the order of promotions never matters. The line costs
   that unit price times its quantity; the cart total is the sum of its lines. What each
   promotion took is the difference of the rounded running unit prices, in a fixed order
   (discounts by id, then the code's, its item and cart discounts combined), times the
   quantity: the shares add up to the discount exactly.
6. Each applied bonus (and the code's bonus) is granted once per cart.

Undiscounted comparisons keep the result monotone: adding a discount never raises a price.
A quote reads no store and no clock; `checkout` reserves the limits of what it applies.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast

import attrs

from liveops_rules._pricing_index import PricingIndex
from liveops_rules.catalog import Catalog
from liveops_rules.codes import is_valid_code
from liveops_rules.error_catalog import ErrorCode, error_code_for
from liveops_rules.errors import ValidationError
from liveops_rules.evaluate import check_moment, eligible_at, evaluate
from liveops_rules.models import (
    Bonus,
    ItemDiscount,
    PromoCode,
    Promotion,
    PromotionKind,
    RewardItem,
    User,
)
from liveops_rules.models.cart import Cart, VirtualPrice
from liveops_rules.money import QUANTA, WIDE, round_money
from liveops_rules.reasons import (
    Excluded,
    MalformedCode,
    NoMatchingItem,
    PriceConditionFailed,
    PricingReason,
    SignInRequired,
    UnknownCode,
)

if TYPE_CHECKING:
    from liveops_rules.accounting import Accounting, AsyncAccounting
    from liveops_rules.checkout import Checkout

__all__ = ["AppliedPromotion", "NotApplied", "PricedLine", "Pricing", "Quote", "promo_codes_of"]

_KINDS = (PromotionKind.ITEM_DISCOUNT, PromotionKind.BONUS)
_HUNDRED = Decimal(100)
_CODE = -1  # the promo code's place where a promotion index is expected
_ZERO = Decimal(0)


def _money(amount: Decimal, places: int) -> str:
    return str(round_money(amount, places))


F = TypeVar("F", bound=Callable[..., Any])


def _wide(function: F) -> F:
    """Run `function` in the wide decimal context: no sum of a quote is ever rounded, and
    products of realistic factors stay exact (factors are multiplied in a fixed order, so even
    a rounded product would not depend on the promotions' order)."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        with localcontext(WIDE):
            return function(*args, **kwargs)

    return cast(F, run)


def promo_codes_of(
    promotions: Iterable[Promotion], codes: Mapping[tuple[PromotionKind, str], Sequence[str]]
) -> dict[str, PromoCode]:
    """The `codes` argument of `Pricing` for a catalog file: each promo code's codes, from
    the promotions and codes `load_catalog_codes` reads."""
    return {
        text: promotion
        for promotion in promotions
        if isinstance(promotion, PromoCode)
        for text in codes.get((promotion.kind, promotion.key or ""), ())
    }


def _code_name(promo: PromoCode, code: _CodeState | None) -> str:
    """A promo code's name in results: its id, else the text typed (a code without ids)."""
    return promo.key or (code.text if code is not None else None) or "promocode"


def _combined(percents: list[Decimal]) -> Decimal:
    """The one percent that takes off as much as `percents` applied one after another."""
    if len(percents) == 1:
        return percents[0]
    factor = Decimal(1)
    with localcontext(WIDE):
        for percent in percents:
            factor = factor * (_HUNDRED - percent) / _HUNDRED
        combined = (_HUNDRED - factor * _HUNDRED).normalize()
    # normalize() writes 20 as 2E+1: whole percents are quantized back to plain digits
    return combined.quantize(Decimal(1)) if combined == combined.to_integral_value() else combined


# A NamedTuple rather than an attrs class: several are made per line of every quote.
class AppliedPromotion(NamedTuple):
    """A promotion that applied: how much money it took (on a line, or over the cart), its
    percent when it is a single discount, and the items it grants."""

    kind: PromotionKind
    id: str
    amount: Decimal
    percent: Decimal | None = None
    items: tuple[RewardItem, ...] = ()

    def to_dict(self, places: int) -> dict[str, Any]:
        """JSON-ready fields, money as decimal strings with `places` decimals."""
        document: dict[str, Any] = {
            "kind": self.kind.value,
            "id": self.id,
            "amount": _money(self.amount, places),
        }
        if self.percent is not None:
            document["percent"] = str(self.percent)
        if self.items:
            document["items"] = [{"sku": i.sku, "quantity": i.quantity} for i in self.items]
        return document


@attrs.frozen
class PricedLine:
    """One cart line priced: its unit price before and after discounts, its totals and the
    discounts that applied to it. Money fields are None for a virtual-currency-only line."""

    sku: str
    quantity: int
    price: Decimal | None
    final_price: Decimal | None
    total_before: Decimal | None
    total: Decimal | None
    virtual_price: VirtualPrice | None
    applied: tuple[AppliedPromotion, ...]

    def to_dict(self, places: int) -> dict[str, Any]:
        """JSON-ready fields, money as decimal strings."""

        def money(amount: Decimal | None) -> str | None:
            return None if amount is None else _money(amount, places)

        document: dict[str, Any] = {
            "sku": self.sku,
            "quantity": self.quantity,
            "price": money(self.price),
            "final_price": money(self.final_price),
            "total_before": money(self.total_before),
            "total": money(self.total),
            "applied": [a.to_dict(places) for a in self.applied],
        }
        if self.virtual_price is not None:
            document["virtual_price"] = {
                "currency": self.virtual_price.currency,
                "amount": self.virtual_price.amount,
            }
        return document


@attrs.frozen
class NotApplied:
    """A promotion that targets the cart (or the promo code asked for) but does not apply,
    with every reason."""

    kind: PromotionKind
    id: str
    reasons: tuple[PricingReason, ...]

    @property
    def error_code(self) -> ErrorCode:
        """LiveOps' error code for the first reason (what a promo code field would show)."""
        return error_code_for(self.reasons[0])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        document: dict[str, Any] = {"kind": self.kind.value, "id": self.id}
        if self.kind is PromotionKind.PROMO_CODE:
            document["error_code"] = int(self.error_code)
        document["reasons"] = [r.to_dict() for r in self.reasons]
        return document


@attrs.frozen
class Quote:
    """A priced cart: its lines, totals before and after, what applied and what did not."""

    currency: str
    minor_units: int
    lines: tuple[PricedLine, ...]
    total_before: Decimal
    total: Decimal
    bonus_items: tuple[RewardItem, ...]
    applied: tuple[AppliedPromotion, ...]
    """Every promotion that applied, with the money it took over the whole cart."""
    not_applied: tuple[NotApplied, ...]
    promo_code: str | None = None
    """The code asked for, as given."""
    quantities: tuple[tuple[PromotionKind, str, int], ...] = attrs.field(default=(), repr=False)
    """How many units each applied discount covers (what a per-user limit counts)."""

    @property
    def discount(self) -> Decimal:
        """How much less the cart costs than before its discounts."""
        return WIDE.subtract(self.total_before, self.total)

    @property
    def promo_code_applied(self) -> bool:
        """Whether the promo code asked for applies."""
        return any(a.kind is PromotionKind.PROMO_CODE for a in self.applied)

    @property
    def promo_code_refusal(self) -> NotApplied | None:
        """Why the promo code asked for does not apply, or None."""
        for entry in self.not_applied:
            if entry.kind is PromotionKind.PROMO_CODE:
                return entry
        return None

    def virtual_totals(self) -> dict[str, int]:
        """The virtual-currency total of the cart per currency SKU (never discounted)."""
        totals: dict[str, int] = {}
        for line in self.lines:
            if line.virtual_price is not None:
                currency = line.virtual_price.currency
                totals[currency] = totals.get(currency, 0) + line.virtual_price.amount * (
                    line.quantity
                )
        return totals

    def to_dict(self) -> dict[str, Any]:
        """The quote as JSON-ready data, money as decimal strings."""
        places = self.minor_units
        document: dict[str, Any] = {
            "currency": self.currency,
            "total_before": _money(self.total_before, places),
            "total": _money(self.total, places),
            "discount": _money(self.discount, places),
            "lines": [line.to_dict(places) for line in self.lines],
            "bonus_items": [{"sku": i.sku, "quantity": i.quantity} for i in self.bonus_items],
            "applied": [a.to_dict(places) for a in self.applied],
            "not_applied": [n.to_dict() for n in self.not_applied],
        }
        totals = self.virtual_totals()
        if totals:
            document["virtual_totals"] = totals
        if self.promo_code is not None:
            document["promo_code"] = self.promo_code
        return document


@attrs.frozen
class _CodeState:
    """The promo code asked for: the text, the promotion found (if any) and its refusal."""

    text: str | None
    promotion: PromoCode | None
    reasons: tuple[PricingReason, ...] = ()


class Pricing:
    """Prices carts against a catalog's discounts and bonuses, and a set of promo codes.

    Build once (it indexes the catalog), quote many times. `codes` maps each code to its
    promo code; `code_normalizer` (for example `normalize_code`) is applied to codes typed
    by users and to the keys of `codes`.
    """

    def __init__(
        self,
        catalog: Catalog | Iterable[Promotion],
        *,
        codes: Mapping[str, PromoCode] | None = None,
        code_normalizer: Callable[[str], str] | None = None,
    ) -> None:
        self.catalog = catalog if isinstance(catalog, Catalog) else Catalog(catalog)
        self._promotions: tuple[Promotion, ...] = tuple(self.catalog)
        self._index = PricingIndex(self._promotions)
        self._positions = {(p.kind, p.key): i for i, p in enumerate(self._promotions)}
        self._keys = [p.key or "" for p in self._promotions]
        with localcontext(WIDE):
            self._factors = {  # each discount's factor and percent
                i: ((_HUNDRED - p.discount_percent) / _HUNDRED, p.discount_percent)
                for i, p in enumerate(self._promotions)
                if isinstance(p, ItemDiscount)
            }
        self._normalize = code_normalizer
        self._codes: dict[str, PromoCode] = {}
        for code, promotion in (codes or {}).items():
            if not isinstance(code, str) or not is_valid_code(self._code(code)):
                raise ValidationError.single("codes", "codes of Latin letters and digits", code)
            if not isinstance(promotion, PromoCode):
                raise ValidationError.single(f"codes[{code!r}]", "a PromoCode", promotion)
            self._codes[self._code(code)] = promotion

    def _code(self, text: str) -> str:
        return self._normalize(text) if self._normalize is not None else text

    def quote(
        self,
        cart: Cart,
        user: User,
        at: datetime,
        *,
        promo_code: str | PromoCode | None = None,
    ) -> Quote:
        """Price `cart` for `user` at `at`, with the promo code given as its code (looked up in
        `codes`) or as the promotion itself. Reads no store: limits are checked by `checkout`.

        An unknown, malformed or unusable code does not stop the quote: the cart is priced
        without it and the code is in `not_applied` with its reasons and LiveOps error code.
        """
        return self._quote(cart, user, at, self._lookup(promo_code), {}, ())

    def checkout(
        self,
        accounting: Accounting,
        cart: Cart,
        user: User,
        at: datetime,
        *,
        hold: timedelta,
        promo_code: str | None = None,
        order_id: str | None = None,
    ) -> Checkout:
        """Quote `cart` and reserve, until `at + hold`, the limits of every promotion it
        applies (see `liveops_rules.checkout`); commit or release them with the order.

        `promo_code` is looked up in the accounting's store (its codes and its copy of the
        promotion), not in `codes`: codes generated in the store work, and a code disabled
        there no longer applies. `order_id` names the order, so that a retried checkout
        reserves nothing twice.
        """
        from liveops_rules.checkout import reserve_quote

        return reserve_quote(
            self, accounting, cart, user, at, hold=hold, promo_code=promo_code, order_id=order_id
        )

    async def acheckout(
        self,
        accounting: AsyncAccounting,
        cart: Cart,
        user: User,
        at: datetime,
        *,
        hold: timedelta,
        promo_code: str | None = None,
        order_id: str | None = None,
    ) -> Checkout:
        """`checkout`, awaited on an AsyncAccounting (the same steps); commit or release it
        with `Checkout.acommit` and `arelease`."""
        from liveops_rules.checkout import reserve_quote_async

        return await reserve_quote_async(
            self, accounting, cart, user, at, hold=hold, promo_code=promo_code, order_id=order_id
        )

    def _lookup(self, promo_code: str | PromoCode | None) -> _CodeState | None:
        if promo_code is None:
            return None
        if isinstance(promo_code, PromoCode):
            return _CodeState(None, promo_code)
        if not isinstance(promo_code, str):
            raise ValidationError.single("promo_code", "a code or a PromoCode", promo_code)
        text = self._code(promo_code)
        if not is_valid_code(text):
            return _CodeState(promo_code, None, (MalformedCode(promo_code),))
        found = self._codes.get(text)
        if found is None:
            return _CodeState(promo_code, None, (UnknownCode(promo_code),))
        return _CodeState(promo_code, found)

    def _limited_uses(self, quote: Quote) -> dict[int, int]:
        """What a checkout of `quote` must reserve: catalog position (or `_CODE`) to count."""
        needed: dict[int, int] = {}
        for kind, key, count in quote.quantities:
            position = self._positions[kind, key]
            if position in self._index.limited:
                needed[position] = count
        if quote.promo_code_applied:
            needed[_CODE] = 1
        return needed

    def _rank(self, position: int) -> int:
        """Where a catalog position (or `_CODE`, last) comes in results."""
        return len(self._promotions) if position == _CODE else self._index.ranks[position]

    # -- the computation ----------------------------------------------------------------------

    @_wide
    def _quote(
        self,
        cart: Cart,
        user: User,
        at: datetime,
        code: _CodeState | None,
        unavailable: Mapping[int, PricingReason],
        code_blocked: tuple[PricingReason, ...],
    ) -> Quote:
        """The quote, with the promotions in `unavailable` (catalog index: reason) and the
        code (when `code_blocked` is given) refused by a checkout."""
        if not isinstance(cart, Cart):
            raise ValidationError.single("cart", "a Cart", cart)
        if not isinstance(user, User):
            raise ValidationError.single("user", "a User", user)
        check_moment(at)
        index, promotions, places = self._index, self._promotions, cart.minor_units
        targets = [index.targets(line.sku, line.price) for line in cart.lines]
        relevant: set[int] = set()
        for discounts, bonuses in targets:
            relevant.update(discounts)
            relevant.update(bonuses)
        mask = self.catalog._mask(user, at, _KINDS) if relevant else 0
        eligible = {i for i in relevant if mask >> i & 1}
        anonymous_blocked: set[int] = set()
        if user.id is None:
            anonymous_blocked = eligible & index.limited
            eligible -= anonymous_blocked
        candidates = eligible - unavailable.keys()

        total_before = sum(
            (line.price * line.quantity for line in cart.lines if line.price is not None),
            Decimal(0),
        )
        promo, code_reasons, code_percents = self._code_effects(
            code, cart, user, at, total_before, code_blocked
        )

        # Exclusions: the code's first, then every remaining promotion's at once.
        excluded: dict[int, Excluded] = {}
        if promo is not None:
            by_code = Excluded("promocode", _code_name(promo, code))
            for number in promo.excluded_promotions:
                for position in index.by_id.get(number, ()):
                    if position in candidates:
                        excluded.setdefault(position, by_code)
        remaining = candidates - excluded.keys()
        dropped: dict[int, Excluded] = {}
        for position in sorted(remaining & index.excluders, key=index.ranks.__getitem__):
            excluder = promotions[position]
            assert isinstance(excluder, ItemDiscount | Bonus)
            reason = Excluded(excluder.kind.value, self._keys[position])
            for number in excluder.excluded_promotions:
                for target in index.by_id.get(number, ()):
                    if target in remaining and target != position:
                        dropped.setdefault(target, reason)
                if promo is not None and number == promo.promotion_id:
                    code_reasons = (*code_reasons, reason)
                    promo = None
        excluded.update(dropped)
        applied = remaining - dropped.keys()
        if promo is None:
            code_percents = {}

        return self._assemble(
            cart,
            user,
            at,
            code,
            promo,
            code_reasons,
            code_percents,
            targets,
            relevant,
            eligible,
            anonymous_blocked,
            applied,
            excluded,
            unavailable,
            total_before,
            places,
        )

    def _code_effects(
        self,
        code: _CodeState | None,
        cart: Cart,
        user: User,
        at: datetime,
        total_before: Decimal,
        blocked: tuple[PricingReason, ...],
    ) -> tuple[PromoCode | None, tuple[PricingReason, ...], dict[int, Decimal]]:
        """The promo code if it applies (else None and its reasons), and the percent it takes
        off each line it discounts (its cart discount and item discount combined)."""
        if code is None:
            return None, (), {}
        promo = code.promotion
        if promo is None:
            return None, code.reasons, {}
        if blocked:
            return None, blocked, {}
        if not eligible_at(promo, user, at):
            return None, evaluate(promo, user, at).reasons, {}
        if promo.redeem_user_limit is not None and user.id is None:
            return None, (SignInRequired(),), {}
        failed: list[PricingReason] = [
            PriceConditionFailed(
                "cart total", c.operator.value, str(c.value), _money(total_before, cart.minor_units)
            )
            for c in promo.price_conditions or ()
            if not c.holds(total_before)
        ]
        if failed:
            return None, tuple(failed), {}
        listed = {item.sku: item.percent for item in promo.discounted_items or ()}
        picks = promo.item_price_conditions
        percents: dict[int, Decimal] = {}
        picked = False
        for position, line in enumerate(cart.lines):
            if line.price is None:
                continue
            owned: list[Decimal] = []
            if picks is None:
                if promo.discount_percent is not None:
                    owned.append(promo.discount_percent)  # the whole cart's discount
            elif all(c.holds(line.price) for c in picks):
                picked = True
                if promo.discount_percent is not None:
                    owned.append(promo.discount_percent)
            if line.sku in listed:
                owned.append(listed[line.sku])
            if owned:
                percents[position] = _combined(owned)
        if (picks is not None and not picked) or not (promo.bonus or percents):
            return None, (NoMatchingItem(),), {}
        return promo, (), percents

    def _assemble(
        self,
        cart: Cart,
        user: User,
        at: datetime,
        code: _CodeState | None,
        promo: PromoCode | None,
        code_reasons: tuple[PricingReason, ...],
        code_percents: dict[int, Decimal],
        targets: list[tuple[tuple[int, ...], tuple[int, ...]]],
        relevant: set[int],
        eligible: set[int],
        anonymous_blocked: set[int],
        applied: set[int],
        excluded: Mapping[int, Excluded],
        unavailable: Mapping[int, PricingReason],
        total_before: Decimal,
        places: int,
    ) -> Quote:
        promotions, ranks, keys = self._promotions, self._index.ranks, self._keys
        factors = self._factors
        code_key = None if promo is None else _code_name(promo, code)
        shares: dict[int, Decimal] = {}  # promotion position (or _CODE): money taken
        units: dict[int, int] = {}
        lines = []
        total = Decimal(0)
        quantum = QUANTA[places]
        for position, line in enumerate(cart.lines):
            if line.price is None:
                lines.append(
                    PricedLine(
                        line.sku, line.quantity, None, None, None, None, line.virtual_price, ()
                    )
                )
                continue
            steps = [
                (found, *factors[found], PromotionKind.ITEM_DISCOUNT, keys[found])
                for found in targets[position][0]
                if found in applied
            ]
            if position in code_percents:
                percent = code_percents[position]
                factor = (_HUNDRED - percent) / _HUNDRED
                steps.append((_CODE, factor, percent, PromotionKind.PROMO_CODE, code_key or ""))
            line_applied: list[AppliedPromotion] = []
            unit = rounded = line.price
            for owner, factor, percent, kind, key in steps:
                unit = unit * factor
                now = unit.quantize(quantum, ROUND_HALF_UP)
                share = (rounded - now) * line.quantity
                rounded = now
                shares[owner] = shares.get(owner, _ZERO) + share
                if owner != _CODE:  # a checkout counts one use of the code, whatever it covers
                    units[owner] = units.get(owner, 0) + line.quantity
                line_applied.append(AppliedPromotion(kind, key, share, percent))
            line_total = rounded * line.quantity
            total += line_total
            lines.append(
                PricedLine(
                    line.sku,
                    line.quantity,
                    line.price,
                    rounded,
                    line.price * line.quantity,
                    line_total,
                    line.virtual_price,
                    tuple(line_applied),
                )
            )

        cart_applied: list[AppliedPromotion] = []
        bonus_items: dict[str, int] = {}

        def grant(items: tuple[RewardItem, ...]) -> None:
            for item in items:
                bonus_items[item.sku] = bonus_items.get(item.sku, 0) + item.quantity

        for found in sorted(applied, key=ranks.__getitem__):
            promotion = promotions[found]
            if isinstance(promotion, ItemDiscount):
                cart_applied.append(
                    AppliedPromotion(
                        promotion.kind,
                        keys[found],
                        shares.get(found, _ZERO),
                        promotion.discount_percent,
                    )
                )
            else:
                assert isinstance(promotion, Bonus)
                grant(promotion.bonus)
                cart_applied.append(
                    AppliedPromotion(promotion.kind, keys[found], _ZERO, None, promotion.bonus)
                )
                units[found] = 1
        if promo is not None:
            grant(promo.bonus)
            single = promo.discount_percent if not promo.discounted_items else None
            cart_applied.append(
                AppliedPromotion(
                    PromotionKind.PROMO_CODE,
                    code_key or "",
                    shares.get(_CODE, _ZERO),
                    single,
                    promo.bonus,
                )
            )

        not_applied: list[NotApplied] = []
        for found in sorted(relevant - applied, key=ranks.__getitem__):
            promotion = promotions[found]
            reasons: tuple[PricingReason, ...]
            if found in unavailable:
                reasons = (unavailable[found],)
            elif found in anonymous_blocked:
                reasons = (SignInRequired(),)
            elif found not in eligible:
                reasons = evaluate(promotion, user, at).reasons
            else:
                reasons = (excluded[found],)
            not_applied.append(NotApplied(promotion.kind, keys[found], reasons))
        if code is not None and promo is None:
            shown_id = code.promotion.key if code.promotion is not None else None
            not_applied.append(
                NotApplied(PromotionKind.PROMO_CODE, shown_id or code.text or "", code_reasons)
            )

        quantities = tuple(
            (promotions[found].kind, keys[found], count)
            for found, count in sorted(units.items(), key=lambda pair: ranks[pair[0]])
        )
        return Quote(
            currency=cart.currency,
            minor_units=places,
            lines=tuple(lines),
            total_before=total_before,
            total=total,
            bonus_items=tuple(RewardItem(sku, count) for sku, count in bonus_items.items()),
            applied=tuple(cart_applied),
            not_applied=tuple(not_applied),
            promo_code=None if code is None else code.text,
            quantities=quantities,
        )
