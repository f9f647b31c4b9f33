"""Verbs that count, or read what is counted: `redeem`, `verify`, `holds commit|release|cancel`
and `limits` (a user's remaining uses, as LiveOps administers them)."""

from __future__ import annotations

import argparse
from typing import TextIO

from liveops_rules.accounting import Outcome, Refusal
from liveops_rules.cli.common import (
    EXIT_OK,
    EXIT_REFUSED,
    Commands,
    accounting_on,
    at_option,
    format_option,
    load_file,
    promotion_ref_argument,
    store_option,
    write_json,
)
from liveops_rules.cli.inputs import amount_argument, text_argument
from liveops_rules.wire import code_verification, dump_payload, load_catalog_codes, load_user

__all__ = ["register"]


def _print_outcome(outcome: Outcome, fmt: str, out: TextIO) -> int:
    document = outcome.to_dict()
    if outcome.ok:
        document.pop("operation_id", None)
        document["redemption_id"] = outcome.operation_id
    else:
        document = {k: document[k] for k in ("ok", "promotion", "reason", "error_code", "message")}
    if fmt == "json":
        write_json(out, document)
    elif outcome.ok:
        items = ", ".join(f"{i.quantity} x {i.sku}" for i in outcome.items) or "nothing"
        out.write(f"redeemed {outcome.promotion}: {items}\n")
    else:
        assert outcome.refusal is not None
        _print_refusal(outcome.refusal, out)
    return EXIT_OK if outcome.ok else EXIT_REFUSED


def _print_refusal(refusal: Refusal, out: TextIO) -> None:
    out.write(f"refused [{int(refusal.error_code)} {refusal.code}]: {refusal.message}\n")


def _redeem(args: argparse.Namespace, out: TextIO) -> int:
    user = load_file(args.user, "user", load_user)
    catalog = load_file(args.catalog, "catalog", load_catalog_codes) if args.catalog else None
    with accounting_on(args.store) as accounting:
        if catalog is not None:  # writes only what changed since the last time
            accounting.import_catalog(*catalog)
        outcome = accounting.redeem(args.code, user, args.at, idempotency_key=args.idempotency_key)
    return _print_outcome(outcome, args.format, out)


def _verify(args: argparse.Namespace, out: TextIO) -> int:
    user = load_file(args.user, "user", load_user)
    with accounting_on(args.store) as accounting:
        found = accounting.verify(args.code, user, args.at)
    if isinstance(found, Refusal):
        if args.format == "json":
            write_json(out, found.to_dict())
        else:
            _print_refusal(found, out)
        return EXIT_REFUSED
    if args.format == "json":  # LiveOps' verify answer, rewards as its rewards call gives them
        write_json(out, dump_payload(code_verification(found.promotion, found.code)))
    else:
        rewards = ", ".join(f"{i.quantity} x {i.sku}" for i in found.rewards) or "no items"
        out.write(f"{found.code}: valid {found.to_dict()['type']} ({rewards})\n")
    return EXIT_OK


def _holds(args: argparse.Namespace, out: TextIO) -> int:
    with accounting_on(args.store) as accounting:
        settle = {
            "commit": accounting.commit,
            "release": accounting.release,
            "cancel": accounting.cancel,
        }[args.action]
        outcome = settle(args.operation_id, args.at)
    past = {"commit": "committed", "release": "released", "cancel": "cancelled"}[args.action]
    if args.format == "json":
        write_json(
            out, {"operation_id": args.operation_id, "promotion": outcome.promotion, "status": past}
        )
    else:
        out.write(f"{past} {args.operation_id} ({outcome.promotion})\n")
    return EXIT_OK


def _limits(args: argparse.Namespace, out: TextIO) -> int:
    at = args.at
    ref = args.promotion
    with accounting_on(args.store) as accounting:
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
    if args.action == "reset":
        if args.format == "json":
            write_json(out, {"reset": changed})
        else:
            out.write(f"reset {changed} counters\n")
    elif args.format == "json":
        write_json(out, {"per_user": {"total": state.total, "available": state.available}})
    else:
        out.write(f"{ref} for {args.user}: {state.available} of {state.total} uses available\n")
    return EXIT_OK


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
            "promotion", type=promotion_ref_argument, metavar="PROMOTION", help="an id, or KIND:ID"
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
        store_option(action)
        at_option(action)
        format_option(action)
        action.set_defaults(run=_limits)


def register(commands: Commands) -> None:
    """Add `redeem`, `verify`, `holds` and `limits`."""
    redeem = commands.add_parser("redeem", help="redeem a code for a user, counting its limits")
    redeem.add_argument("code", type=text_argument, metavar="CODE")
    redeem.add_argument("--user", required=True, metavar="USER.json")
    store_option(redeem)
    at_option(redeem)
    redeem.add_argument(
        "--catalog", metavar="CATALOG.json", help="import this catalog first (what changed)"
    )
    redeem.add_argument("--idempotency-key", type=text_argument, metavar="KEY")
    format_option(redeem)
    redeem.set_defaults(run=_redeem)

    verify = commands.add_parser(
        "verify", help="whether a user can use a code now, and what it gives (counts nothing)"
    )
    verify.add_argument("code", type=text_argument, metavar="CODE")
    verify.add_argument("--user", required=True, metavar="USER.json")
    store_option(verify)
    at_option(verify)
    format_option(verify)
    verify.set_defaults(run=_verify)

    holds = commands.add_parser("holds", help="settle a reservation or redemption")
    actions = holds.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, summary in (
        ("commit", "turn a hold into a redemption (a paid order)"),
        ("release", "give a hold's capacity back (an abandoned order)"),
        ("cancel", "undo a committed redemption (a refund)"),
    ):
        action = actions.add_parser(name, help=summary, description=summary)
        action.add_argument("operation_id", type=text_argument, metavar="OPERATION_ID")
        store_option(action)
        at_option(action)
        format_option(action)
        action.set_defaults(run=_holds)

    _add_limit_actions(commands.add_parser("limits", help="show or change a user's remaining uses"))
