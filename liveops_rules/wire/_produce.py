"""LiveOps answers made from the library's own results: a code's rewards and verification
from its promotion, a promo code's repriced cart from a `Quote`."""

from __future__ import annotations

from collections.abc import Mapping

from liveops_rules.errors import ValidationError
from liveops_rules.models import Coupon, PromoCode, Promotion, PromotionKind, ValidityWindow
from liveops_rules.models.answers import (
    CodeRewards,
    CodeVerification,
    LinePromotion,
    RedeemedCart,
    RedeemedLine,
)
from liveops_rules.pricing import AppliedPromotion, Quote

__all__ = ["code_rewards", "code_verification", "redeemed_cart"]


def code_rewards(promotion: Coupon | PromoCode, *, is_selectable: bool = False) -> CodeRewards:
    """What `promotion`'s codes grant, as LiveOps' `…/code/{code}/rewards` answers it.
    `is_selectable` says whether the player picks the items' units (the library does not
    know the catalog's units)."""
    if isinstance(promotion, PromoCode):
        return CodeRewards(
            bonus=promotion.bonus,
            discount_percent=promotion.discount_percent,
            discounted_items=promotion.discounted_items,
            is_selectable=is_selectable,
        )
    if isinstance(promotion, Coupon):
        return CodeRewards(bonus=promotion.bonus, is_selectable=is_selectable)
    raise ValidationError.single("promotion", "a Coupon or a PromoCode", promotion)


def code_verification(
    promotion: Coupon | PromoCode, code: str, *, is_selectable: bool = False
) -> CodeVerification:
    """LiveOps' answer to verifying `code`, a code of `promotion`."""
    return CodeVerification(
        kind=promotion.kind,
        code=code,
        rewards=code_rewards(promotion, is_selectable=is_selectable),
    )


def _line_promotion(
    applied: AppliedPromotion,
    promotions: Mapping[tuple[PromotionKind, str], Promotion],
    locale: str,
) -> LinePromotion:
    found = promotions.get((applied.kind, applied.id))
    name = None
    window = ValidityWindow()
    if found is not None:
        window = found.window
        name = found.name if isinstance(found.name, str) else found.name.best(locale)
    return LinePromotion(
        name=name, window=window, discount_percent=applied.percent, bonus=applied.items
    )


def redeemed_cart(
    quote: Quote,
    *,
    cart_id: str | None = None,
    promotions: Mapping[tuple[PromotionKind, str], Promotion] | None = None,
    locale: str = "en",
) -> RedeemedCart:
    """LiveOps' answer to redeeming a promo code for the cart `quote` priced: each line's
    unit price after and before discounts with the promotions on it, the cart's totals, the
    bonus items as lines of their own (`is_bonus`) and the code's rewards when it applied.

    `promotions` (by kind and key) gives the promotions' names (in `locale`) and dates;
    without it they are left out.
    """
    if not isinstance(quote, Quote):
        raise ValidationError.single("quote", "a Quote", quote)
    known = promotions or {}
    lines = [
        RedeemedLine(
            sku=line.sku,
            quantity=line.quantity,
            amount=line.final_price,
            amount_without_discount=line.price,
            currency=None if line.price is None else quote.currency,
            is_free=line.final_price == 0 and line.virtual_price is None,
            promotions=[_line_promotion(a, known, locale) for a in line.applied],
        )
        for line in quote.lines
    ]
    lines.extend(
        RedeemedLine(sku=item.sku, quantity=item.quantity, is_free=True, is_bonus=True)
        for item in quote.bonus_items
    )
    rewards = None
    for applied in quote.applied:
        if applied.kind is PromotionKind.PROMO_CODE:
            code = known.get((applied.kind, applied.id))
            rewards = (
                code_rewards(code)
                if isinstance(code, PromoCode)
                else CodeRewards(bonus=applied.items, discount_percent=applied.percent)
            )
    return RedeemedCart(
        cart_id=cart_id,
        currency=quote.currency,
        amount=quote.total,
        amount_without_discount=quote.total_before,
        is_free=quote.total == 0 and not quote.virtual_totals(),
        items=lines,
        rewards=rewards,
    )
