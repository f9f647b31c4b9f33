"""Money arithmetic: currencies' minor units and the one rounding rule pricing uses.

Amounts are `Decimal`. A currency's minor unit is its ISO 4217 exponent: 2 decimals unless the
currency says otherwise (JPY and KRW have none, BHD and KWD have 3, CLF has 4). Rounding is
half-up (0.005 USD becomes 0.01), the rule shops and LiveOps' "rounded to 2 decimal places"
follow.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Context, Decimal

from liveops_rules.errors import ValidationError

__all__ = ["CURRENCY_PATTERN", "minor_units", "round_money"]

CURRENCY_PATTERN = r"[A-Z]{3}"
"""A currency: a three-letter ISO 4217 code in upper case."""

_CURRENCY = re.compile(CURRENCY_PATTERN, re.ASCII)

# ISO 4217 currencies whose exponent is not 2 (list of codes maintained by SIX, 2024).
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(),  # noqa: SIM905
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}

QUANTA = tuple(Decimal(1).scaleb(-places) for places in range(9))
"""`QUANTA[places]` is the smallest amount with `places` decimals (0..8): 1, 0.1, 0.01, ..."""
# Room for any cart total (10**15 a unit x 10**6 units x 1,000 lines, 8 decimals) and more.
WIDE = Context(prec=60)
"""The decimal context money arithmetic runs in: wide enough that sums never round."""


def minor_units(currency: str) -> int:
    """How many decimals `currency` (an ISO 4217 code such as `USD`) has: 2 unless ISO says
    otherwise. ValidationError for text that is not a three-letter upper-case code."""
    if not isinstance(currency, str) or _CURRENCY.fullmatch(currency) is None:
        raise ValidationError.single("currency", "a three-letter ISO 4217 code", currency)
    return _EXPONENTS.get(currency, 2)


def round_money(amount: Decimal, places: int) -> Decimal:
    """`amount` rounded half-up to `places` decimals (0..8)."""
    return amount.quantize(QUANTA[places], rounding=ROUND_HALF_UP, context=WIDE)
