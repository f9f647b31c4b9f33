"""`chains …`: value points and reward chains. Admins import, list, show, toggle, reset and
delete chains; a player's backend earns value points for an order (and refunds it), reads the
player's chains and balance, and claims a step."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from liveops_rules.accounting import AccountingError
from liveops_rules.chains.reward import ChainView, RewardChains
from liveops_rules.cli.common import (
    EXIT_OK,
    EXIT_REFUSED,
    CliError,
    Commands,
    at_option,
    format_option,
    load_file,
    store_on,
    store_option,
    write_json,
    write_table,
)
from liveops_rules.cli.inputs import amount_argument, text_argument
from liveops_rules.models import User
from liveops_rules.models.chains import RewardChain, RewardChainSummary
from liveops_rules.wire import dump_payload, load_chain_catalog, load_user

__all__ = ["register"]

_PAGE_MAX = 50


@contextmanager
def _chains_on(uri: str) -> Iterator[RewardChains]:
    with store_on(uri) as store:
        yield RewardChains(store)


def _line_argument(text: str) -> tuple[str, int]:
    """`SKU` or `SKU:QUANTITY`."""
    text = text_argument(text)
    sku, sep, quantity = text.rpartition(":")
    if not sep:
        return text, 1
    if not sku:
        raise argparse.ArgumentTypeError(f"{text!r}: expected SKU or SKU:QUANTITY")
    return sku, amount_argument(1)(quantity)


def _user(path: str) -> User:
    return load_file(path, "user", load_user)


def _window(chain: RewardChain) -> str:
    start = chain.window.start.isoformat() if chain.window.start else "-"
    end = chain.window.end.isoformat() if chain.window.end else "no end"
    return f"{start} .. {end}"


def _import(args: argparse.Namespace, out: TextIO) -> int:
    catalog = load_file(args.file, "catalog", load_chain_catalog)
    if not catalog.value_points and not catalog.reward_chains:
        raise CliError(f"{args.file}: no value_points or reward_chains to import")
    kept: list[int] = []
    with _chains_on(args.store) as engine:
        for point in catalog.value_points:
            engine.put_value_point(point)
            if point.sku in catalog.rewards:
                engine.set_value_point_rewards(point.sku, catalog.rewards[point.sku])
        for chain in catalog.reward_chains:
            known = chain.chain_id is not None and engine.chain(chain.chain_id) is not None
            made = engine.update_chain(chain) if known else engine.create_chain(chain)
            kept.append(made.chain_id or 0)
    points = [p.sku for p in catalog.value_points]
    if args.format == "json":
        write_json(out, {"value_points": points, "reward_chains": kept})
    else:
        out.write(f"imported {len(points)} value points and {len(kept)} reward chains")
        out.write(f" ({', '.join(map(str, kept))})\n" if kept else "\n")
    return EXIT_OK


def _list(args: argparse.Namespace, out: TextIO) -> int:
    with _chains_on(args.store) as engine:
        every = engine.chains()
    if args.format == "json":
        write_json(out, [dump_payload(RewardChainSummary.of(chain)) for chain in every])
        return EXIT_OK
    rows = [
        [
            str(chain.chain_id),
            "yes" if chain.enabled else "no",
            chain.value_point,
            str(len(chain.steps)),
            _window(chain),
            chain.name.best(),
        ]
        for chain in every
    ]
    write_table(out, ["ID", "ENABLED", "VALUE POINT", "STEPS", "WINDOW", "NAME"], rows)
    return EXIT_OK


def _found(engine: RewardChains, chain_id: int) -> RewardChain:
    chain = engine.chain(chain_id)
    if chain is None:
        raise AccountingError("chain_not_found", f"Reward chain {chain_id} not found.")
    return chain


def _show(args: argparse.Namespace, out: TextIO) -> int:
    with _chains_on(args.store) as engine:
        chain = _found(engine, args.chain)
    if args.format == "json":
        write_json(out, dump_payload(chain, "response"))
        return EXIT_OK
    out.write(f"reward chain {chain.chain_id}: {chain.name.best()}\n")
    out.write(f"  value point {chain.value_point}, {_window(chain)}, ")
    out.write("enabled\n" if chain.enabled else "disabled\n")
    rows = [
        [
            str(step.step_id),
            str(step.price),
            ", ".join(f"{r.quantity} x {r.sku}" for r in step.rewards),
            step.name.best(),
        ]
        for step in chain.steps
    ]
    write_table(out, ["STEP", "PRICE", "REWARDS", "NAME"], rows)
    return EXIT_OK


def _admin(args: argparse.Namespace, out: TextIO) -> int:
    with _chains_on(args.store) as engine:
        _found(engine, args.chain)
        document: dict[str, Any] = {"reward_chain_id": args.chain}
        if args.action == "toggle":
            document["is_enabled"] = engine.toggle_chain(args.chain).enabled
            text = "enabled" if document["is_enabled"] else "disabled"
        elif args.action == "reset":
            document["generation"] = engine.reset_chain(args.chain, args.at)
            text = "reset: every balance and claim starts anew"
        else:
            engine.delete_chain(args.chain, args.at)
            document["deleted"] = True
            text = "deleted"
    if args.format == "json":
        write_json(out, document)
    else:
        out.write(f"reward chain {args.chain} {text}\n")
    return EXIT_OK


def _earn(args: argparse.Namespace, out: TextIO) -> int:
    user = _user(args.user)
    with _chains_on(args.store) as engine:
        report = engine.earn(args.order_id, user, args.items, args.at, clan=args.clan)
    if args.format == "json":
        write_json(out, {**report.to_dict(), "replayed": report.replayed})
    elif not report.earned:
        out.write(f"order {args.order_id} earned no value points\n")
    else:
        for sku, amount in sorted(report.earned.items()):
            ids = ", ".join(map(str, report.chains.get(sku, ()))) or "none"
            again = " (already counted)" if report.replayed else ""
            out.write(f"earned {amount} {sku}{again}; chains credited: {ids}\n")
    return EXIT_OK


def _refund(args: argparse.Namespace, out: TextIO) -> int:
    user = _user(args.user)
    with _chains_on(args.store) as engine:
        taken = engine.refund(args.order_id, user, args.at)
    if args.format == "json":
        write_json(out, {"order_id": args.order_id, "value_points_taken_back": taken})
    else:
        out.write(f"order {args.order_id}: took back the earnings of {taken} value points\n")
    return EXIT_OK


def _balance(args: argparse.Namespace, out: TextIO) -> int:
    user = _user(args.user)
    with _chains_on(args.store) as engine:
        chain = _found(engine, args.chain)
        amount = engine.balance(args.chain, user, args.at, clan=args.clan)
    if args.format == "json":
        write_json(out, {"sku": chain.value_point, "amount": amount})
    else:
        out.write(f"{user.id}: {amount} {chain.value_point} on reward chain {args.chain}\n")
    return EXIT_OK


def _claim(args: argparse.Namespace, out: TextIO) -> int:
    user = _user(args.user)
    with _chains_on(args.store) as engine:
        outcome = engine.claim(
            args.chain,
            args.step,
            user,
            args.at,
            clan=args.clan,
            idempotency_key=args.idempotency_key,
        )
    if args.format == "json":
        write_json(out, outcome.to_dict())
    elif outcome.ok:
        items = ", ".join(f"{i.quantity} x {i.sku}" for i in outcome.items) or "nothing"
        out.write(f"claimed step {args.step} of reward chain {args.chain}: {items}\n")
    else:
        assert outcome.refusal is not None
        refusal = outcome.refusal
        out.write(f"refused [{int(refusal.error_code)} {refusal.code}]: {refusal.message}\n")
    return EXIT_OK if outcome.ok else EXIT_REFUSED


def _view(args: argparse.Namespace, out: TextIO) -> int:
    user = _user(args.user)
    with _chains_on(args.store) as engine:
        views, total = engine.player_chains(
            user, args.at, clan=args.clan, limit=args.limit, offset=args.offset
        )
    if args.format == "json":
        write_json(out, _page(views, total, args.offset, user))
        return EXIT_OK
    rows = []
    for view in views:
        steps = view.chain.steps
        claimed = sum(1 for s in steps if s.step_id in view.claimed)
        reachable = sum(1 for s in steps if s.price <= view.balance)
        reset = "-" if view.reset_at is None else view.reset_at.isoformat()
        rows.append(
            [
                str(view.chain.chain_id),
                f"{view.balance} {view.chain.value_point}",
                f"{claimed}/{reachable}/{len(steps)}",
                reset,
                view.chain.name.best(),
            ]
        )
    write_table(out, ["ID", "BALANCE", "CLAIMED/REACHED/STEPS", "RESETS", "NAME"], rows)
    if total > args.offset + len(views):
        out.write(f"({total} chains in all: --offset {args.offset + len(views)} for more)\n")
    return EXIT_OK


def _page(views: list[ChainView], total: int, offset: int, user: User) -> dict[str, Any]:
    return {
        "has_more": total > offset + len(views),
        "total_items_count": total,
        "items": [view.to_dict(user) for view in views],
    }


def _top(args: argparse.Namespace, out: TextIO) -> int:
    with _chains_on(args.store) as engine:
        _found(engine, args.chain)
        top = engine.top_contributors(args.chain, args.clan, args.at)
    if args.format == "json":
        write_json(out, [{"name": name, "contributed_amount": amount} for name, amount in top])
    else:
        write_table(out, ["PLAYER", "CONTRIBUTED"], [[name, str(amount)] for name, amount in top])
    return EXIT_OK


def _chain_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("chain", type=amount_argument(1), metavar="CHAIN_ID")


def _player(parser: argparse.ArgumentParser, *, clan: bool = True) -> None:
    parser.add_argument("--user", required=True, metavar="USER.json")
    if clan:
        parser.add_argument(
            "--clan", type=text_argument, metavar="CLAN_ID", help="the player's clan, if any"
        )
    store_option(parser)
    at_option(parser)
    format_option(parser)


def register(commands: Commands) -> None:
    """Add `chains` and its actions."""
    group = commands.add_parser("chains", help="value points and reward chains")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    importer = actions.add_parser(
        "import",
        help="add or replace the catalog file's value points, mappings and reward chains",
        description="Value points and mappings are put as given; a reward chain with a "
        "reward_chain_id already in the store is updated (steps keep their claims by "
        "step_id), any other is created.",
    )
    importer.add_argument("file", metavar="CATALOG.json")
    store_option(importer)
    format_option(importer)
    importer.set_defaults(run=_import)

    lister = actions.add_parser("list", help="every reward chain in the store")
    store_option(lister)
    format_option(lister)
    lister.set_defaults(run=_list)

    show = actions.add_parser("show", help="a reward chain with its steps")
    _chain_argument(show)
    store_option(show)
    format_option(show)
    show.set_defaults(run=_show)

    for name, summary, moment in (
        ("toggle", "enable a disabled chain, disable an enabled one (progress stays)", False),
        ("reset", "start every player's balance and claims of the chain anew", True),
        ("delete", "delete the chain for good", True),
    ):
        admin = actions.add_parser(name, help=summary, description=summary)
        _chain_argument(admin)
        store_option(admin)
        if moment:
            at_option(admin)
        format_option(admin)
        admin.set_defaults(run=_admin)

    earn = actions.add_parser("earn", help="credit what a paid order earns (once per order)")
    earn.add_argument("order_id", type=text_argument, metavar="ORDER_ID")
    earn.add_argument(
        "items", type=_line_argument, nargs="+", metavar="SKU[:QTY]", help="the order's lines"
    )
    _player(earn)
    earn.set_defaults(run=_earn)

    refund = actions.add_parser("refund", help="take back what a refunded order earned")
    refund.add_argument("order_id", type=text_argument, metavar="ORDER_ID")
    _player(refund, clan=False)
    refund.set_defaults(run=_refund)

    view = actions.add_parser("view", help="the chains a player sees, with balances and claims")
    view.add_argument("--limit", type=amount_argument(1), default=_PAGE_MAX, metavar="N")
    view.add_argument("--offset", type=amount_argument(0), default=0, metavar="N")
    _player(view)
    view.set_defaults(run=_view)

    balance = actions.add_parser("balance", help="the balance that counts for a chain's steps")
    _chain_argument(balance)
    _player(balance)
    balance.set_defaults(run=_balance)

    claim = actions.add_parser("claim", help="claim a step's rewards for a player")
    _chain_argument(claim)
    claim.add_argument("step", type=amount_argument(1), metavar="STEP_ID")
    claim.add_argument("--idempotency-key", type=text_argument, metavar="KEY")
    _player(claim)
    claim.set_defaults(run=_claim)

    top = actions.add_parser("top", help="a clan's top 10 contributors to a chain")
    _chain_argument(top)
    top.add_argument("--clan", type=text_argument, required=True, metavar="CLAN_ID")
    store_option(top)
    at_option(top)
    format_option(top)
    top.set_defaults(run=_top)
