"""The `liveops-rules` command: parse arguments, call the library, print. Nothing more."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import NoReturn, TextIO, TypeVar

import attrs

from liveops_rules._cli_inputs import (
    MAX_HOLD_SECONDS,
    Scrubber,
    amount_argument,
    hold_argument,
    moment_argument,
    read_input_file,
    store_argument,
    text_argument,
)
from liveops_rules.accounting import Accounting, AccountingError, Outcome
from liveops_rules.catalog import Catalog
from liveops_rules.errors import LiveOpsError, ValidationError
from liveops_rules.evaluate import Decision
from liveops_rules.models import PromotionKind
from liveops_rules.money import round_money
from liveops_rules.pricing import Pricing, Quote, promo_codes_of
from liveops_rules.stores import RedemptionStore, open_store, redact_uri
from liveops_rules.wire import (
    PAYLOAD_KINDS,
    Form,
    load_cart,
    load_catalog,
    load_catalog_codes,
    load_payload,
    load_promotion,
    load_user,
)
from liveops_rules.wire._detect import detect_kinds

__all__ = ["main"]

T = TypeVar("T")

_PROMOTION_KINDS = frozenset(kind.value for kind in PromotionKind)

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # as shells report a command stopped by Ctrl-C


class _CliError(Exception):
    """A problem with the command's input, printed as one message with exit status 2."""


class _UsageError(Exception):
    """argparse's complaint about the arguments, with the usage line (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises its complaints instead of printing them, so that `main` prints
    them like every other message: without passwords, and printable."""

    def error(self, message: str) -> NoReturn:
        """Raise the complaint as a _UsageError."""
        raise _UsageError(f"{self.format_usage()}{self.prog}: error: {message}")


def _load(path: str, what: str, loader: Callable[[object], T]) -> T:
    try:
        data = read_input_file(path)
        return loader(data)
    except ValidationError as error:
        lines = [f"{path}: invalid {what}:"] + [f"  {p}" for p in error.problems]
        if len(error.problems) == 1:
            lines = [f"{path}: {error.problems[0]}"]
        raise _CliError("\n".join(lines)) from None


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
    at = args.at
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


@attrs.frozen
class _Verdict:
    """What `validate` found in one file: `kind` is None when it is not even JSON."""

    path: str
    kind: str | None
    problems: tuple[str, ...]
    guessed: bool = False

    @property
    def valid(self) -> bool:
        """Whether the file holds a valid payload."""
        return self.kind is not None and not self.problems

    def lines(self, form: str | None) -> list[str]:
        """The verdict as text: a first line saying valid or invalid, then the problems."""
        if self.kind is None:
            head = f"{self.path}: invalid JSON"
        elif self.valid:
            head = f"{self.path}: valid {self.kind}" + (f" ({form})" if form else "")
        else:
            guess = f" (read as {self.kind}; pass --kind if it is another kind)"
            head = f"{self.path}: invalid {self.kind}" + (guess if self.guessed else "")
        return [head] + [f"  {p}" for p in self.problems]

    def to_dict(self) -> dict[str, object]:
        """The verdict as a JSON object."""
        return {
            "file": self.path,
            "valid": self.valid,
            "kind": self.kind,
            "problems": list(self.problems),
        }


def _validate_one(path: str, kind: str | None, form: str | None) -> _Verdict:
    try:
        data = read_input_file(path)
    except ValidationError as error:
        return _Verdict(path, None, tuple(str(p) for p in error.problems))
    candidates = (kind,) if kind else detect_kinds(data)
    failures: list[tuple[str, ValidationError]] = []
    for candidate in candidates:
        try:
            if form and candidate in _PROMOTION_KINDS:
                load_promotion(candidate, data, form=form)
            else:
                load_payload(candidate, data)
        except ValidationError as error:
            failures.append((candidate, error))
            continue
        return _Verdict(path, candidate, ())
    best, refusal = min(failures, key=lambda failure: len(failure[1].problems))
    return _Verdict(path, best, tuple(str(p) for p in refusal.problems), guessed=not kind)


def _validate(args: argparse.Namespace, out: TextIO) -> int:
    verdicts = [_validate_one(path, args.kind, args.form) for path in args.files]
    if args.format == "json":
        document = {"files": [verdict.to_dict() for verdict in verdicts]}
        out.write(json.dumps(document, indent=2) + "\n")  # ASCII: file names may not be text
    else:
        for verdict in verdicts:
            out.write("\n".join(verdict.lines(args.form)) + "\n")
    return EXIT_OK if all(verdict.valid for verdict in verdicts) else EXIT_USAGE


def _store(uri: str) -> RedemptionStore:
    try:
        return open_store(uri)
    except LiveOpsError as error:
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
        added = Accounting(store).import_catalog(promotions, codes).codes_added
    finally:
        store.close()
    where = redact_uri(args.store)
    if args.format == "json":
        document = {"promotions": len(promotions), "new_codes": added, "store": where}
        out.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:
        out.write(f"imported {len(promotions)} promotions and {added} new codes into {where}\n")
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
    at = args.at
    catalog = _load(args.catalog, "catalog", load_catalog_codes) if args.catalog else None
    store = _store(args.store)
    try:
        accounting = Accounting(store)
        if catalog is not None:
            accounting.import_catalog(*catalog)
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
    ref = _ref(args.promotion)
    store = _store(args.store)
    try:
        accounting = Accounting(store)
        promotion = accounting.promotion(ref)
        if promotion is None:
            raise AccountingError(
                "unknown_promotion",
                f"Promotion {ref} not found in {redact_uri(args.store)} (import its catalog first)",
            )
        codes = accounting.generate_codes(
            promotion, args.count, length=args.length, progress=_progress(args.count, sys.stderr)
        )
    finally:
        store.close()
    if args.format == "json":
        out.write(json.dumps({"promotion": ref, "codes": codes}, indent=2) + "\n")
    else:
        out.write("\n".join(codes) + "\n")
    return EXIT_OK


def _limits(args: argparse.Namespace, out: TextIO) -> int:
    at = args.at
    ref = _ref(args.promotion)
    store = _store(args.store)
    try:
        accounting = Accounting(store)
        if args.action == "reset":
            if args.user is None:
                changed = accounting.reset_all_user_limits(ref, at)
            else:
                changed = accounting.reset_user_limit(ref, args.user, at)
        elif args.action == "show":
            state = accounting.user_limit(ref, args.user, at)
        elif args.action == "set":
            state = accounting.set_user_limit(ref, args.user, args.amount, at)
        else:
            change = args.amount if args.action == "increase" else -args.amount
            state = accounting.change_user_limit(ref, args.user, change, at)
    finally:
        store.close()
    if args.action == "reset":
        if args.format == "json":
            out.write(json.dumps({"reset": changed}) + "\n")
        else:
            out.write(f"reset {changed} counters\n")
    elif args.format == "json":
        document = {"per_user": {"total": state.total, "available": state.available}}
        out.write(json.dumps(document) + "\n")
    else:
        out.write(f"{ref} for {args.user}: {state.available} of {state.total} uses available\n")
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
    at = args.at
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
    try:
        at + args.hold
    except OverflowError:
        raise _CliError(
            f"--hold: {at.isoformat()} plus {args.hold.total_seconds():g} s is past the year 9999"
        ) from None
    store = _store(args.store)
    try:
        accounting = Accounting(store)
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


def _format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("table", "json"), default="table")


def _store_option(
    parser: argparse.ArgumentParser, *, required: bool = True, help: str | None = None
) -> None:
    parser.add_argument("--store", type=store_argument, required=required, metavar="URI", help=help)


def _at_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--at",
        required=True,
        type=moment_argument,
        metavar="ISO8601",
        help="the moment, with its UTC offset (2026-11-28T12:00:00+00:00), or `now`",
    )


def _add_limit_actions(limits: argparse.ArgumentParser) -> None:
    actions = limits.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, summary, minimum in (
        ("show", "a user's total and available uses", None),
        ("set", "make AMOUNT uses available to the user", 0),
        ("increase", "give the user AMOUNT more uses", 1),
        ("decrease", "take AMOUNT uses from the user", 1),
        ("reset", "give back every use (of one user, or of every user)", None),
    ):
        action = actions.add_parser(name, help=summary, description=summary)
        action.add_argument(
            "promotion", type=text_argument, metavar="PROMOTION", help="an id, or KIND:ID"
        )
        if minimum is not None:
            action.add_argument(
                "amount",
                type=amount_argument(minimum),
                metavar="AMOUNT",
                help=f"a whole number, {minimum} or more",
            )
        action.add_argument(
            "--user",
            type=text_argument,
            required=name != "reset",
            metavar="USER_ID",
            help="(reset without it: every user)" if name == "reset" else None,
        )
        _store_option(action)
        _at_option(action)
        _format_option(action)
        action.set_defaults(run=_limits)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="liveops-rules",
        description="Decide which LiveOps promotions apply to a player, and why.",
        epilog="Exit status: 0 done, 1 refused (a limit, an unknown code or promotion),"
        " 2 not done (bad input, an unusable store).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser(
        "check", help="for each promotion in a catalog file: eligible or not, and why"
    )
    check.add_argument("catalog", metavar="CATALOG.json")
    check.add_argument("--user", required=True, metavar="USER.json")
    _at_option(check)
    _format_option(check)
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
        help="for promotions: also refuse the fields of the other form",
    )
    _format_option(validate)
    validate.set_defaults(run=_validate)

    importer = commands.add_parser(
        "import", help="keep a catalog's promotions and codes in a store (idempotent)"
    )
    importer.add_argument("catalog", metavar="CATALOG.json")
    _store_option(importer)
    _format_option(importer)
    importer.set_defaults(run=_import)

    redeem = commands.add_parser("redeem", help="redeem a code for a user, counting its limits")
    redeem.add_argument("code", type=text_argument, metavar="CODE")
    redeem.add_argument("--user", required=True, metavar="USER.json")
    _store_option(redeem)
    _at_option(redeem)
    redeem.add_argument("--catalog", metavar="CATALOG.json", help="import this catalog first")
    redeem.add_argument("--idempotency-key", type=text_argument, metavar="KEY")
    _format_option(redeem)
    redeem.set_defaults(run=_redeem)

    codes = commands.add_parser("codes", help="manage promotion codes")
    code_commands = codes.add_subparsers(dest="codes_command", required=True, metavar="ACTION")
    generate = code_commands.add_parser("generate", help="make new random codes")
    generate.add_argument(
        "promotion", type=text_argument, metavar="EXTERNAL_ID", help="an id, or KIND:ID"
    )
    generate.add_argument("--count", required=True, type=amount_argument(1))
    generate.add_argument("--length", type=amount_argument(1), default=12)
    _store_option(generate)
    _format_option(generate)
    generate.set_defaults(run=_generate)

    _add_limit_actions(commands.add_parser("limits", help="show or change a user's remaining uses"))

    quote = commands.add_parser(
        "quote", help="price a cart: discounts, a promo code and bonuses, and why others not"
    )
    quote.add_argument("cart", metavar="CART.json")
    quote.add_argument("--user", required=True, metavar="USER.json")
    quote.add_argument("--catalog", required=True, metavar="CATALOG.json")
    _at_option(quote)
    quote.add_argument(
        "--promocode", type=text_argument, metavar="CODE", help="a promo code from the catalog"
    )
    _format_option(quote)
    _store_option(
        quote, required=False, help="check out: hold the applied promotions' limits there"
    )
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

    demo = commands.add_parser("demo", help="a walk through the library on bundled sample data")
    demo.set_defaults(run=_demo)
    return parser


def _tolerate_unprintable(stream: TextIO) -> None:
    """Print what the stream's encoding cannot hold as escapes rather than fail."""
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(errors="backslashreplace")


def _run(argv: Sequence[str], out: TextIO, complain: Callable[..., None]) -> int:
    try:
        args = _parser().parse_args(argv)
        return int(args.run(args, out))
    except _UsageError as error:
        complain(str(error), prefix="")
        return EXIT_USAGE
    except _CliError as error:
        complain(str(error))
        return EXIT_USAGE
    except AccountingError as error:
        complain(f"{error.message} [{int(error.error_code)}]")
        return EXIT_REFUSED
    except LiveOpsError as error:
        complain(str(error))
        return EXIT_USAGE


class _DriverLog(logging.Handler):
    """Drivers' log lines (psycopg's pool warnings) printed as our own messages are: without
    passwords, never as a traceback."""

    def __init__(self, complain: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self._complain = complain

    def emit(self, record: logging.LogRecord) -> None:
        """Print the record's message on one line."""
        with contextlib.suppress(Exception):  # a log line must never stop the command
            self._complain(f"{record.name}: {record.getMessage().strip()}")


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status: 0 done, 1 refused (a limit, an unknown
    code or promotion), 2 not done (bad input, an unusable store; the message says which).
    No message prints a password written in the arguments, and none is a traceback."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    scrub = Scrubber(arguments)
    if out is None:
        for stream in (sys.stdout, sys.stderr):
            _tolerate_unprintable(stream)

    def complain(message: str, prefix: str = "liveops-rules: ") -> None:
        sys.stderr.write(f"{prefix}{scrub(message)}\n")

    root = logging.getLogger()
    driver_log = None if root.handlers else _DriverLog(complain)
    if driver_log is not None:  # else logging is the embedding program's: left as it is
        root.addHandler(driver_log)
    try:
        return _run(arguments, out if out is not None else sys.stdout, complain)
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        complain("interrupted")
        return EXIT_INTERRUPTED
    except Exception as error:  # a defect: still one line, never a traceback
        complain(f"internal error ({type(error).__name__}: {error}); please report it")
        return EXIT_USAGE
    finally:
        if driver_log is not None:
            root.removeHandler(driver_log)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
