"""What every verb of the command line shares: exit statuses, errors, reading input files,
opening a store, the common options, progress on a terminal and printing."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeAlias, TypeVar

from liveops_rules.cli.indented import dumps_indented
from liveops_rules.cli.inputs import (
    moment_argument,
    read_input_file,
    store_argument,
    text_argument,
)
from liveops_rules.errors import LiveOpsError, ValidationError
from liveops_rules.models import PromotionKind

if TYPE_CHECKING:
    from liveops_rules.accounting import Accounting
    from liveops_rules.stores import RedemptionStore

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "CliError",
    "Commands",
    "Parser",
    "UsageError",
    "accounting_on",
    "at_option",
    "format_option",
    "load_file",
    "progress_bar",
    "promotion_ref_argument",
    "store_on",
    "store_option",
    "write_json",
    "write_table",
]

T = TypeVar("T")

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # as shells report a command stopped by Ctrl-C


class CliError(Exception):
    """A problem with the command's input, printed as one message with exit status 2."""


class UsageError(Exception):
    """argparse's complaint about the arguments, with the usage line (exit status 2)."""


class Parser(argparse.ArgumentParser):
    """argparse that raises its complaints instead of printing them, so that `main` prints
    them like every other message: without passwords, and printable."""

    def error(self, message: str) -> NoReturn:
        """Raise the complaint as a UsageError."""
        raise UsageError(f"{self.format_usage()}{self.prog}: error: {message}")


Commands: TypeAlias = "argparse._SubParsersAction[Parser]"
"""The sub-command table each group of verbs adds its verbs to."""


def load_file(path: str, what: str, loader: Callable[[object], T]) -> T:
    """Read a JSON file and load it as `what`; every problem with its JSON path, exit 2."""
    try:
        data = read_input_file(path)
        return loader(data)
    except ValidationError as error:
        lines = [f"{path}: invalid {what}:"] + [f"  {p}" for p in error.problems]
        if len(error.problems) == 1:
            lines = [f"{path}: {error.problems[0]}"]
        raise CliError("\n".join(lines)) from None


@contextmanager
def store_on(uri: str) -> Iterator[RedemptionStore]:
    """The store at `uri`, closed afterwards; an unusable store is exit 2."""
    from liveops_rules.stores import open_store  # only the verbs that count need the stores

    try:
        store: RedemptionStore = open_store(uri)
    except LiveOpsError as error:
        raise CliError(f"--store: {error}") from None
    try:
        yield store
    finally:
        store.close()


@contextmanager
def accounting_on(uri: str) -> Iterator[Accounting]:
    """An Accounting on the store at `uri`, closed afterwards; an unusable store is exit 2."""
    from liveops_rules.accounting import Accounting

    with store_on(uri) as store:
        yield Accounting(store)


def promotion_ref_argument(text: str) -> str:
    """`kind:id`, or a bare external id meaning a coupon."""
    text = text_argument(text)
    kind, sep, key = text.partition(":")
    if not sep:
        return f"{PromotionKind.COUPON.value}:{text}"
    try:
        PromotionKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in PromotionKind)
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected KIND:ID with KIND one of {kinds}"
        ) from None
    if not key:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an id after {kind}:")
    return f"{kind}:{key}"


def format_option(parser: argparse.ArgumentParser) -> None:
    """`--format table|json`."""
    parser.add_argument("--format", choices=("table", "json"), default="table")


def store_option(
    parser: argparse.ArgumentParser, *, required: bool = True, help: str | None = None
) -> None:
    """`--store URI`."""
    parser.add_argument("--store", type=store_argument, required=required, metavar="URI", help=help)


def at_option(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """`--at ISO8601` (or `now`)."""
    parser.add_argument(
        "--at",
        required=required,
        type=moment_argument,
        default=None if required else moment_argument("now"),
        metavar="ISO8601",
        help="the moment, with its UTC offset (2026-11-28T12:00:00+00:00), or `now`"
        + ("" if required else " (the default)"),
    )


def progress_bar(total: int, stream: TextIO | None = None) -> Callable[[int], None] | None:
    """A progress bar on a terminal (None elsewhere) for work that takes over a second:
    call it with how much is done."""
    stream = sys.stderr if stream is None else stream
    if not stream.isatty() or total <= 0:
        return None
    started = time.monotonic()
    drawn = [False]

    def show(done: int) -> None:
        # Drawn once the work has taken a second: a quick command prints no bar at all.
        if not drawn[0] and time.monotonic() - started < 1.0:
            return
        drawn[0] = True
        width = 30
        filled = width * min(done, total) // total
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return show


def write_json(out: TextIO, document: Any) -> None:
    """One JSON document, indented."""
    out.write(dumps_indented(document) + "\n")


def write_table(out: TextIO, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Rows under a header, columns padded to their widest cell (the last one not padded)."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        out.write(("  ".join([*cells, row[-1]])).rstrip() + "\n")
