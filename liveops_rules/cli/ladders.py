"""`daily-chains …` and `offer-chains …`: admins import, list, show, toggle, reset and delete
chains; a player's backend reads the player's chains (`view`, `show --user`) and claims a
step; for offer chains it orders a paid step, then pays or abandons the order."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO

from liveops_rules.accounting import Outcome
from liveops_rules.chains.daily import DailyChains, DailyChainView
from liveops_rules.chains.offer import OfferChains, OfferChainView
from liveops_rules.chains.reward import RewardChains
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
from liveops_rules.cli.inputs import amount_argument, hold_argument, text_argument
from liveops_rules.models import User
from liveops_rules.models.daily import DailyChain
from liveops_rules.models.offer import OfferChain
from liveops_rules.wire import dump_payload, load_chain_catalog, load_user

__all__ = ["register"]

_KINDS = {"daily": ("daily-chains", "daily chain"), "offer": ("offer-chains", "offer chain")}


@contextmanager
def _engine_on(kind: str, uri: str) -> Iterator[Any]:
    with store_on(uri) as store:
        if kind == "daily":
            yield DailyChains(store)
        else:
            yield OfferChains(store, value_points=RewardChains(store))


def _user(path: str) -> User:
    return load_file(path, "user", load_user)


def _price_argument(text: str) -> tuple[str, Decimal]:
    """`SKU=AMOUNT`."""
    text = text_argument(text)
    sku, sep, amount = text.rpartition("=")
    if not sep or not sku:
        raise argparse.ArgumentTypeError(f"{text!r}: expected SKU=AMOUNT")
    try:
        price = Decimal(amount)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r}: {amount!r} is not an amount") from None
    if not price.is_finite() or price < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an amount of 0 or more")
    return sku, price


def _prices(args: argparse.Namespace) -> dict[str, Decimal] | None:
    """The `--price` options, None without any (then only `is_free` makes a step free)."""
    return dict(args.price) if args.price else None


def _shown_price(step: dict[str, Any]) -> str:
    if step["is_free"]:
        return "free"
    price = step["step_price"]
    return "paid (no --price)" if price is None else f"{price['amount']} {price['currency']}"


def _window(chain: DailyChain | OfferChain) -> str:
    start = chain.window.start.isoformat() if chain.window.start else "-"
    end = chain.window.end.isoformat() if chain.window.end else "no end"
    return f"{start} .. {end}"


def _found(engine: DailyChains | OfferChains, chain_id: int) -> Any:
    chain = engine.chain(chain_id)
    if chain is None:
        raise engine.not_found(chain_id)
    return chain


def _import(args: argparse.Namespace, out: TextIO) -> int:
    catalog = load_file(args.file, "catalog", load_chain_catalog)
    chains = catalog.daily_chains if args.kind == "daily" else catalog.offer_chains
    section = "daily_chains" if args.kind == "daily" else "offer_chains"
    if not chains:
        raise CliError(f"{args.file}: no {section} to import")
    kept: list[int] = []
    with _engine_on(args.kind, args.store) as engine:
        for chain in chains:
            known = chain.chain_id is not None and engine.chain(chain.chain_id) is not None
            made = engine.update_chain(chain) if known else engine.create_chain(chain)
            kept.append(made.chain_id or 0)
    if args.format == "json":
        write_json(out, {section: kept})
    else:
        out.write(f"imported {len(kept)} {_KINDS[args.kind][1]}s ({', '.join(map(str, kept))})\n")
    return EXIT_OK


def _list(args: argparse.Namespace, out: TextIO) -> int:
    with _engine_on(args.kind, args.store) as engine:
        every = engine.chains()
    if args.format == "json":
        write_json(out, [dump_payload(chain, "response") for chain in every])
        return EXIT_OK
    rows = []
    for chain in every:
        kind = (
            f"{chain.type.value}{' recurrent' if chain.recurrent else ''}"
            if isinstance(chain, DailyChain)
            else ("free+paid" if any(s.is_free for s in chain.steps) else "paid")
        )
        rows.append(
            [
                str(chain.chain_id),
                "yes" if chain.enabled else "no",
                kind,
                str(len(chain.steps)),
                _window(chain),
                chain.name.best(),
            ]
        )
    write_table(out, ["ID", "ENABLED", "TYPE", "STEPS", "WINDOW", "NAME"], rows)
    return EXIT_OK


def _items(items: Any) -> str:
    return ", ".join(f"{i.quantity} x {i.sku}" for i in items) or "nothing"


def _show(args: argparse.Namespace, out: TextIO) -> int:
    if args.user is not None:
        return _player_show(args, out)
    with _engine_on(args.kind, args.store) as engine:
        chain = _found(engine, args.chain)
    if args.format == "json":
        write_json(out, dump_payload(chain, "response"))
        return EXIT_OK
    out.write(f"{_KINDS[args.kind][1]} {chain.chain_id}: {chain.name.best()}\n")
    out.write(f"  {_window(chain)}, {'enabled' if chain.enabled else 'disabled'}\n")
    if isinstance(chain, DailyChain):
        rows = [[str(s.step_number), str(s.step_id), _items(s.items)] for s in chain.steps]
        write_table(out, ["STEP", "STEP ID", "ITEMS"], rows)
    else:
        rows = [
            [str(s.step_number), str(s.step_id), "free" if s.is_free else "paid", _items(s.items)]
            for s in chain.steps
        ]
        write_table(out, ["STEP", "STEP ID", "PRICE", "ITEMS"], rows)
    return EXIT_OK


def _daily_rows(view: DailyChainView) -> list[list[str]]:
    return [
        [
            str(state.step_number),
            state.status.value,
            "-" if state.unlocked_at is None else state.unlocked_at.isoformat(),
        ]
        for state in view.steps
    ]


def _offer_dict(engine: OfferChains, view: OfferChainView, args: argparse.Namespace) -> Any:
    mappings, texts = engine.value_point_texts()
    return view.to_dict(
        prices=_prices(args), currency=args.currency, value_points=mappings, point_texts=texts
    )


def _player_show(args: argparse.Namespace, out: TextIO) -> int:
    user = _user(args.user)
    with _engine_on(args.kind, args.store) as engine:
        view = engine.player_chain(args.chain, user, args.at)
        shown = view.to_dict() if args.kind == "daily" else _offer_dict(engine, view, args)
    if args.format == "json":
        write_json(out, shown)
        return EXIT_OK
    out.write(f"{_KINDS[args.kind][1]} {args.chain} for {user.id}: {view.chain.name.best()}\n")
    if isinstance(view, DailyChainView):
        write_table(out, ["STEP", "STATUS", "OPENS"], _daily_rows(view))
        opens = view.next_claim_at
        out.write(f"next claim: {'none' if opens is None else opens.isoformat()}\n")
    else:
        rows = [
            [
                str(step["step_number"]),
                "done" if step["is_claimed"] else "open",
                _shown_price(step),
                ", ".join(f"{i['quantity']} x {i['sku']}" for i in step["items"]),
            ]
            for step in shown["steps"]
        ]
        write_table(out, ["STEP", "STATE", "PRICE", "ITEMS"], rows)
        following = view.next_step_number
        out.write(f"next step: {'none (done)' if following is None else following}\n")
    return EXIT_OK


def _view(args: argparse.Namespace, out: TextIO) -> int:
    user = _user(args.user)
    with _engine_on(args.kind, args.store) as engine:
        views, total = engine.player_chains(user, args.at, limit=args.limit, offset=args.offset)
        items = [
            view.to_dict() if args.kind == "daily" else _offer_dict(engine, view, args)
            for view in views
        ]
    if args.format == "json":
        write_json(
            out,
            {
                "has_more": total > args.offset + len(views),
                "total_items_count": total,
                "items": items,
            },
        )
        return EXIT_OK
    rows = []
    for view in views:
        if isinstance(view, DailyChainView):
            claimed = sum(1 for s in view.steps if s.status.value == "claimed")
            opens = view.next_claim_at
            state = f"{claimed}/{len(view.steps)} claimed"
            when = "-" if opens is None else opens.isoformat()
        else:
            state = f"{len(view.progress.done)}/{len(view.chain.steps)} done"
            following = view.next_step_number
            when = "done" if following is None else f"step {following}"
        rows.append([str(view.chain.chain_id), state, when, view.chain.name.best()])
    header = "NEXT CLAIM" if args.kind == "daily" else "NEXT"
    write_table(out, ["ID", "PROGRESS", header, "NAME"], rows)
    if total > args.offset + len(views):
        out.write(f"({total} chains in all: --offset {args.offset + len(views)} for more)\n")
    return EXIT_OK


def _admin(args: argparse.Namespace, out: TextIO) -> int:
    title = _KINDS[args.kind][1]
    with _engine_on(args.kind, args.store) as engine:
        _found(engine, args.chain)
        document: dict[str, Any] = {f"{args.kind}_chain_id": args.chain}
        if args.action == "toggle":
            document["is_enabled"] = engine.toggle_chain(args.chain).enabled
            text = "enabled" if document["is_enabled"] else "disabled"
        elif args.action == "reset":
            document["generation"] = engine.reset_chain(args.chain, args.at)
            text = "reset: every player starts at step 1"
        else:
            engine.delete_chain(args.chain, args.at)
            document["deleted"] = True
            text = "deleted"
    if args.format == "json":
        write_json(out, document)
    else:
        out.write(f"{title} {args.chain} {text}\n")
    return EXIT_OK


def _answer(outcome: Outcome, args: argparse.Namespace, out: TextIO, done: str) -> int:
    if args.format == "json":
        write_json(out, outcome.to_dict())
    elif outcome.ok:
        out.write(f"{done}: {_items(outcome.items)} (order {outcome.operation_id})\n")
    else:
        assert outcome.refusal is not None
        refusal = outcome.refusal
        out.write(f"refused [{int(refusal.error_code)} {refusal.code}]: {refusal.message}\n")
    return EXIT_OK if outcome.ok else EXIT_REFUSED


def _claim(args: argparse.Namespace, out: TextIO) -> int:
    user = _user(args.user)
    with _engine_on(args.kind, args.store) as engine:
        if args.kind == "daily":
            outcome = engine.claim(
                args.chain, args.step, user, args.at, idempotency_key=args.idempotency_key
            )
        else:
            outcome = engine.claim(
                args.chain,
                args.step,
                user,
                args.at,
                prices=_prices(args),
                idempotency_key=args.idempotency_key,
            )
    title = _KINDS[args.kind][1]
    return _answer(outcome, args, out, f"claimed step {args.step} of {title} {args.chain}")


def _order(args: argparse.Namespace, out: TextIO) -> int:
    user = _user(args.user)
    prices = _prices(args)
    with _engine_on("offer", args.store) as engine:
        order = engine.order(
            args.chain,
            args.step,
            user,
            args.at,
            prices=prices,
            currency=args.currency,
            hold=args.hold,
            order_id=args.order_id,
        )
    if args.format == "json":
        write_json(out, order.to_dict())
    elif order.ok:
        assert order.quote is not None
        assert order.expires_at is not None
        out.write(
            f"order {order.order_id}: step {args.step} of offer chain {args.chain} held until "
            f"{order.expires_at.isoformat()}; to pay {order.quote.total} {order.quote.currency}\n"
        )
    else:
        assert order.outcome.refusal is not None
        refusal = order.outcome.refusal
        out.write(f"refused [{int(refusal.error_code)} {refusal.code}]: {refusal.message}\n")
    return EXIT_OK if order.ok else EXIT_REFUSED


def _settle(args: argparse.Namespace, out: TextIO) -> int:
    user = _user(args.user)
    with _engine_on("offer", args.store) as engine:
        if args.action == "pay":
            outcome = engine.pay(args.order_id, user, args.at)
            return _answer(outcome, args, out, f"order {args.order_id} paid")
        changed = engine.abandon(args.order_id, user, args.at)
    if args.format == "json":
        write_json(out, {"order_id": args.order_id, "released": changed})
    else:
        text = "released: the step is open again" if changed else "was not held any more"
        out.write(f"order {args.order_id} {text}\n")
    return EXIT_OK


def _player(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("--user", required=required, metavar="USER.json")
    store_option(parser)
    at_option(parser, required=required)
    format_option(parser)


def _price_options(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    parser.add_argument(
        "--price",
        type=_price_argument,
        action="append",
        metavar="SKU=AMOUNT",
        required=required,
        help="an item's catalog price (repeat for each item)",
    )
    parser.add_argument(
        "--currency", type=text_argument, default="USD", metavar="CODE", help="default USD"
    )


def _register_kind(commands: Commands, kind: str, summary: str) -> None:
    verb, title = _KINDS[kind]
    group = commands.add_parser(verb, help=summary)
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    group.set_defaults(kind=kind)

    importer = actions.add_parser(
        "import",
        help=f"add or replace the catalog file's {title}s",
        description=f"A {title} whose id is in the store is updated (only a disabled one "
        "can be; steps keep their ids), any other is created.",
    )
    importer.add_argument("file", metavar="CATALOG.json")
    store_option(importer)
    format_option(importer)
    importer.set_defaults(run=_import)

    lister = actions.add_parser("list", help=f"every {title} in the store")
    store_option(lister)
    format_option(lister)
    lister.set_defaults(run=_list)

    show = actions.add_parser(
        "show", help=f"a {title} with its steps; with --user, as that player sees it"
    )
    show.add_argument("chain", type=amount_argument(1), metavar="CHAIN_ID")
    show.add_argument("--user", metavar="USER.json")
    store_option(show)
    at_option(show, required=False)
    format_option(show)
    if kind == "offer":
        _price_options(show)
    show.set_defaults(run=_show)

    for name, text, moment in (
        ("toggle", "enable a disabled chain, disable an enabled one (progress stays)", False),
        (
            "reset",
            "start every player at step 1" + (" (rolling only)" if kind == "daily" else ""),
            True,
        ),
        ("delete", "delete the chain for good", True),
    ):
        admin = actions.add_parser(name, help=text, description=text)
        admin.add_argument("chain", type=amount_argument(1), metavar="CHAIN_ID")
        store_option(admin)
        if moment:
            at_option(admin)
        format_option(admin)
        admin.set_defaults(run=_admin)

    view = actions.add_parser("view", help=f"the {title}s a player sees, with progress")
    view.add_argument("--limit", type=amount_argument(1), default=50 if kind == "daily" else 30)
    view.add_argument("--offset", type=amount_argument(0), default=0, metavar="N")
    _player(view)
    if kind == "offer":
        _price_options(view)
    view.set_defaults(run=_view)

    claim = actions.add_parser(
        "claim", help="claim today's step" if kind == "daily" else "claim a free step"
    )
    claim.add_argument("chain", type=amount_argument(1), metavar="CHAIN_ID")
    claim.add_argument("step", type=amount_argument(1), metavar="STEP_NUMBER")
    claim.add_argument("--idempotency-key", type=text_argument, metavar="KEY")
    _player(claim)
    if kind == "offer":
        _price_options(claim)
    claim.set_defaults(run=_claim)

    if kind != "offer":
        return
    order = actions.add_parser("order", help="order a paid step: price it and hold it")
    order.add_argument("chain", type=amount_argument(1), metavar="CHAIN_ID")
    order.add_argument("step", type=amount_argument(1), metavar="STEP_NUMBER")
    order.add_argument("--order-id", type=text_argument, metavar="ORDER_ID")
    order.add_argument(
        "--hold",
        type=hold_argument,
        required=True,
        metavar="SECONDS",
        help="how long the step is held, in seconds",
    )
    _player(order)
    _price_options(order, required=True)
    order.set_defaults(run=_order)
    for name, text in (
        ("pay", "the order was paid: complete its step (commit)"),
        ("abandon", "the order was not paid: give its step back (release)"),
    ):
        settle = actions.add_parser(name, help=text, description=text)
        settle.add_argument("order_id", type=text_argument, metavar="ORDER_ID")
        _player(settle)
        settle.set_defaults(run=_settle)


def register(commands: Commands) -> None:
    """Add `daily-chains` and `offer-chains` and their actions."""
    _register_kind(commands, "daily", "daily chains: one reward a day, in order")
    _register_kind(commands, "offer", "offer chains: step-by-step purchase offers")
