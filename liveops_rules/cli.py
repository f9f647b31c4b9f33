"""The `liveops-rules` command: parse arguments, call the library, print. Nothing more."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TextIO

from liveops_rules.catalog import Catalog
from liveops_rules.errors import ValidationError
from liveops_rules.evaluate import Decision
from liveops_rules.models import PromotionKind, User
from liveops_rules.wire import (
    PAYLOAD_KINDS,
    Form,
    load_catalog,
    load_payload,
    load_promotion,
    load_user,
    read_json_file,
)
from liveops_rules.wire._detect import detect_kinds

__all__ = ["main"]

_PROMOTION_KINDS = frozenset(kind.value for kind in PromotionKind)

EXIT_OK = 0
EXIT_USAGE = 2


class _CliError(Exception):
    """A problem with the command's input, printed as one message with exit status 2."""


def _load(path: str, what: str, loader: object) -> object:
    try:
        data = read_json_file(path)
        return loader(data)  # type: ignore[operator]
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
    assert isinstance(user, User)
    decisions = Catalog(promotions).evaluate_all(user, at)  # type: ignore[arg-type]
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
            if form and candidate in _PROMOTION_KINDS:
                load_promotion(candidate, data, form=form)
            else:
                load_payload(candidate, data)
        except ValidationError as error:
            failures.append((candidate, error))
            continue
        return [f"{path}: valid {candidate}" + (f" ({form})" if form else "")]
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
        help="for promotions: also refuse the fields of the other form",
    )
    validate.set_defaults(run=_validate)

    demo = commands.add_parser("demo", help="a walk through the library on bundled sample data")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status (0 fine, 2 bad or invalid input)."""
    stream = out if out is not None else sys.stdout
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args, stream))
    except _CliError as error:
        sys.stderr.write(f"liveops-rules: {error}\n")
        return EXIT_USAGE
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
