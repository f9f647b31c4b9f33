"""`promotions ...`: a campaign's life from the command line: list, show, create, update,
activate, deactivate, delete."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from liveops_rules.cli.common import (
    EXIT_OK,
    Commands,
    accounting_on,
    at_option,
    format_option,
    load_file,
    promotion_ref_argument,
    store_option,
    write_json,
    write_table,
)
from liveops_rules.cli.inputs import amount_argument
from liveops_rules.models import Promotion, PromotionKind
from liveops_rules.wire import Form, dump_promotion, load_promotion

__all__ = ["register"]

_ID_FIELDS = {
    PromotionKind.COUPON: "external_id",
    PromotionKind.PROMO_CODE: "external_id",
    PromotionKind.UNIQUE_CATALOG_OFFER: "external_id",
    PromotionKind.ITEM_DISCOUNT: "id",
    PromotionKind.BONUS: "id",
    PromotionKind.PERSONALIZED_RULE: "rule_id",
}


def _name(promotion: Promotion) -> str:
    name = getattr(promotion, "name", None)
    if not name:
        return ""
    return str(name.get("en") or name.get("en-US") or next(iter(name.values())))


def _row(promotion: Promotion) -> tuple[str, str, str, str]:
    return (
        promotion.kind.value,
        promotion.key or "",
        "yes" if promotion.enabled else "no",
        _name(promotion),
    )


def _list(args: argparse.Namespace, out: TextIO) -> int:
    with accounting_on(args.store) as accounting:
        page = accounting.list_promotions(
            kind=args.kind, enabled=args.enabled, limit=args.limit, offset=args.offset
        )
    if args.format == "json":
        write_json(
            out,
            {
                "promotions": [
                    {"type": p.kind.value, **dump_promotion(p, Form.RESPONSE)}
                    for p in page.promotions
                ],
                "total_promotions_count": page.total_promotions_count,
                "active_promotions_count": page.active_promotions_count,
                "inactive_promotions_count": page.inactive_promotions_count,
            },
        )
    else:
        write_table(out, ("KIND", "ID", "ENABLED", "NAME"), [_row(p) for p in page.promotions])
        out.write(
            f"{len(page.promotions)} shown of {page.total_promotions_count} "
            f"({page.active_promotions_count} active, "
            f"{page.inactive_promotions_count} inactive)\n"
        )
    return EXIT_OK


def _show(args: argparse.Namespace, out: TextIO) -> int:
    with accounting_on(args.store) as accounting:
        view = accounting.promotion_view(args.promotion, args.at)
    if args.format == "json":
        write_json(out, view)
    else:
        for field, value in view.items():
            out.write(f"{field}: {_plain(value)}\n")
    return EXIT_OK


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _load(kind: PromotionKind, path: str, ref: str | None) -> Promotion:
    def loader(data: object) -> Promotion:
        if ref is not None and isinstance(data, dict):  # an update: the id is the argument's
            key = ref.partition(":")[2]
            field = _ID_FIELDS[kind]
            data = {**data, field: key if field == "external_id" else _number(key)}
        return load_promotion(kind, data, form=Form.REQUEST if ref is None else None)

    return load_file(path, f"{kind.value} request", loader)


def _number(key: str) -> int | str:
    return int(key) if key.isdigit() else key


def _created(promotion: Promotion) -> dict[str, Any]:
    """LiveOps' create answer: the id it was given."""
    if promotion.kind is PromotionKind.PERSONALIZED_RULE:
        return {"rule_id": promotion.promotion_id}
    if promotion.external_id is not None:
        return {"external_id": promotion.external_id}
    return {"promotion_id": promotion.promotion_id}


def _create(args: argparse.Namespace, out: TextIO) -> int:
    kind = PromotionKind(args.kind)
    promotion = _load(kind, args.file, None)
    with accounting_on(args.store) as accounting:
        created = accounting.create_promotion(promotion)
    if args.format == "json":
        write_json(out, _created(created))
    else:
        out.write(f"created {kind.value}:{created.key} (disabled: activate it to start it)\n")
    return EXIT_OK


def _update(args: argparse.Namespace, out: TextIO) -> int:
    kind = PromotionKind(args.promotion.partition(":")[0])
    promotion = _load(kind, args.file, args.promotion)
    with accounting_on(args.store) as accounting:
        updated = accounting.update_promotion(promotion)
    if args.format == "json":
        write_json(out, dump_promotion(updated, Form.RESPONSE))
    else:
        out.write(f"updated {args.promotion}\n")
    return EXIT_OK


def _toggle(args: argparse.Namespace, out: TextIO) -> int:
    with accounting_on(args.store) as accounting:
        if args.action == "activate":
            changed = accounting.activate_promotion(args.promotion)
        else:
            changed = accounting.deactivate_promotion(args.promotion)
    if args.format == "json":
        write_json(out, {"promotion": args.promotion, "is_enabled": changed.enabled})
    else:
        out.write(f"{args.promotion} {'activated' if changed.enabled else 'deactivated'}\n")
    return EXIT_OK


def _delete(args: argparse.Namespace, out: TextIO) -> int:
    with accounting_on(args.store) as accounting:
        freed = accounting.delete_promotion(args.promotion, args.at)
    if args.format == "json":
        write_json(out, {"promotion": args.promotion, "deleted": True, "codes_freed": freed})
    else:
        out.write(f"deleted {args.promotion}; {freed} codes freed\n")
    return EXIT_OK


def _enabled(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, found {text!r}")


def register(commands: Commands) -> None:
    """Add `promotions list|show|create|update|activate|deactivate|delete`."""
    group = commands.add_parser("promotions", help="list, show, create, change, delete promotions")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    kinds = [kind.value for kind in PromotionKind]

    listing = actions.add_parser("list", help="the store's promotions, with LiveOps' counts")
    listing.add_argument("--kind", choices=kinds)
    listing.add_argument("--enabled", type=_enabled, metavar="true|false")
    listing.add_argument("--limit", type=amount_argument(1), metavar="N")
    listing.add_argument("--offset", type=amount_argument(0), default=0, metavar="N")
    listing.set_defaults(run=_list)

    show = actions.add_parser("show", help="one promotion as LiveOps answers it, with its state")
    show.add_argument("promotion", type=promotion_ref_argument, metavar="PROMOTION")
    at_option(show, required=False)
    show.set_defaults(run=_show)

    create = actions.add_parser("create", help="create a promotion (disabled) from a request")
    create.add_argument("kind", choices=kinds, metavar="KIND")
    create.add_argument("file", metavar="FILE.json")
    create.set_defaults(run=_create)

    update = actions.add_parser("update", help="replace a promotion's configuration (PUT)")
    update.add_argument("promotion", type=promotion_ref_argument, metavar="PROMOTION")
    update.add_argument("file", metavar="FILE.json")
    update.set_defaults(run=_update)

    for name, summary in (("activate", "enable it"), ("deactivate", "disable it")):
        toggle = actions.add_parser(name, help=summary)
        toggle.add_argument("promotion", type=promotion_ref_argument, metavar="PROMOTION")
        toggle.set_defaults(run=_toggle)

    delete = actions.add_parser("delete", help="delete it for good; its codes are freed")
    delete.add_argument("promotion", type=promotion_ref_argument, metavar="PROMOTION")
    at_option(delete, required=False)
    delete.set_defaults(run=_delete)

    for parser in actions.choices.values():
        store_option(parser)
        format_option(parser)
