"""Verbs on catalog files: `check` (who gets what, and why not), `validate` (LiveOps payloads,
every problem with its path) and `import` (into a store, optionally in sync with the file)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any, TextIO

import attrs

from liveops_rules import wire
from liveops_rules.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    Commands,
    accounting_on,
    at_option,
    format_option,
    load_file,
    progress_bar,
    store_option,
    write_json,
    write_table,
)
from liveops_rules.cli.inputs import read_input_file
from liveops_rules.errors import ValidationError
from liveops_rules.evaluate import Decision, evaluate
from liveops_rules.models import PromotionKind
from liveops_rules.redaction import redact_uri
from liveops_rules.wire import Form, load_catalog, load_catalog_codes, load_user
from liveops_rules.wire._detect import detect_kinds

__all__ = ["add_check", "add_import", "add_validate", "register"]

_PROMOTION_KINDS = frozenset(kind.value for kind in PromotionKind)


def _result(decision: Decision) -> dict[str, object]:
    promotion = decision.promotion
    return {
        "kind": promotion.kind.value,
        "id": promotion.key,
        "eligible": decision.eligible,
        "reasons": [reason.to_dict() for reason in decision.reasons],
    }


def _check(args: argparse.Namespace, out: TextIO) -> int:
    promotions = load_file(args.catalog, "catalog", load_catalog)
    user = load_file(args.user, "user", load_user)
    # One user: evaluating each promotion is quicker than indexing them first (the loader
    # already refused repeated and missing ids, as a Catalog would).
    decisions: Sequence[Decision] = [evaluate(p, user, args.at) for p in promotions]
    if args.format == "json":
        results = [_result(d) for d in decisions]
        write_json(out, {"at": args.at.isoformat(), "user": user.id, "results": results})
    else:
        rows = [
            (
                d.promotion.kind.value,
                d.promotion.key or "",
                "yes" if d.eligible else "no",
                "; ".join(r.message for r in d.reasons),
            )
            for d in decisions
        ]
        write_table(out, ("KIND", "ID", "ELIGIBLE", "WHY NOT"), rows)
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
            shown = form if form and _has_forms(self.kind) else None
            head = f"{self.path}: valid {self.kind}" + (f" ({shown})" if shown else "")
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


def _has_forms(kind: str) -> bool:
    return kind in _PROMOTION_KINDS or kind == "catalog"


def _validate_one(path: str, kind: str | None, form: str | None) -> _Verdict:
    try:
        data = read_input_file(path)
    except ValidationError as error:
        return _Verdict(path, None, tuple(str(p) for p in error.problems))
    candidates = (kind,) if kind else detect_kinds(data)
    failures: list[tuple[str, ValidationError]] = []
    for candidate in candidates:
        try:
            # A form is checked where a payload has forms (promotions, catalogs of them);
            # other payloads have one form only.
            wire.load_payload(candidate, data, form=form if _has_forms(candidate) else None)
        except ValidationError as error:
            failures.append((candidate, error))
            continue
        return _Verdict(path, candidate, ())
    best, refusal = min(failures, key=lambda failure: len(failure[1].problems))
    return _Verdict(path, best, tuple(str(p) for p in refusal.problems), guessed=not kind)


def _validate(args: argparse.Namespace, out: TextIO) -> int:
    verdicts = [_validate_one(path, args.kind, args.form) for path in args.files]
    if args.format == "json":
        # ASCII: file names may not be text
        out.write(json.dumps({"files": [v.to_dict() for v in verdicts]}, indent=2) + "\n")
    else:
        for verdict in verdicts:
            out.write("\n".join(verdict.lines(args.form)) + "\n")
    return EXIT_OK if all(verdict.valid for verdict in verdicts) else EXIT_USAGE


def _import(args: argparse.Namespace, out: TextIO) -> int:
    if args.dry_run and not args.sync:
        raise CliError("--dry-run goes with --sync (a plain import changes nothing it need not)")
    promotions, codes = load_file(args.catalog, "catalog", load_catalog_codes)
    with accounting_on(args.store) as accounting:
        report = accounting.import_catalog(
            promotions,
            codes,
            sync=args.sync,
            dry_run=args.dry_run,
            at=args.at,
            progress=progress_bar(len(promotions)),
        )
    where = redact_uri(args.store)
    document: dict[str, Any] = {"promotions": len(promotions), **report.to_dict()}
    document["store"] = where
    if args.format == "json":
        write_json(out, document)
        return EXIT_OK
    verb = "would import" if report.dry_run else "imported"
    removed = "would remove" if report.dry_run else "removed"
    out.write(
        f"{verb} {len(promotions)} promotions and {report.codes_added} new codes into {where}"
        f" ({len(report.created)} new, {len(report.updated)} changed,"
        f" {len(report.unchanged)} unchanged)"
        + (
            f"; {removed} {len(report.removed)} promotions and {report.codes_removed} codes"
            if args.sync
            else ""
        )
        + "\n"
    )
    for ref in report.removed:
        out.write(f"  {removed} {ref}\n")
    return EXIT_OK


def register(commands: Commands) -> None:
    """Add `check`, `validate` and `import`."""
    add_check(commands)
    add_validate(commands)
    add_import(commands)


def add_check(commands: Commands) -> None:
    """Add `check` alone (the command line's quickest verb needs nothing of the others)."""
    check = commands.add_parser(
        "check", help="for each promotion in a catalog file: eligible or not, and why"
    )
    check.add_argument("catalog", metavar="CATALOG.json")
    check.add_argument("--user", required=True, metavar="USER.json")
    at_option(check)
    format_option(check)
    check.set_defaults(run=_check)


def add_validate(commands: Commands) -> None:
    """Add `validate` alone."""
    from liveops_rules.wire import PAYLOAD_KINDS  # every loader of the wire: only for this verb

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
    format_option(validate)
    validate.set_defaults(run=_validate)


def add_import(commands: Commands) -> None:
    """Add `import` alone."""
    importer = commands.add_parser(
        "import", help="keep a catalog's promotions and codes in a store (idempotent)"
    )
    importer.add_argument("catalog", metavar="CATALOG.json")
    store_option(importer)
    importer.add_argument(
        "--sync",
        action="store_true",
        help="make the store hold exactly the file: delete promotions and free codes it lacks",
    )
    importer.add_argument(
        "--dry-run", action="store_true", help="with --sync: only show what it would change"
    )
    at_option(importer, required=False)
    format_option(importer)
    importer.set_defaults(run=_import)
