"""`quote`: price a cart with a catalog's promotions and a promo code, and why others not; with
`--store`, a checkout that holds the limits of what it applied."""

from __future__ import annotations

import argparse
from decimal import Decimal
from typing import TextIO

from liveops_rules.catalog import Catalog
from liveops_rules.cli.common import (
    EXIT_OK,
    CliError,
    Commands,
    accounting_on,
    at_option,
    format_option,
    load_file,
    store_option,
    write_json,
)
from liveops_rules.cli.inputs import MAX_HOLD_SECONDS, hold_argument, text_argument
from liveops_rules.models import PromotionKind
from liveops_rules.money import round_money
from liveops_rules.pricing import Pricing, Quote, promo_codes_of
from liveops_rules.wire import load_cart, load_catalog_codes, load_user

__all__ = ["register"]


def _print_quote(quote: Quote, out: TextIO) -> None:
    places = quote.minor_units

    def money(amount: Decimal | None) -> str:
        return "-" if amount is None else str(round_money(amount, places))

    header = ("SKU", "QTY", "PRICE", "FINAL", "TOTAL", "APPLIED")
    rows = [
        (
            line.sku,
            str(line.quantity),
            money(line.price),
            money(line.final_price),
            money(line.total),
            ", ".join(f"{a.kind.value} {a.id} -{money(a.amount)}" for a in line.applied),
        )
        for line in quote.lines
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:5], widths[1:5], strict=True)
        ]
        out.write(("  ".join(cells) + "  " + row[5]).rstrip() + "\n")
    out.write(
        f"total {money(quote.total_before)} -> {money(quote.total)} {quote.currency}"
        f" (discount {money(quote.discount)})\n"
    )
    for currency, amount in quote.virtual_totals().items():
        out.write(f"virtual currency: {amount} {currency} (never discounted)\n")
    if quote.bonus_items:
        granted = ", ".join(f"{i.quantity} x {i.sku}" for i in quote.bonus_items)
        out.write(f"bonus items: {granted}\n")
    if quote.not_applied:
        out.write("not applied:\n")
    for entry in quote.not_applied:
        code = f" [{int(entry.error_code)}]" if entry.kind is PromotionKind.PROMO_CODE else ""
        why = "; ".join(r.message for r in entry.reasons)
        out.write(f"  {entry.kind.value} {entry.id}{code}: {why}\n")


def _quote(args: argparse.Namespace, out: TextIO) -> int:
    cart = load_file(args.cart, "cart", load_cart)
    user = load_file(args.user, "user", load_user)
    promotions, codes = load_file(args.catalog, "catalog", load_catalog_codes)
    at = args.at
    pricing = Pricing(Catalog(promotions), codes=promo_codes_of(promotions, codes))
    if args.store is None:
        for flag in ("order_id", "commit"):
            if getattr(args, flag):
                raise CliError(f"--{flag.replace('_', '-')} needs --store (a checkout)")
        quote = pricing.quote(cart, user, at, promo_code=args.promocode)
        if args.format == "json":
            write_json(out, quote.to_dict())
        else:
            _print_quote(quote, out)
        return EXIT_OK
    try:
        at + args.hold
    except OverflowError:
        raise CliError(
            f"--hold: {at.isoformat()} plus {args.hold.total_seconds():g} s is past the year 9999"
        ) from None
    with accounting_on(args.store) as accounting:
        accounting.import_catalog(promotions, codes)
        checkout = pricing.checkout(
            accounting,
            cart,
            user,
            at,
            hold=args.hold,
            promo_code=args.promocode,
            order_id=args.order_id,
        )
        if args.commit:
            checkout.commit(accounting, at)
    if args.format == "json":
        document = checkout.to_dict()
        document["committed"] = bool(args.commit)
        write_json(out, document)
        return EXIT_OK
    _print_quote(checkout.quote, out)
    state = "committed" if args.commit else f"held until {checkout.expires_at.isoformat()}"
    for reservation in checkout.reservations:
        out.write(
            f"{state}: {reservation.kind.value} {reservation.id} x{reservation.quantity}"
            f" ({reservation.operation_id})\n"
        )
    return EXIT_OK


def register(commands: Commands) -> None:
    """Add `quote`."""
    quote = commands.add_parser(
        "quote", help="price a cart: discounts, a promo code and bonuses, and why others not"
    )
    quote.add_argument("cart", metavar="CART.json")
    quote.add_argument("--user", required=True, metavar="USER.json")
    quote.add_argument("--catalog", required=True, metavar="CATALOG.json")
    at_option(quote)
    quote.add_argument(
        "--promocode", type=text_argument, metavar="CODE", help="a promo code from the catalog"
    )
    format_option(quote)
    store_option(quote, required=False, help="check out: hold the applied promotions' limits there")
    quote.add_argument(
        "--hold",
        type=hold_argument,
        default=hold_argument("900"),
        metavar="SECONDS",
        help=f"how long a checkout holds (default 900; more than 0, at most {MAX_HOLD_SECONDS})",
    )
    quote.add_argument(
        "--order-id",
        type=text_argument,
        metavar="ID",
        help="retrying the order holds nothing twice",
    )
    quote.add_argument("--commit", action="store_true", help="commit the holds (a paid order)")
    quote.set_defaults(run=_quote)
