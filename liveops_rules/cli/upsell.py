"""`upsell …`: the store's upsell configuration (show, set, activate, deactivate) and what it
offers a player from an item catalog file (`offer`)."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from liveops_rules.accounting import Accounting, AccountingError
from liveops_rules.catalog import Catalog
from liveops_rules.cli.common import (
    EXIT_OK,
    Commands,
    at_option,
    format_option,
    load_file,
    store_on,
    store_option,
    write_json,
    write_table,
)
from liveops_rules.cli.inputs import amount_argument
from liveops_rules.pricing import Pricing
from liveops_rules.upsell import ItemCatalog, Upsell
from liveops_rules.wire import (
    dump_upsell,
    load_cart,
    load_catalog,
    load_catalog_items,
    load_upsell,
    load_user,
)

__all__ = ["register"]


def _show(args: argparse.Namespace, out: TextIO) -> int:
    with store_on(args.store) as store:
        config = Upsell(store).get()
    if config is None:
        raise AccountingError("upsell_not_found", "Upsell is not configured.")
    if args.format == "json":
        write_json(out, dump_upsell(config))
    else:
        state = "enabled" if config.enabled else "disabled"
        items = f": {', '.join(config.items)}" if config.items else ""
        out.write(f"upsell {config.type.value}, {state}{items}\n")
    return EXIT_OK


def _set(args: argparse.Namespace, out: TextIO) -> int:
    config = load_file(args.file, "upsell", load_upsell)
    items = load_file(args.items, "items", load_catalog_items)
    with store_on(args.store) as store:
        Upsell(store).put(config, items)
    if args.format == "json":
        write_json(out, dump_upsell(config))
    else:
        out.write(
            f"upsell set: {config.type.value}, {'enabled' if config.enabled else 'disabled'}\n"
        )
    return EXIT_OK


def _switch(args: argparse.Namespace, out: TextIO) -> int:
    with store_on(args.store) as store:
        upsell = Upsell(store)
        config = upsell.activate() if args.action == "activate" else upsell.deactivate()
    if args.format == "json":
        write_json(out, dump_upsell(config))
    else:
        out.write(f"upsell {'enabled' if config.enabled else 'disabled'}\n")
    return EXIT_OK


def _offer(args: argparse.Namespace, out: TextIO) -> int:
    user = load_file(args.user, "user", load_user)
    items = load_file(args.items, "items", load_catalog_items)
    cart = None if args.cart is None else load_file(args.cart, "cart", load_cart)
    with store_on(args.store) as store:
        accounting = Accounting(store)
        if args.catalog is not None:
            promotions = load_file(args.catalog, "catalog", load_catalog)
        else:
            promotions = list(accounting.list_promotions().promotions)
        catalog = ItemCatalog(items, Pricing(Catalog(promotions)))
        page = Upsell(store).offer(
            user,
            args.at,
            catalog,
            cart=cart,
            accounting=accounting,
            limit=args.limit,
            offset=args.offset,
        )
    if args.format == "json":
        write_json(out, page.to_dict())
        return EXIT_OK
    rows: list[list[str]] = []
    for offered in page.items:
        shown: dict[str, Any] = offered.to_dict()
        price = shown["price"]
        was = "" if price is None else f" (was {price['amount_without_discount']})"
        rows.append(
            [
                offered.item.sku,
                "-" if price is None else f"{price['amount']} {price['currency']}{was}",
                ", ".join(p["name"] for p in shown["promotions"]) or "-",
                offered.item.name.best(),
            ]
        )
    write_table(out, ["SKU", "PRICE", "PROMOTIONS", "NAME"], rows)
    if page.has_more:
        out.write(f"(more: --offset {args.offset + len(page.items)})\n")
    return EXIT_OK


def register(commands: Commands) -> None:
    """Add `upsell` and its actions."""
    group = commands.add_parser("upsell", help="the upsell configuration and its offers")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    show = actions.add_parser("show", help="the store's upsell configuration")
    store_option(show)
    format_option(show)
    show.set_defaults(run=_show)

    setter = actions.add_parser(
        "set",
        help="create or replace the configuration (a fixed list's SKUs must be in --items)",
    )
    setter.add_argument("file", metavar="UPSELL.json")
    setter.add_argument("--items", required=True, metavar="ITEMS.json")
    store_option(setter)
    format_option(setter)
    setter.set_defaults(run=_set)

    for name, text in (("activate", "enable the configuration"), ("deactivate", "disable it")):
        switch = actions.add_parser(name, help=text, description=text)
        store_option(switch)
        format_option(switch)
        switch.set_defaults(run=_switch)

    offer = actions.add_parser("offer", help="the items the upsell offers a player")
    offer.add_argument("--user", required=True, metavar="USER.json")
    offer.add_argument("--items", required=True, metavar="ITEMS.json")
    offer.add_argument("--cart", metavar="CART.json", help="items already in the cart")
    offer.add_argument(
        "--catalog", metavar="CATALOG.json", help="the promotions (default: the store's)"
    )
    offer.add_argument("--limit", type=amount_argument(1), default=10, metavar="N")
    offer.add_argument("--offset", type=amount_argument(0), default=0, metavar="N")
    store_option(offer)
    at_option(offer)
    format_option(offer)
    offer.set_defaults(run=_offer)
