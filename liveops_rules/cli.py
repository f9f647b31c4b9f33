"""The `liveops-rules` command: parse arguments, call the library, print. Nothing more."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import TextIO, TypeVar

from liveops_rules.accounting import Accounting, AccountingError, Outcome
from liveops_rules.catalog import Catalog
from liveops_rules.errors import StoreError, ValidationError
from liveops_rules.evaluate import Decision
from liveops_rules.models import PromotionKind
from liveops_rules.money import round_money
from liveops_rules.pricing import Pricing, Quote, promo_codes_of
from liveops_rules.stores import RedemptionStore, open_store
from liveops_rules.wire import (
    PAYLOAD_KINDS,
    Form,
    load_cart,
    load_catalog,
    load_catalog_codes,
    load_payload,
    load_user,
    read_json_file,
)
from liveops_rules.wire._detect import detect_kinds

__all__ = ["main"]

T = TypeVar("T")

_PROMOTION_KINDS = frozenset(kind.value for kind in PromotionKind)

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2


class _CliError(Exception):
    """A problem with the command's input, printed as one message with exit status 2."""


def _load(path: str, what: str, loader: Callable[[object], T]) -> T:
    try:
        data = read_json_file(path)
        return loader(data)
    except ValidationError as error:
        lines = [f"{path}: invalid {what}:"] + [f"  {p}" for p in error.problems]
        if len(error.problems) == 1:
            lines = [f"{path}: {error.problems[0]}"]
        raise _CliError("\n".join(lines)) from None


def _moment(text: str) -> datetime:
    if text == "now":
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise _CliError(f"--at: expected an ISO 8601 date-time, found {text!r}") from None
    if at.utcoffset() is None:
        raise _CliError(f"--at: {text!r} has no UTC offset; add one, like {text}+00:00")
    return at


def _result(decision: Decision) -> dict[str, object]:
    promotion = decision.promotion
    return {
        "kind": promotion.kind.value,
        "id": promotion.key,
        "eligible": decision.eligible,
        "reasons": [reason.to_dict() for reason in decision.reasons],
    }


def _print_table(decisions: Sequence[Decision], out: TextIO) -> None:
    rows = [
        (
            d.promotion.kind.value,
            d.promotion.key or "",
            "yes" if d.eligible else "no",
            "; ".join(r.message for r in d.reasons),
        )
        for d in decisions
    ]
    header = ("KIND", "ID", "ELIGIBLE", "WHY NOT")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    for row in [header, *rows]:
        out.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)))
        out.write(f"  {row[3]}".rstrip() + "\n")


def _check(args: argparse.Namespace, out: TextIO) -> int:
    promotions = _load(args.catalog, "catalog", load_catalog)
    user = _load(args.user, "user", load_user)
    at = _moment(args.at)
    decisions = Catalog(promotions).evaluate_all(user, at)
    if args.format == "json":
        document = {
            "at": at.isoformat(),
            "user": user.id,
            "results": [_result(d) for d in decisions],
        }
        out.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:
        _print_table(decisions, out)
    return EXIT_OK


def _has_forms(kind: str) -> bool:
    return kind in _PROMOTION_KINDS or kind == "catalog"


def _validate_one(path: str, kind: str | None, form: str | None) -> list[str]:
    """Lines to print for one file; the first says valid or invalid."""
    try:
        data = read_json_file(path)
    except ValidationError as error:
        return [f"{path}: invalid JSON"] + [f"  {p}" for p in error.problems]
    candidates = (kind,) if kind else detect_kinds(data)
    failures: list[tuple[str, ValidationError]] = []
    for candidate in candidates:
        try:
            # A form is checked where a payload has forms (promotions, catalogs of them);
            # other payloads have one form only.
            load_payload(candidate, data, form=form if _has_forms(candidate) else None)
        except ValidationError as error:
            failures.append((candidate, error))
            continue
        checked = f" ({form})" if form and _has_forms(candidate) else ""
        return [f"{path}: valid {candidate}{checked}"]
    best, refusal = min(failures, key=lambda failure: len(failure[1].problems))
    guess = "" if kind else f" (read as {best}; pass --kind if it is another kind)"
    return [f"{path}: invalid {best}{guess}"] + [f"  {p}" for p in refusal.problems]


def _validate(args: argparse.Namespace, out: TextIO) -> int:
    status = EXIT_OK
    for path in args.files:
        lines = _validate_one(path, args.kind, args.form)
        if not lines[0].startswith(f"{path}: valid"):
            status = EXIT_USAGE
        out.write("\n".join(lines) + "\n")
    return status


def _store(uri: str) -> RedemptionStore:
    try:
        return open_store(uri)
    except (ValidationError, StoreError) as error:
        raise _CliError(f"--store: {error}") from None


def _ref(text: str) -> str:
    """`kind:id`, or a bare external id meaning a coupon."""
    kind, sep, key = text.partition(":")
    if not sep:
        return f"{PromotionKind.COUPON.value}:{text}"
    try:
        PromotionKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in PromotionKind)
        raise _CliError(f"{text!r}: expected KIND:ID with KIND one of {kinds}") from None
    return f"{kind}:{key}"


def _import(args: argparse.Namespace, out: TextIO) -> int:
    promotions, codes = _load(args.catalog, "catalog", load_catalog_codes)
    store = _store(args.store)
    try:
        added = Accounting(store).import_catalog(promotions, codes)
    finally:
        store.close()
    out.write(f"imported {len(promotions)} promotions and {added} new codes into {args.store}\n")
    return EXIT_OK


def _print_outcome(outcome: Outcome, fmt: str, out: TextIO) -> int:
    document = outcome.to_dict()
    if outcome.ok:
        document.pop("operation_id", None)
        document["redemption_id"] = outcome.operation_id
    else:
        document = {k: document[k] for k in ("ok", "promotion", "reason", "error_code", "message")}
    if fmt == "json":
        out.write(json.dumps(document, indent=2) + "\n")
    elif outcome.ok:
        items = ", ".join(f"{i.quantity} x {i.sku}" for i in outcome.items) or "nothing"
        out.write(f"redeemed {outcome.promotion}: {items}\n")
    else:
        assert outcome.refusal is not None
        refusal = outcome.refusal
        out.write(f"refused [{int(refusal.error_code)} {refusal.code}]: {refusal.message}\n")
    return EXIT_OK if outcome.ok else EXIT_REFUSED


def _redeem(args: argparse.Namespace, out: TextIO) -> int:
    user = _load(args.user, "user", load_user)
    at = _moment(args.at)
    store = _store(args.store)
    try:
        accounting = Accounting(store)
        if args.catalog:
            promotions, codes = _load(args.catalog, "catalog", load_catalog_codes)
            accounting.import_catalog(promotions, codes)
        outcome = accounting.redeem(
            args.code,
            user,
            at,
            idempotency_key=args.idempotency_key,
        )
    finally:
        store.close()
    return _print_outcome(outcome, args.format, out)


def _progress(total: int, stream: TextIO) -> Callable[[int], None] | None:
    if not stream.isatty():
        return None

    def show(done: int) -> None:
        width = 30
        filled = width * done // total
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return show


def _generate(args: argparse.Namespace, out: TextIO) -> int:
    store = _store(args.store)
    try:
        accounting = Accounting(store)
        ref = _ref(args.promotion)
        promotion = accounting.promotion(ref)
        if promotion is None:
            raise _CliError(f"{ref}: no such promotion in {args.store} (import its catalog first)")
        codes = accounting.generate_codes(
            promotion, args.count, length=args.length, progress=_progress(args.count, sys.stderr)
        )
    finally:
        store.close()
    out.write("\n".join(codes) + "\n")
    return EXIT_OK


def _limits(args: argparse.Namespace, out: TextIO) -> int:
    at = _moment(args.at)
    store = _store(args.store)
    try:
        accounting = Accounting(store)
        ref = _ref(args.promotion)
        if args.action == "reset":
            if args.user is None:
                changed = accounting.reset_all_user_limits(ref, at)
            else:
                changed = accounting.reset_user_limit(ref, args.user, at)
            out.write(f"reset {changed} counters\n")
            return EXIT_OK
        if args.user is None:
            raise _CliError(f"limits {args.action}: --user is required")
        if args.action != "show" and args.amount is None:
            raise _CliError(f"limits {args.action}: an AMOUNT is required")
        if args.action == "show":
            state = accounting.user_limit(ref, args.user, at)
        elif args.action == "set":
            state = accounting.set_user_limit(ref, args.user, args.amount, at)
        else:
            change = args.amount if args.action == "increase" else -args.amount
            state = accounting.change_user_limit(ref, args.user, change, at)
    finally:
        store.close()
    out.write(json.dumps({"per_user": {"total": state.total, "available": state.available}}) + "\n")
    return EXIT_OK


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
    cart = _load(args.cart, "cart", load_cart)
    user = _load(args.user, "user", load_user)
    promotions, codes = _load(args.catalog, "catalog", load_catalog_codes)
    at = _moment(args.at)
    pricing = Pricing(Catalog(promotions), codes=promo_codes_of(promotions, codes))
    if args.store is None:
        for flag in ("order_id", "commit"):
            if getattr(args, flag):
                raise _CliError(f"--{flag.replace('_', '-')} needs --store (a checkout)")
        quote = pricing.quote(cart, user, at, promo_code=args.promocode)
        if args.format == "json":
            out.write(json.dumps(quote.to_dict(), indent=2, ensure_ascii=False) + "\n")
        else:
            _print_quote(quote, out)
        return EXIT_OK
    if args.hold <= 0:
        raise _CliError(f"--hold: expected a positive number of seconds, found {args.hold}")
    store = _store(args.store)
    try:
        accounting = Accounting(store)
        accounting.import_catalog(promotions, codes)
        checkout = pricing.checkout(
            accounting,
            cart,
            user,
            at,
            hold=timedelta(seconds=args.hold),
            promo_code=args.promocode,
            order_id=args.order_id,
        )
        if args.commit:
            checkout.commit(accounting, at)
    finally:
        store.close()
    if args.format == "json":
        document = checkout.to_dict()
        document["committed"] = bool(args.commit)
        out.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return EXIT_OK
    _print_quote(checkout.quote, out)
    state = "committed" if args.commit else f"held until {checkout.expires_at.isoformat()}"
    for reservation in checkout.reservations:
        out.write(
            f"{state}: {reservation.kind.value} {reservation.id} x{reservation.quantity}"
            f" ({reservation.operation_id})\n"
        )
    return EXIT_OK


def _sample(name: str) -> Path:
    return Path(str(resources.files("liveops_rules").joinpath("samples", name)))


def _demo(_: argparse.Namespace, out: TextIO) -> int:
    from liveops_rules.demo import run_demo

    run_demo(_sample("catalog.json"), _sample("user.json"), out)
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="liveops-rules",
        description="Decide which LiveOps promotions apply to a player, and why.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser(
        "check", help="for each promotion in a catalog file: eligible or not, and why"
    )
    check.add_argument("catalog", metavar="CATALOG.json")
    check.add_argument("--user", required=True, metavar="USER.json")
    check.add_argument(
        "--at", required=True, metavar="ISO8601", help="the moment to decide for, or 'now'"
    )
    check.add_argument("--format", choices=("table", "json"), default="table")
    check.set_defaults(run=_check)

    validate = commands.add_parser(
        "validate", help="check LiveOps payload files; print every problem with its JSON path"
    )
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.add_argument(
        "--kind", choices=PAYLOAD_KINDS, help="the payload kind (default: guessed from the fields)"
    )
    validate.add_argument(
        "--form",
        choices=[form.value for form in Form],
        help="for promotions and catalogs: also refuse the fields of the other forms",
    )
    validate.set_defaults(run=_validate)

    importer = commands.add_parser(
        "import", help="keep a catalog's promotions and codes in a store (idempotent)"
    )
    importer.add_argument("catalog", metavar="CATALOG.json")
    importer.add_argument("--store", required=True, metavar="URI")
    importer.set_defaults(run=_import)

    redeem = commands.add_parser("redeem", help="redeem a code for a user, counting its limits")
    redeem.add_argument("code", metavar="CODE")
    redeem.add_argument("--user", required=True, metavar="USER.json")
    redeem.add_argument("--store", required=True, metavar="URI")
    redeem.add_argument("--at", required=True, metavar="ISO8601")
    redeem.add_argument("--catalog", metavar="CATALOG.json", help="import this catalog first")
    redeem.add_argument("--idempotency-key", metavar="KEY")
    redeem.add_argument("--format", choices=("table", "json"), default="table")
    redeem.set_defaults(run=_redeem)

    codes = commands.add_parser("codes", help="manage promotion codes")
    code_commands = codes.add_subparsers(dest="codes_command", required=True, metavar="ACTION")
    generate = code_commands.add_parser("generate", help="make new random codes")
    generate.add_argument("promotion", metavar="EXTERNAL_ID", help="an id, or KIND:ID")
    generate.add_argument("--count", required=True, type=int)
    generate.add_argument("--length", type=int, default=12)
    generate.add_argument("--store", required=True, metavar="URI")
    generate.set_defaults(run=_generate)

    limits = commands.add_parser("limits", help="show or change a user's remaining uses")
    limits.add_argument("action", choices=("show", "set", "increase", "decrease", "reset"))
    limits.add_argument("promotion", metavar="PROMOTION", help="an id, or KIND:ID")
    limits.add_argument("amount", nargs="?", type=int, metavar="AMOUNT")
    limits.add_argument("--user", metavar="USER_ID", help="(reset without it: every user)")
    limits.add_argument("--store", required=True, metavar="URI")
    limits.add_argument("--at", required=True, metavar="ISO8601")
    limits.set_defaults(run=_limits)

    quote = commands.add_parser(
        "quote", help="price a cart: discounts, a promo code and bonuses, and why others not"
    )
    quote.add_argument("cart", metavar="CART.json")
    quote.add_argument("--user", required=True, metavar="USER.json")
    quote.add_argument("--catalog", required=True, metavar="CATALOG.json")
    quote.add_argument("--at", required=True, metavar="ISO8601", help="the moment (or `now`)")
    quote.add_argument("--promocode", metavar="CODE", help="a promo code from the catalog")
    quote.add_argument("--format", choices=("table", "json"), default="table")
    quote.add_argument(
        "--store", metavar="URI", help="check out: hold the applied promotions' limits there"
    )
    quote.add_argument("--hold", type=float, default=900, metavar="SECONDS")
    quote.add_argument("--order-id", metavar="ID", help="retrying the order holds nothing twice")
    quote.add_argument("--commit", action="store_true", help="commit the holds (a paid order)")
    quote.set_defaults(run=_quote)

    demo = commands.add_parser("demo", help="a walk through the library on bundled sample data")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status (0 fine, 1 refused, 2 bad input)."""
    stream = out if out is not None else sys.stdout
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args, stream))
    except _CliError as error:
        sys.stderr.write(f"liveops-rules: {error}\n")
        return EXIT_USAGE
    except AccountingError as error:
        sys.stderr.write(f"liveops-rules: {error.message} [{int(error.error_code)}]\n")
        return EXIT_USAGE
    except (ValidationError, StoreError) as error:
        sys.stderr.write(f"liveops-rules: {error}\n")
        return EXIT_USAGE
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
