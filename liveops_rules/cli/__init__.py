"""The `liveops-rules` command: parse arguments, call the library, print. Nothing more.

One module per group of verbs (`catalog`, `promotions`, `codes`, `counting`, `quote`); what they
share is in `common` and `inputs`. Exit status: 0 done, 1 refused, 2 not done.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import logging
import os
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import TextIO

from liveops_rules.accounting import AccountingError
from liveops_rules.cli import (
    catalog,
    chains,
    codes,
    counting,
    ladders,
    promotions,
    quote,
    upsell,
)
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

__all__ = ["main"]


def _sample(name: str) -> Path:
    return Path(str(resources.files("liveops_rules").joinpath("samples", name)))


def _demo(_: argparse.Namespace, out: TextIO) -> int:
    from liveops_rules.demo import run_demo

    run_demo(_sample("catalog.json"), _sample("user.json"), out)
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    from liveops_rules import __version__

    parser = Parser(
        prog="liveops-rules",
        description="Decide which LiveOps promotions apply to a player, and why.",
        epilog="Exit status: 0 done, 1 refused (a limit, an unknown code or promotion),"
        " 2 not done (bad input, an unusable store).",
    )
    parser.add_argument("--version", action="version", version=f"liveops-rules {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    catalog.register(commands)
    promotions.register(commands)
    codes.register(commands)
    counting.register(commands)
    quote.register(commands)
    chains.register(commands)
    ladders.register(commands)
    upsell.register(commands)
    demo = commands.add_parser("demo", help="a walk through the library on bundled sample data")
    demo.set_defaults(run=_demo)
    return parser


def _tolerate_unprintable(stream: TextIO) -> None:
    """Print what the stream's encoding cannot hold as escapes rather than fail."""
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(errors="backslashreplace")


def _run(argv: Sequence[str], out: TextIO, complain: Callable[..., None]) -> int:
    try:
        args = _parser().parse_args(argv)
        return int(args.run(args, out))
    except UsageError as error:
        complain(str(error), prefix="")
        return EXIT_USAGE
    except CliError as error:
        complain(str(error))
        return EXIT_USAGE
    except AccountingError as error:
        complain(f"{error.message} [{int(error.error_code)}]")
        return EXIT_REFUSED
    except LiveOpsError as error:
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
