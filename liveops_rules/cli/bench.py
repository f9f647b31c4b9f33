"""`bench`: time a catalog's eligibility, reasons, quotes and redeems for a store's own players
(or synthetic ones), as the catalog grows; compare with a previous run's JSON."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, TextIO, TypeVar

from liveops_rules.bench import (
    DEFAULT_MAX_SLOWDOWN,
    MAX_CARTS,
    MAX_MOMENTS,
    MAX_REPEAT,
    MAX_SCALE,
    MAX_SCALE_STEPS,
    MAX_USERS,
    OPERATIONS,
    BenchMismatch,
    BenchReport,
    Comparison,
    IncomparableReportsError,
    Moments,
    choose_moments,
    compare,
    load_report,
    run_bench,
    synthetic_users,
)
from liveops_rules.cli.common import (
    EXIT_OK,
    EXIT_REFUSED,
    CliError,
    Commands,
    format_option,
    load_file,
    progress_bar,
    store_on,
    store_option,
    write_json,
    write_table,
)
from liveops_rules.cli.inputs import (
    MAX_FILE_BYTES,
    Scrubber,
    moment_argument,
    printable,
    whole_argument,
)
from liveops_rules.errors import ValidationError
from liveops_rules.wire import load_cart, load_catalog_codes, load_user, parse_json

__all__ = ["register"]

T = TypeVar("T")


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number, found {printable(repr(text[:40]))}"
        ) from None


def _what(text: str) -> tuple[str, ...]:
    names = [name.strip() for name in text.split(",")]
    for name in names:
        if name not in OPERATIONS:
            raise argparse.ArgumentTypeError(
                f"expected operations among {','.join(OPERATIONS)}, found"
                f" {printable(repr(name[:40]))}"
            )
    return tuple(dict.fromkeys(names))


def _scales(text: str) -> tuple[int, ...]:
    parts = text.split(",")
    if len(parts) > MAX_SCALE_STEPS:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_SCALE_STEPS} factors")
    factors = tuple(whole_argument(1, MAX_SCALE)(part.strip()) for part in parts)
    if list(factors) != sorted(set(factors)):
        raise argparse.ArgumentTypeError(
            f"expected factors in increasing order, each once, found {text[:60]}"
        )
    return factors


def _slowdown(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 1 <= value <= 1e6:  # NaN fails too
        raise argparse.ArgumentTypeError(
            f"expected a factor from 1 to 1000000 (1.5: 50% slower), found"
            f" {printable(repr(text[:40]))}"
        )
    return value


def _read_jsonl(path: str, what: str, loader: Callable[[object], T], limit: int) -> list[T]:
    """One JSON document a line (blank lines skipped), each loaded as `what`; a problem
    names the file and the line, exit 2."""
    try:
        with open(path, "rb") as file:
            content = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise CliError(
            f"{path}: cannot read it ({error.strerror or type(error).__name__})"
        ) from None
    if len(content) > MAX_FILE_BYTES:
        raise CliError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    loaded: list[T] = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            raise CliError(f"{path}:{number}: invalid {what}: not UTF-8 text") from None
        try:
            loaded.append(loader(parse_json(text)))
        except ValidationError as error:
            shown = "; ".join(str(problem) for problem in error.problems[:5])
            raise CliError(f"{path}:{number}: invalid {what}: {shown}") from None
        if len(loaded) > limit:
            raise CliError(f"{path}: more than {limit} {what}s")
    if not loaded:
        raise CliError(f"{path}: no {what} in it (one JSON document a line)")
    return loaded


def _check_options(args: argparse.Namespace) -> None:
    if args.seed is not None and args.synthetic_users is None:
        raise CliError("--seed goes with --synthetic-users")
    if args.store is not None and not args.yes_write:
        raise CliError(
            "--store: bench redeems codes and imports the catalog there, which changes the"
            " store; add --yes-write to allow it (without --store it uses a throwaway file)"
        )
    if args.yes_write and args.store is None:
        raise CliError("--yes-write goes with --store")
    if args.store is not None and "redeem" not in args.what:
        raise CliError("--store is where redeem runs: add redeem to --what")
    if "quote" in args.what and args.carts is None:
        raise CliError("--what quote needs --carts CARTS.jsonl (one cart a line)")
    if args.max_slowdown is not None and args.compare is None:
        raise CliError("--max-slowdown goes with --compare")


def _bench(args: argparse.Namespace, out: TextIO) -> int:
    _check_options(args)
    previous = None
    if args.compare is not None:  # read first: a malformed file stops before the long run
        previous = load_file(args.compare, "bench report", _previous_report)
    promotions, codes = load_file(args.catalog, "catalog", load_catalog_codes)
    if args.users is not None:
        users = _read_jsonl(args.users, "user", load_user, MAX_USERS)
    else:
        seed = 0 if args.seed is None else args.seed
        users = synthetic_users(promotions, args.synthetic_users, seed=seed)
    carts = [] if args.carts is None else _read_jsonl(args.carts, "cart", load_cart, MAX_CARTS)
    if args.at is not None:
        moments = Moments((args.at,), "as given (--at)")
    elif args.moments is not None:
        moments = choose_moments(promotions, args.moments)
    else:
        chosen = choose_moments(promotions, 1)
        moments = Moments(chosen.moments, f"{chosen.note} (the default: --moments 1)")
    bar: list[Callable[[int], None] | None] = []

    def progress(done: int, total: int) -> None:
        if not bar:
            bar.append(progress_bar(total))
        if bar[0] is not None:
            bar[0](done)

    options: dict[str, Any] = {
        "moments": moments,
        "codes": codes,
        "carts": carts,
        "what": args.what,
        "repeat": args.repeat,
        "scales": args.scale,
        "progress": progress,
    }
    if args.store is not None:
        uri: str = args.store
        # Opened only when redeem timing starts, after every input and answer is checked:
        # a refused run never creates or writes the store.
        options["store"] = lambda: store_on(uri)
    try:
        report = run_bench(promotions, users, **options)
    except BenchMismatch as error:
        # Answers that differ are a finding (exit 1), not bad input.
        sys.stderr.write(f"liveops-rules: {Scrubber(())(str(error))}\n")
        return EXIT_REFUSED
    comparison = None
    if previous is not None:
        slowdown = DEFAULT_MAX_SLOWDOWN if args.max_slowdown is None else args.max_slowdown
        try:
            comparison = compare(previous, report, max_slowdown=slowdown)
        except IncomparableReportsError as error:
            raise CliError(f"--compare {args.compare}: not the same run: {error}") from None
    if args.format == "json":
        document = report.to_dict()
        if comparison is not None:
            document["comparison"] = comparison.to_dict()
        write_json(out, document)
    else:
        _print_report(report, out)
        if comparison is not None:
            _print_comparison(comparison, out)
    if comparison is not None and not comparison.ok:
        for change in comparison.slower:
            sys.stderr.write(
                f"liveops-rules: {change.operation} at scale {change.scale}: median"
                f" {change.after:g} µs, was {change.before:g} µs ({change.factor:.2f}x, more"
                f" than --max-slowdown {comparison.max_slowdown:g})\n"
            )
        return EXIT_REFUSED
    return EXIT_OK


def _previous_report(data: object) -> object:
    load_report(data)  # refuses a malformed file, naming where
    return data


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _print_report(report: BenchReport, out: TextIO) -> None:
    out.write(
        f"liveops-rules {report.version}, {report.python}: {report.promotions} promotions,"
        f" {report.codes} codes, {report.players} players, repeat {report.repeat}\n"
    )
    shown = ", ".join(m.isoformat() for m in report.moments.moments[:3])
    more = f" and {len(report.moments.moments) - 3} more" if len(report.moments.moments) > 3 else ""
    out.write(f"at {shown}{more}: {report.moments.note}\n\n")
    write_table(
        out,
        ("SCALE", "PROMOTIONS", "BUILD_MS", "MEMORY_KB"),
        [
            (
                str(b.scale),
                str(b.promotions),
                _number(b.build_seconds * 1000, 2),
                _number(b.memory_bytes / 1024),
            )
            for b in report.builds
        ],
    )
    out.write("\n")
    header = (
        "OPERATION",
        "SCALE",
        "SAMPLES",
        "MEDIAN_US",
        "P90_US",
        "P99_US",
        "MAX_US",
        "OPS_PER_S",
        "NAIVE_MEDIAN_US",
        "VS_NAIVE",
        "GROWTH",
    )
    rows = [
        (
            f.operation,
            str(f.scale),
            str(f.samples),
            _number(f.median_us),
            _number(f.p90_us),
            _number(f.p99_us),
            _number(f.max_us),
            _number(f.throughput_per_s, 0),
            _number(f.naive_median_us),
            "-" if f.naive_ratio is None else f"{f.naive_ratio:.2f}x",
            "-" if f.growth is None else f"{f.growth:.2f}x",
        )
        for f in report.results
    ]
    write_table(out, header, rows)
    for f in report.results:
        if f.ok is not None:
            out.write(f"\nredeem: {f.ok} ok, {f.refused} refused (a refusal is timed too)\n")
    out.write(
        "\nVS_NAIVE: the naive per-promotion loop's median over the Catalog's (above 1: the"
        " Catalog is faster), for eligible only (evaluate_all is that loop already);"
        " GROWTH: the median over the previous scale's\n"
    )
    if any(f.operation in ("quote", "redeem") for f in report.results):
        out.write(
            "QUOTE, REDEEM: timed on the catalog itself (scale 1) only; scaled copies stack"
            " their discounts on a cart and carry no codes\n"
        )


def _print_comparison(comparison: Comparison, out: TextIO) -> None:
    out.write(f"\nagainst the previous run (--max-slowdown {comparison.max_slowdown:g}):\n")
    rows = [
        (
            c.operation,
            str(c.scale),
            c.figure,
            _number(c.before),
            _number(c.after),
            "-" if c.factor is None else f"{c.factor:.2f}x",
            "SLOWER" if c in comparison.slower else "",
        )
        for c in comparison.changes
    ]
    header = ("OPERATION", "SCALE", "FIGURE", "BEFORE", "AFTER", "SLOWDOWN", "")
    write_table(out, header, rows)
    for label, keys in (
        ("only in the previous run", comparison.only_before),
        ("only in this run", comparison.only_after),
        ("median not compared (0 or missing: a timer too coarse)", comparison.not_compared),
    ):
        if keys:
            shown = ", ".join(f"{operation} at scale {scale}" for operation, scale in keys)
            out.write(f"{label}: {shown}\n")


def register(commands: Commands) -> None:
    """Add `bench`."""
    bench = commands.add_parser(
        "bench",
        help="time a catalog's eligibility, reasons, quotes and redeems for your players",
        description="Time, per player, what a catalog costs: eligibility (beside a naive"
        " per-promotion loop, after checking both give the same answers), reasons (checked"
        " against the Catalog's eligibility), cart quotes (checked for consistency) and"
        " redeems, as the catalog is scaled (quotes and redeems on the catalog itself only)."
        " Nothing is written to --store before every check passed. Exit status: 0 done, 1"
        " answers differ or a median got slower than --max-slowdown, 2 bad input or a"
        " --compare report of another run.",
    )
    bench.add_argument("catalog", metavar="CATALOG.json")
    players = bench.add_mutually_exclusive_group(required=True)
    players.add_argument(
        "--users", metavar="USERS.jsonl", help="the players: one user JSON document a line"
    )
    players.add_argument(
        "--synthetic-users",
        type=whole_argument(1, MAX_USERS),
        metavar="N",
        help="N players drawn from the attributes the catalog's conditions name",
    )
    bench.add_argument(
        "--seed", type=_seed, metavar="S", help="with --synthetic-users: the draw (default 0)"
    )
    when = bench.add_mutually_exclusive_group()
    when.add_argument(
        "--at",
        type=moment_argument,
        metavar="ISO8601",
        help="the moment, with its UTC offset, or `now`",
    )
    when.add_argument(
        "--moments",
        type=whole_argument(1, MAX_MOMENTS),
        metavar="N",
        help="N moments spread over the catalog's dates (default: 1, inside the most windows)",
    )
    bench.add_argument(
        "--carts",
        metavar="CARTS.jsonl",
        help="carts to quote, one a line: player i quotes cart i mod their number; with"
        " promo codes in the catalog, odd-numbered players use one (timed at scale 1 only)",
    )
    store_option(
        bench,
        required=False,
        help="redeem on this store (with --yes-write); default: a throwaway SQLite file",
    )
    bench.add_argument(
        "--yes-write",
        action="store_true",
        help="allow --store to be written: the catalog is imported there and its codes redeemed",
    )
    bench.add_argument(
        "--what",
        type=_what,
        default=("eligible", "evaluate"),
        metavar="OPS",
        help=f"what to time, comma-separated among {','.join(OPERATIONS)} (default"
        " eligible,evaluate)",
    )
    bench.add_argument(
        "--repeat",
        type=whole_argument(1, MAX_REPEAT),
        default=1,
        metavar="N",
        help="samples per player and moment (default 1)",
    )
    bench.add_argument(
        "--scale",
        type=_scales,
        default=(1,),
        metavar="K,...",
        help=f"also time eligible and evaluate on the catalog copied K times (factors 1 to"
        f" {MAX_SCALE}, e.g. 1,2,4,8); quote and redeem are timed on the catalog itself only",
    )
    bench.add_argument(
        "--compare", metavar="PREVIOUS.json", help="a previous --format json output to compare"
    )
    bench.add_argument(
        "--max-slowdown",
        type=_slowdown,
        metavar="X",
        help=f"with --compare: exit 1 when a median is more than X times slower"
        f" (default {DEFAULT_MAX_SLOWDOWN})",
    )
    format_option(bench)
    bench.set_defaults(run=_bench)
