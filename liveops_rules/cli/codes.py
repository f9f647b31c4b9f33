"""`codes ...`: a promotion's codes: generate, add, list, usage, lookup, remove."""

from __future__ import annotations

import argparse
from typing import TextIO

from liveops_rules.accounting import AccountingError, Refusal
from liveops_rules.cli.common import (
    EXIT_OK,
    EXIT_REFUSED,
    Commands,
    accounting_on,
    at_option,
    format_option,
    progress_bar,
    promotion_ref_argument,
    store_option,
    write_json,
    write_table,
)
from liveops_rules.cli.inputs import amount_argument, text_argument
from liveops_rules.redaction import redact_uri

__all__ = ["register"]


def _generate(args: argparse.Namespace, out: TextIO) -> int:
    with accounting_on(args.store) as accounting:
        if accounting.promotion(args.promotion) is None:
            raise AccountingError(
                "unknown_promotion",
                f"Promotion {args.promotion} not found in {redact_uri(args.store)}"
                " (import its catalog first)",
            )
        codes = accounting.generate_codes(
            args.promotion, args.count, length=args.length, progress=progress_bar(args.count)
        )
    if args.format == "json":
        write_json(out, {"promotion": args.promotion, "codes": codes, "count": len(codes)})
    else:
        out.write("\n".join(codes) + "\n")
    return EXIT_OK


def _add(args: argparse.Namespace, out: TextIO) -> int:
    with accounting_on(args.store) as accounting:
        accounting.add_codes(args.promotion, args.codes)
    if args.format == "json":
        write_json(out, {"promotion": args.promotion, "added": args.codes})
    else:
        out.write(f"added {len(args.codes)} codes to {args.promotion}\n")
    return EXIT_OK


def _list(args: argparse.Namespace, out: TextIO) -> int:
    with accounting_on(args.store) as accounting:
        page = accounting.list_codes(args.promotion, limit=args.limit, offset=args.offset)
    if args.format == "json":
        write_json(out, {"codes": list(page.codes), "total_count": page.total_count})
    else:
        out.write("".join(code + "\n" for code in page.codes))
        out.write(f"{len(page.codes)} shown of {page.total_count}\n")
    return EXIT_OK


def _usage(args: argparse.Namespace, out: TextIO) -> int:
    with accounting_on(args.store) as accounting:
        usage = accounting.code_usage(args.promotion, args.at, codes=args.code or None)
        promotion = accounting.promotion(args.promotion)
    limit = getattr(promotion, "redeem_code_limit", None)
    if args.format == "json":
        items = []
        for code, state in usage.items():
            per_code: dict[str, int | None] = {"used": state.used, "reserved": state.reserved}
            if limit is not None:
                per_code["total"] = limit + state.extra
                per_code["available"] = max(0, limit + state.extra - state.used - state.reserved)
            items.append({"code": code, "per_code": per_code})
        write_json(out, {"promotion": args.promotion, "items": items})
    else:
        rows = [
            (
                code,
                str(state.used),
                str(state.reserved),
                "-"
                if limit is None
                else str(max(0, limit + state.extra - state.used - state.reserved)),
            )
            for code, state in usage.items()
        ]
        write_table(out, ("CODE", "USED", "RESERVED", "AVAILABLE"), rows)
    return EXIT_OK


def _lookup(args: argparse.Namespace, out: TextIO) -> int:
    with accounting_on(args.store) as accounting:
        found = accounting.code_promotion(args.code)
    if isinstance(found, Refusal):
        if args.format == "json":
            write_json(out, found.to_dict())
        else:
            out.write(f"refused [{int(found.error_code)} {found.code}]: {found.message}\n")
        return EXIT_REFUSED
    ref = f"{found.kind.value}:{found.key}"
    if args.format == "json":
        write_json(out, {"code": args.code, "promotion": ref, "is_enabled": found.enabled})
    else:
        out.write(f"{args.code}: {ref} ({'enabled' if found.enabled else 'disabled'})\n")
    return EXIT_OK


def _remove(args: argparse.Namespace, out: TextIO) -> int:
    with accounting_on(args.store) as accounting:
        accounting.remove_codes(args.promotion, args.codes)
    if args.format == "json":
        write_json(out, {"promotion": args.promotion, "removed": args.codes})
    else:
        out.write(f"removed {len(args.codes)} codes from {args.promotion}\n")
    return EXIT_OK


def register(commands: Commands) -> None:
    """Add `codes generate|add|list|usage|lookup|remove`."""
    group = commands.add_parser("codes", help="manage promotion codes")
    actions = group.add_subparsers(dest="codes_command", required=True, metavar="ACTION")

    def promotion_argument(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "promotion", type=promotion_ref_argument, metavar="PROMOTION", help="an id, or KIND:ID"
        )

    generate = actions.add_parser("generate", help="make new random codes")
    promotion_argument(generate)
    generate.add_argument("--count", required=True, type=amount_argument(1))
    generate.add_argument("--length", type=amount_argument(1), default=12)
    generate.set_defaults(run=_generate)

    add = actions.add_parser("add", help="give codes to a promotion (9803 for one taken)")
    promotion_argument(add)
    add.add_argument("codes", nargs="+", type=text_argument, metavar="CODE")
    add.set_defaults(run=_add)

    listing = actions.add_parser("list", help="a promotion's codes, by page")
    promotion_argument(listing)
    listing.add_argument("--limit", type=amount_argument(1), metavar="N")
    listing.add_argument("--offset", type=amount_argument(0), default=0, metavar="N")
    listing.set_defaults(run=_list)

    usage = actions.add_parser("usage", help="each code's uses (per-code limits)")
    promotion_argument(usage)
    usage.add_argument("--code", action="append", type=text_argument, metavar="CODE")
    at_option(usage, required=False)
    usage.set_defaults(run=_usage)

    lookup = actions.add_parser("lookup", help="the promotion a code belongs to (9811: none)")
    lookup.add_argument("code", type=text_argument, metavar="CODE")
    lookup.set_defaults(run=_lookup)

    remove = actions.add_parser("remove", help="take codes from a promotion (they are freed)")
    promotion_argument(remove)
    remove.add_argument("codes", nargs="+", type=text_argument, metavar="CODE")
    remove.set_defaults(run=_remove)

    for parser in actions.choices.values():
        store_option(parser)
        format_option(parser)
