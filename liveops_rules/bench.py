"""Benchmark a store's own catalog and players: per-player latency of eligibility, reasons,
cart quotes and redeems, and how it grows as the catalog does.

`run_bench` checks, before it times anything, that the Catalog answers exactly as a naive loop
over the promotions does, for every player and moment (a benchmark must never time wrong
answers: `BenchMismatch` otherwise). It prints nothing; `BenchReport.to_dict` is a JSON
document for regression checks, and `compare` reads a previous one against a new report.
"""

from __future__ import annotations

import bisect
import gc
import math
import platform
import random
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from liveops_rules.catalog import Catalog
from liveops_rules.errors import LiveOpsError, Problem, ValidationError
from liveops_rules.evaluate import check_moment, evaluate, is_eligible
from liveops_rules.models import PromotionKind, User
from liveops_rules.models.cart import Cart
from liveops_rules.models.conditions import DateCondition, NumberCondition, StringCondition
from liveops_rules.models.promotions import Promotion

if TYPE_CHECKING:
    from liveops_rules.stores import RedemptionStore

__all__ = [
    "DEFAULT_MAX_SLOWDOWN",
    "MAX_CARTS",
    "MAX_MOMENTS",
    "MAX_REPEAT",
    "MAX_SCALE",
    "MAX_SCALE_STEPS",
    "MAX_USERS",
    "OPERATIONS",
    "BenchMismatch",
    "BenchReport",
    "Build",
    "Change",
    "Comparison",
    "Figures",
    "Moments",
    "choose_moments",
    "compare",
    "load_report",
    "run_bench",
    "scaled",
    "synthetic_users",
]

OPERATIONS = ("eligible", "evaluate", "quote", "redeem")
"""What `run_bench` can measure, in the order it reports them."""
MAX_USERS = 1_000_000
"""The most players one run takes."""
MAX_REPEAT = 1000
"""The most times one measurement is repeated."""
MAX_SCALE = 64
"""The largest factor a catalog is scaled by."""
MAX_SCALE_STEPS = 16
"""The most scale factors one run takes."""
MAX_MOMENTS = 1000
"""The most moments one run takes."""
MAX_CARTS = 100_000
"""The most carts one run takes."""
DEFAULT_MAX_SLOWDOWN = 1.5
"""`compare` flags a median more than this factor slower (1.5: 50% slower)."""

_INT_MAX = 2**31 - 1
_EXTERNAL_ID_MAX = 255
_NO_DATES = datetime(2026, 1, 1, tzinfo=UTC)
"""The moment of a catalog that has no dates at all: every moment answers the same."""
_MISSING_RATE = 0.2
_FIGURES = ("median_us", "p90_us", "p99_us", "max_us", "throughput_per_s")


class BenchMismatch(LiveOpsError):  # noqa: N818 (the name the issue gives it)
    """The Catalog and the naive per-promotion loop disagree for a player at a moment: the
    benchmark stops before timing anything."""

    def __init__(self, operation: str, player: str, at: datetime, scale: int, detail: str):
        self.operation = operation
        self.player = player
        self.at = at
        self.scale = scale
        self.detail = detail
        super().__init__(
            f"{operation}: the Catalog and the naive loop disagree for player {player}"
            f" at {at.isoformat()} (scale {scale}): {detail}; nothing was timed"
        )


@attrs.frozen
class Figures:
    """One operation at one scale: per-call latency in microseconds (nearest-rank
    percentiles), operations per second, and the naive loop's median and ratio where there is
    one (`naive_ratio` = naive median / library median: above 1, the library is faster)."""

    operation: str
    scale: int
    samples: int
    median_us: float
    p90_us: float
    p99_us: float
    max_us: float
    throughput_per_s: float
    naive_median_us: float | None = None
    naive_ratio: float | None = None
    growth: float | None = None
    """The median over the median at the previous scale (None at the first)."""
    ok: int | None = None
    refused: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, every key always present (None where it does not apply)."""
        return attrs.asdict(self)


@attrs.frozen
class Build:
    """Building the Catalog at one scale: seconds (median of up to 3 builds) and the bytes it
    holds (tracemalloc, on a build of its own so that tracing slows no timed one)."""

    scale: int
    promotions: int
    build_seconds: float
    memory_bytes: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return attrs.asdict(self)


@attrs.frozen
class Moments:
    """The moments a run uses and how they were chosen (`note`, for the output)."""

    moments: tuple[datetime, ...]
    note: str


@attrs.frozen
class BenchReport:
    """What `run_bench` measured."""

    version: str
    python: str
    players: int
    repeat: int
    moments: Moments
    scales: tuple[int, ...]
    promotions: int
    codes: int
    builds: tuple[Build, ...]
    results: tuple[Figures, ...]

    def figure(self, operation: str, scale: int = 1) -> Figures | None:
        """The figures of `operation` at `scale`, if measured."""
        for figures in self.results:
            if figures.operation == operation and figures.scale == scale:
                return figures
        return None

    def to_dict(self) -> dict[str, Any]:
        """A JSON document with stable keys, numbers as numbers."""
        return {
            "liveops_rules": self.version,
            "python": self.python,
            "players": self.players,
            "repeat": self.repeat,
            "moments": [m.isoformat() for m in self.moments.moments],
            "moments_chosen": self.moments.note,
            "scales": list(self.scales),
            "promotions": self.promotions,
            "codes": self.codes,
            "builds": [b.to_dict() for b in self.builds],
            "results": [r.to_dict() for r in self.results],
        }


# -- inputs -----------------------------------------------------------------------------------


def _bounded(name: str, value: object, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise ValidationError.single(name, f"a whole number from {low} to {high}", value)
    return value


def _check_promotions(promotions: object) -> list[Promotion]:
    if not isinstance(promotions, Sequence) or isinstance(promotions, str):
        raise ValidationError.single("promotions", "a sequence of promotions", promotions)
    Catalog(promotions)  # refuses what is not a promotion, a missing or a repeated id
    return list(promotions)


def _shifted(day: date | datetime, days: int) -> date | datetime | None:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return None


def _attribute_values(promotions: Sequence[Promotion]) -> dict[str, list[str]]:
    """For each attribute the conditions name: values at and around each threshold."""
    values: dict[str, dict[str, None]] = {}
    for promotion in promotions:
        for condition in promotion.conditions:
            found = values.setdefault(condition.attribute, {})
            if isinstance(condition, StringCondition):
                found[condition.value] = None
                found[f"not-{condition.value}"[:64]] = None
            elif isinstance(condition, NumberCondition):
                number = condition.value
                for step in (-1, 0, 1):
                    found[str(number + step)] = None
            elif isinstance(condition, DateCondition):
                for days in (-1, 0, 1):
                    day = _shifted(condition.value, days)
                    if day is not None:
                        found[day.isoformat()] = None
    return {name: list(found) for name, found in values.items()}


def synthetic_users(promotions: Sequence[Promotion], count: int, *, seed: int = 0) -> list[User]:
    """`count` players (ids `synthetic-0`...) with the attributes the catalog's conditions
    name: strings they name (and others), numbers and dates at and around their thresholds,
    each attribute missing now and then. The same seed gives the same players."""
    promotions = _check_promotions(promotions)
    _bounded("count", count, 1, MAX_USERS)
    if type(seed) is not int:
        raise ValidationError.single("seed", "a whole number", seed)
    rng = random.Random(seed)
    values = _attribute_values(promotions)
    users = []
    for index in range(count):
        attributes = {
            name: rng.choice(choices)
            for name, choices in values.items()
            if rng.random() >= _MISSING_RATE
        }
        users.append(User(f"synthetic-{index}", attributes))
    return users


def _copy(promotion: Promotion, copy: int, offset: int) -> Promotion:
    changes: dict[str, Any] = {}
    if promotion.external_id is not None:
        suffix = f".x{copy}"
        if len(promotion.external_id) + len(suffix) > _EXTERNAL_ID_MAX:
            raise ValidationError.single(
                f"{promotion.kind.value}:{promotion.key}",
                f"an external id of at most {_EXTERNAL_ID_MAX - len(suffix)} characters to copy",
                promotion.external_id,
            )
        changes["external_id"] = promotion.external_id + suffix
    if promotion.promotion_id is not None:
        changes["promotion_id"] = promotion.promotion_id + copy * offset
    excluded = getattr(promotion, "excluded_promotions", ())
    if excluded:
        # A copy excludes the copies of what its original excludes: the copies of a catalog
        # price a cart as the catalog does.
        changes["excluded_promotions"] = tuple(number + copy * offset for number in excluded)
    return attrs.evolve(promotion, **changes)


def scaled(promotions: Sequence[Promotion], factor: int) -> list[Promotion]:
    """The promotions followed by `factor - 1` copies of them, each copy with new ids: `.xK`
    after external ids, K times the largest numeric id added to numeric ids (and to the ids
    a copy excludes). Each copy evaluates as its original does."""
    promotions = _check_promotions(promotions)
    _bounded("factor", factor, 1, MAX_SCALE)
    numbers = [p.promotion_id for p in promotions if p.promotion_id is not None]
    numbers += [n for p in promotions for n in getattr(p, "excluded_promotions", ())]
    offset = max(numbers, default=0)
    if offset * factor > _INT_MAX:
        raise ValidationError.single(
            "factor",
            f"a factor whose copies' ids stay at most {_INT_MAX} (largest id {offset})",
            factor,
        )
    result = list(promotions)
    for copy in range(1, factor):
        result.extend(_copy(p, copy, offset) for p in promotions)
    seen: set[tuple[PromotionKind, str | None]] = set()
    for promotion in result:
        key = (promotion.kind, promotion.key)
        if key in seen:  # an original already named like a copy (`a` and `a.x1`)
            raise ValidationError.single(
                "promotions", "ids whose copies are new ids", f"{key[0].value}:{key[1]}"
            )
        seen.add(key)
    return result


def _region_moment(bounds: list[datetime], region: int) -> datetime | None:
    """A moment of region `region`: [bounds[r], bounds[r + 1]), -1 before the first bound."""
    if region < 0:
        try:
            return bounds[0] - timedelta(days=1)
        except OverflowError:
            return None
    if region + 1 >= len(bounds):
        return bounds[region]
    return bounds[region] + (bounds[region + 1] - bounds[region]) / 2


def choose_moments(promotions: Sequence[Promotion], count: int = 1) -> Moments:
    """`count` moments over the catalog's windows, the same each time: one, a moment inside
    the most enabled promotions' windows; more, spread evenly from the first date to the last.
    A catalog without dates gets a fixed moment (every moment answers the same)."""
    promotions = _check_promotions(promotions)
    _bounded("count", count, 1, MAX_MOMENTS)
    periods = [period for p in promotions for period in p.window.all_periods if p.enabled] or [
        period for p in promotions for period in p.window.all_periods
    ]
    bounds = sorted({m for period in periods for m in period if m is not None})
    if not bounds:
        step = timedelta(hours=1)
        return Moments(
            tuple(_NO_DATES + i * step for i in range(count)),
            "the catalog has no dates: any moment answers the same",
        )
    if count > 1:
        first, last = bounds[0], bounds[-1]
        span = last - first if last > first else timedelta(days=1)
        moments = tuple(first + span * i / (count - 1) for i in range(count))
        return Moments(moments, f"{count} moments spread from {first.isoformat()} to the last date")
    # How many windows cover each region between consecutive dates: a sweep of +1 at each
    # start and -1 at each end, not a scan of every window for every region.
    delta = [0] * (len(bounds) + 1)  # delta[r + 1]: change entering region r (-1 is index 0)
    for start, end in periods:
        delta[0 if start is None else bisect.bisect_left(bounds, start) + 1] += 1
        if end is not None:
            delta[bisect.bisect_left(bounds, end) + 1] -= 1
    best, best_region, running = -1, -1, 0
    for index, change in enumerate(delta):
        running += change
        region = index - 1
        if running > best and _region_moment(bounds, region) is not None:
            best, best_region = running, region
    moment = _region_moment(bounds, best_region)
    assert moment is not None
    return Moments((moment,), f"inside the most windows: {best} of {len(periods)}")


# -- measuring --------------------------------------------------------------------------------

_clock = time.perf_counter_ns
"""The timer of every measurement (one name, so that a test can see none ran too early)."""


def _percentile(ordered: Sequence[int], fraction: float) -> float:
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] / 1000.0


def _figures(operation: str, scale: int, samples: list[int], **extra: Any) -> Figures:
    ordered = sorted(samples)
    total = sum(ordered)
    return Figures(
        operation=operation,
        scale=scale,
        samples=len(ordered),
        median_us=_percentile(ordered, 0.5),
        p90_us=_percentile(ordered, 0.9),
        p99_us=_percentile(ordered, 0.99),
        max_us=ordered[-1] / 1000.0,
        throughput_per_s=len(ordered) / (total / 1e9) if total else 0.0,
        **extra,
    )


def _describe_refs(promotions: Sequence[Promotion]) -> str:
    refs = [f"{p.kind.value}:{p.key}" for p in promotions[:5]]
    more = f" and {len(promotions) - 5} more" if len(promotions) > 5 else ""
    return ", ".join(refs) + more if refs else "none"


def _verify(
    catalog: Catalog,
    promotions: Sequence[Promotion],
    users: Sequence[User],
    moments: Sequence[datetime],
    what: Sequence[str],
    scale: int,
) -> None:
    """Every player at every moment: the Catalog's answers are the naive loop's."""
    for index, user in enumerate(users):
        player = user.id if user.id is not None else f"#{index} (anonymous)"
        for at in moments:
            if "eligible" in what:
                library = catalog.eligible(user, at)
                naive = [p for p in promotions if is_eligible(p, user, at)]
                if library != naive:
                    extra = [p for p in library if p not in naive]
                    lacking = [p for p in naive if p not in library]
                    raise BenchMismatch(
                        "eligible",
                        player,
                        at,
                        scale,
                        f"the Catalog also gives {_describe_refs(extra)},"
                        f" and lacks {_describe_refs(lacking)}",
                    )
            if "evaluate" in what:
                decisions = catalog.evaluate_all(user, at)
                expected = [evaluate(p, user, at) for p in promotions]
                if decisions != expected:
                    wrong = [
                        e.promotion for d, e in zip(decisions, expected, strict=False) if d != e
                    ]
                    counted = f"{len(decisions)} decisions for {len(expected)} promotions"
                    raise BenchMismatch(
                        "evaluate", player, at, scale, f"{counted}; differ: {_describe_refs(wrong)}"
                    )


@attrs.define
class _Progress:
    total: int
    report: Callable[[int, int], None] | None
    done: int = 0

    def add(self, calls: int) -> None:
        self.done += calls
        if self.report is not None:
            self.report(self.done, self.total)


def _time_calls(
    call: Callable[[int, datetime], object],
    count: int,
    moments: Sequence[datetime],
    repeat: int,
    progress: _Progress,
) -> list[int]:
    """Each player (0..count-1) at each moment, `repeat` times: one sample a call, in ns."""
    clock = _clock
    samples: list[int] = []
    for _ in range(repeat):
        for at in moments:
            gc.collect()
            for index in range(count):
                started = clock()
                call(index, at)
                samples.append(clock() - started)
            progress.add(count)
    return samples


def _build(promotions: Sequence[Promotion], scale: int, repeat: int) -> Build:
    seconds = []
    for _ in range(min(3, repeat)):
        gc.collect()
        started = _clock()
        Catalog(promotions)
        seconds.append((_clock() - started) / 1e9)
    gc.collect()
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    catalog = Catalog(promotions)
    after, _ = tracemalloc.get_traced_memory()
    if not tracing:
        tracemalloc.stop()
    del catalog
    return Build(scale, len(promotions), sorted(seconds)[len(seconds) // 2], max(0, after - before))


@contextmanager
def _throwaway_store() -> Iterator[RedemptionStore]:
    from liveops_rules.stores import open_store

    with tempfile.TemporaryDirectory(prefix="liveops-bench-") as folder:
        store = open_store(f"sqlite:///{Path(folder) / 'bench.db'}?synchronous=normal")
        try:
            yield store
        finally:
            store.close()


def _library_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("liveops-rules")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _check_what(what: object, carts: Sequence[Cart]) -> tuple[str, ...]:
    if isinstance(what, str) or not isinstance(what, Sequence) or not what:
        raise ValidationError.single("what", "a non-empty list of " + ", ".join(OPERATIONS), what)
    for name in what:
        if name not in OPERATIONS:
            raise ValidationError.single("what", "operations among " + ", ".join(OPERATIONS), name)
    if "quote" in what and not carts:
        raise ValidationError.single("carts", "one cart or more to quote", "none")
    return tuple(op for op in OPERATIONS if op in what)


def _check_scales(scales: object) -> tuple[int, ...]:
    if isinstance(scales, str) or not isinstance(scales, Sequence) or not scales:
        raise ValidationError.single("scales", "a non-empty list of factors", scales)
    if len(scales) > MAX_SCALE_STEPS:
        raise ValidationError.single("scales", f"at most {MAX_SCALE_STEPS} factors", scales)
    for index, factor in enumerate(scales):
        _bounded(f"scales[{index}]", factor, 1, MAX_SCALE)
    if list(scales) != sorted(set(scales)):
        raise ValidationError.single("scales", "factors in increasing order, each once", scales)
    return tuple(scales)


def run_bench(
    promotions: Sequence[Promotion],
    users: Sequence[User],
    *,
    moments: Moments | Sequence[datetime] | None = None,
    codes: Mapping[tuple[PromotionKind, str], Sequence[str]] | None = None,
    carts: Sequence[Cart] = (),
    what: Sequence[str] = ("eligible", "evaluate"),
    repeat: int = 1,
    scales: Sequence[int] = (1,),
    store: RedemptionStore | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BenchReport:
    """Measure `what` (of OPERATIONS) for every player at every moment, `repeat` times, on
    the catalog and on each of its `scales` (see `scaled`).

    `moments` default: `choose_moments(promotions)`. `quote`: player i prices cart
    i mod len(carts). `redeem`: player i redeems code i mod the number of codes (the
    catalog's `codes`, as `load_catalog_codes` reads them), on `store` after the catalog is
    imported into it, or by default on a throwaway SQLite file; it is measured at the first
    scale only (copies have no codes). `progress(done, total)` is called as calls are timed.

    Raises BenchMismatch, before any timing, when the Catalog and the naive loop disagree;
    ValidationError for a wrong input, naming it.
    """
    promotions = _check_promotions(promotions)
    if isinstance(users, str) or not isinstance(users, Sequence):
        raise ValidationError.single("users", "a sequence of Users", users)
    _bounded("users", len(users), 1, MAX_USERS)
    for index, user in enumerate(users):
        if not isinstance(user, User):
            raise ValidationError.single(f"users[{index}]", "a User", user)
    if isinstance(carts, str) or not isinstance(carts, Sequence) or len(carts) > MAX_CARTS:
        raise ValidationError.single("carts", f"a sequence of at most {MAX_CARTS} carts", carts)
    for index, cart in enumerate(carts):
        if not isinstance(cart, Cart):
            raise ValidationError.single(f"carts[{index}]", "a Cart", cart)
    operations = _check_what(what, carts)
    _bounded("repeat", repeat, 1, MAX_REPEAT)
    factors = _check_scales(scales)
    if moments is None:
        moments = choose_moments(promotions)
    elif not isinstance(moments, Moments):
        if isinstance(moments, str) or not isinstance(moments, Sequence):
            raise ValidationError.single("moments", "a sequence of datetimes", moments)
        _bounded("moments", len(moments), 1, MAX_MOMENTS)
        for index, at in enumerate(moments):
            check_moment(at, f"moments[{index}]")
        moments = Moments(tuple(moments), "as given")
    codes = {} if codes is None else codes
    code_list = [code for found in codes.values() for code in found]
    if "redeem" in operations and not code_list:
        raise ValidationError.single("codes", "a catalog with codes to redeem", "none")
    at_list = moments.moments

    catalogs = {factor: scaled(promotions, factor) for factor in factors}
    # Every answer is checked before the first timing: a benchmark never times wrong ones.
    for factor, copies in catalogs.items():
        _verify(Catalog(copies), copies, users, at_list, operations, factor)

    count = len(users)
    per_pass = count * len(at_list) * repeat
    naive_ops = sum(op in operations for op in ("eligible", "evaluate"))
    library_ops = sum(op in operations for op in ("eligible", "evaluate", "quote"))
    total = per_pass * (len(factors) * (library_ops + naive_ops) + ("redeem" in operations))
    ticker = _Progress(total, progress)
    builds: list[Build] = []
    results: list[Figures] = []
    previous: dict[str, float] = {}
    for factor in factors:
        copies = catalogs[factor]
        builds.append(_build(copies, factor, repeat))
        found = _measure(
            Catalog(copies),
            copies,
            users,
            at_list,
            operations,
            repeat,
            factor,
            carts,
            codes,
            ticker,
        )
        if "redeem" in operations and factor == factors[0]:
            found["redeem"] = _redeem(
                promotions, codes, code_list, users, at_list, repeat, store, ticker
            )
        for operation in OPERATIONS:
            if operation in found:
                figures = found[operation]
                before = previous.get(operation)
                if before:
                    figures = attrs.evolve(figures, growth=figures.median_us / before)
                previous[operation] = figures.median_us
                results.append(figures)
    return BenchReport(
        version=_library_version(),
        python=f"{platform.python_implementation()} {platform.python_version()}",
        players=count,
        repeat=repeat,
        moments=moments,
        scales=factors,
        promotions=len(promotions),
        codes=len(code_list),
        builds=tuple(builds),
        results=tuple(results),
    )


def _measure(
    catalog: Catalog,
    copies: Sequence[Promotion],
    users: Sequence[User],
    at_list: Sequence[datetime],
    operations: Sequence[str],
    repeat: int,
    factor: int,
    carts: Sequence[Cart],
    codes: Mapping[tuple[PromotionKind, str], Sequence[str]],
    ticker: _Progress,
) -> dict[str, Figures]:
    """The Catalog's operations at one scale (the naive loops beside them)."""
    count = len(users)
    found: dict[str, Figures] = {}
    if "eligible" in operations:
        library = _time_calls(
            lambda i, at: catalog.eligible(users[i], at), count, at_list, repeat, ticker
        )
        naive = _time_calls(
            lambda i, at: [p for p in copies if is_eligible(p, users[i], at)],
            count,
            at_list,
            repeat,
            ticker,
        )
        found["eligible"] = _with_naive("eligible", factor, library, naive)
    if "evaluate" in operations:
        # Reasons are worked out when first read: reading them is part of the operation.
        library = _time_calls(
            lambda i, at: [d.reasons for d in catalog.evaluate_all(users[i], at)],
            count,
            at_list,
            repeat,
            ticker,
        )
        naive = _time_calls(
            lambda i, at: [evaluate(p, users[i], at).reasons for p in copies],
            count,
            at_list,
            repeat,
            ticker,
        )
        found["evaluate"] = _with_naive("evaluate", factor, library, naive)
    if "quote" in operations:
        from liveops_rules.pricing import Pricing, promo_codes_of

        pricing = Pricing(catalog, codes=promo_codes_of(copies, codes))
        samples = _time_calls(
            lambda i, at: pricing.quote(carts[i % len(carts)], users[i], at),
            count,
            at_list,
            repeat,
            ticker,
        )
        found["quote"] = _figures("quote", factor, samples)
    return found


def _with_naive(operation: str, scale: int, library: list[int], naive: list[int]) -> Figures:
    figures = _figures(operation, scale, library)
    naive_median = _percentile(sorted(naive), 0.5)
    ratio = naive_median / figures.median_us if figures.median_us else None
    return attrs.evolve(figures, naive_median_us=naive_median, naive_ratio=ratio)


def _redeem(
    promotions: Sequence[Promotion],
    codes: Mapping[tuple[PromotionKind, str], Sequence[str]],
    code_list: Sequence[str],
    users: Sequence[User],
    moments: Sequence[datetime],
    repeat: int,
    store: RedemptionStore | None,
    ticker: _Progress,
) -> Figures:
    from liveops_rules.accounting import Accounting

    outcomes = [0, 0]  # refused, ok

    def run(accounting: Accounting) -> list[int]:
        accounting.import_catalog(promotions, codes)

        def redeem(i: int, at: datetime) -> None:
            outcome = accounting.redeem(code_list[i % len(code_list)], users[i], at)
            outcomes[outcome.ok] += 1

        return _time_calls(redeem, len(users), moments, repeat, ticker)

    if store is None:
        with _throwaway_store() as throwaway:
            samples = run(Accounting(throwaway))
    else:
        samples = run(Accounting(store))
    return _figures("redeem", 1, samples, ok=outcomes[1], refused=outcomes[0])


# -- comparing --------------------------------------------------------------------------------


@attrs.frozen
class Change:
    """One figure of one operation at one scale, before and after (`factor` = after / before;
    for throughput, before / after, so that above 1 is always slower)."""

    operation: str
    scale: int
    figure: str
    before: float
    after: float
    factor: float | None
    """None when the figure before was 0."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return attrs.asdict(self)


@attrs.frozen
class Comparison:
    """A report against a previous one: every change, and the medians slower than allowed."""

    max_slowdown: float
    changes: tuple[Change, ...]
    slower: tuple[Change, ...]

    @property
    def ok(self) -> bool:
        """Whether no median got slower by more than `max_slowdown`."""
        return not self.slower

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "max_slowdown": self.max_slowdown,
            "ok": self.ok,
            "changes": [c.to_dict() for c in self.changes],
            "slower": [c.to_dict() for c in self.slower],
        }


def _number(data: Mapping[str, Any], key: str, path: str, *, optional: bool) -> float | None:
    value: object = data.get(key)
    if value is None and optional:
        return None
    positive = key == "median_us"
    if (
        not isinstance(value, int | float | Decimal)  # strict JSON reads fractions as Decimal
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value < 0
        or (positive and value == 0)
    ):
        expected = "a positive number" if positive else "a non-negative number"
        raise ValidationError.single(f"{path}.{key}", expected, value)
    return float(value)


def load_report(data: object) -> dict[tuple[str, int], dict[str, float]]:
    """The figures of a `BenchReport.to_dict` document (as read from JSON), by (operation,
    scale); a ValidationError naming the first thing wrong."""
    if not isinstance(data, dict):
        raise ValidationError.single("$", "a bench report object", data)
    results = data.get("results")
    if not isinstance(results, list):
        raise ValidationError.single("$.results", "a list of results", results)
    if len(results) > len(OPERATIONS) * MAX_SCALE_STEPS:
        raise ValidationError.single(
            "$.results", f"at most {len(OPERATIONS) * MAX_SCALE_STEPS} results", results
        )
    figures: dict[tuple[str, int], dict[str, float]] = {}
    problems: list[Problem] = []
    for index, result in enumerate(results):
        path = f"$.results[{index}]"
        try:
            if not isinstance(result, dict):
                raise ValidationError.single(path, "a result object", result)
            operation = result.get("operation")
            if operation not in OPERATIONS:
                raise ValidationError.single(
                    f"{path}.operation", "one of " + ", ".join(OPERATIONS), operation
                )
            scale = result.get("scale")
            _bounded(f"{path}.scale", scale, 1, MAX_SCALE)
            assert isinstance(scale, int)
            assert isinstance(operation, str)
            if (operation, scale) in figures:
                raise ValidationError.single(path, "one result per operation and scale", "two")
            read = {}
            for key in _FIGURES:
                value = _number(result, key, path, optional=key != "median_us")
                if value is not None:
                    read[key] = value
            figures[operation, scale] = read
        except ValidationError as error:
            problems.extend(error.problems)
    if problems:
        raise ValidationError(problems)
    return figures


def compare(
    previous: object,
    report: BenchReport | object,
    *,
    max_slowdown: float = DEFAULT_MAX_SLOWDOWN,
) -> Comparison:
    """`report` (a BenchReport or its `to_dict`) against `previous` (a `to_dict` document):
    the change of every figure both have, and the medians more than `max_slowdown` times
    slower (a factor above 1: 1.5 is 50% slower). ValidationError for a malformed document."""
    if (
        type(max_slowdown) not in (int, float)
        or not math.isfinite(max_slowdown)
        or max_slowdown < 1
    ):
        raise ValidationError.single("max_slowdown", "a factor of 1 or more", max_slowdown)
    before = load_report(previous)
    after = load_report(report.to_dict() if isinstance(report, BenchReport) else report)
    changes: list[Change] = []
    slower: list[Change] = []
    for key, figures in after.items():
        old = before.get(key)
        if old is None:
            continue
        for name, value in figures.items():
            was = old.get(name)
            if was is None:
                continue
            factor: float | None
            if name == "throughput_per_s":
                factor = was / value if value else None
            else:
                factor = value / was if was else None
            change = Change(key[0], key[1], name, was, value, factor)
            changes.append(change)
            if name == "median_us" and factor is not None and factor > max_slowdown:
                slower.append(change)
    return Comparison(float(max_slowdown), tuple(changes), tuple(slower))
