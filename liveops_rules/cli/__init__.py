"""The `liveops-rules` command: parse arguments, call the library, print. Nothing more.

One module per group of verbs (`catalog`, `promotions`, `codes`, `counting`, `quote`); what they
share is in `common` and `inputs`. Exit status: 0 done, 1 refused, 2 not done.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import io
import logging
import os
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import TextIO

from liveops_rules.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    CliError,
    Parser,
    UsageError,
)
from liveops_rules.cli.inputs import Scrubber
from liveops_rules.errors import LiveOpsError

__all__ = ["VERB_GROUPS", "build_parser", "main"]


def _sample(name: str) -> Path:
    return Path(str(resources.files("liveops_rules").joinpath("samples", name)))


def _demo(_: argparse.Namespace, out: TextIO) -> int:
    from liveops_rules.demo import run_demo

    run_demo(_sample("catalog.json"), _sample("user.json"), out)
    return EXIT_OK


VERB_GROUPS: dict[str, tuple[str, str] | None] = {
    "check": ("catalog", "add_check"),
    "validate": ("catalog", "add_validate"),
    "import": ("catalog", "add_import"),
    "promotions": ("promotions", "register"),
    "codes": ("codes", "register"),
    "redeem": ("counting", "register"),
    "verify": ("counting", "register"),
    "holds": ("counting", "register"),
    "limits": ("counting", "register"),
    "quote": ("quote", "register"),
    "chains": ("chains", "register"),
    "daily-chains": ("ladders", "register"),
    "offer-chains": ("ladders", "register"),
    "upsell": ("upsell", "register"),
    "bench": ("bench", "register"),
    "demo": None,
}
"""Each verb, and the module and function that add it (`demo` is this module's own)."""

_GROUPS = tuple(dict.fromkeys(adder[0] for adder in VERB_GROUPS.values() if adder is not None))
"""The modules of verbs, in the order the help lists them."""


def _adders_for(argv: Sequence[str]) -> list[tuple[str, str]]:
    # A run names its verb first: only what adds that verb is imported (a `check` needs none
    # of the stores', chains' or answers' code). Anything else (`--help`, a mistyped verb)
    # gets every verb, so that the help and the complaint list them all.
    if argv and argv[0] in VERB_GROUPS:
        adder = VERB_GROUPS[argv[0]]
        return [] if adder is None else [adder]
    return [(group, "register") for group in _GROUPS]


class _Version(argparse.Action):
    """`--version`, read from the installed package only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from liveops_rules import __version__

        sys.stdout.write(f"liveops-rules {__version__}\n")
        parser.exit()


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The command's parser, with the verbs `argv` needs (every verb for none)."""
    parser = Parser(
        prog="liveops-rules",
        description="Decide which LiveOps promotions apply to a player, and why.",
        epilog="Exit status: 0 done, 1 refused (a limit, an unknown code or promotion),"
        " 2 not done (bad input, an unusable store).",
    )
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group, adder in _adders_for(argv):
        getattr(importlib.import_module(f"liveops_rules.cli.{group}"), adder)(commands)
    demo = commands.add_parser("demo", help="a walk through the library on bundled sample data")
    demo.set_defaults(run=_demo)
    return parser


def _tolerate_unprintable(stream: TextIO) -> None:
    """Print what the stream's encoding cannot hold as escapes rather than fail."""
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(errors="backslashreplace")


def _run(argv: Sequence[str], out: TextIO, complain: Callable[..., None]) -> int:
    try:
        args = build_parser(argv).parse_args(argv)
        return int(args.run(args, out))
    except UsageError as error:
        complain(str(error), prefix="")
        return EXIT_USAGE
    except CliError as error:
        complain(str(error))
        return EXIT_USAGE
    except LiveOpsError as error:
        # A refusal comes from the accounting, loaded by then: a run that never loaded it
        # (a bad catalog in `check`) does not import it to tell.
        outcomes = sys.modules.get("liveops_rules.accounting.outcomes")
        if outcomes is not None and isinstance(error, outcomes.AccountingError):
            complain(f"{error.message} [{int(error.error_code)}]")
            return EXIT_REFUSED
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
    if argv is None:
        # A run of the command is short and builds many objects that live to its end (a
        # catalog's models): the collector's default pace spends a third of a load on them.
        gc.set_threshold(100_000, 50, 100)
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
