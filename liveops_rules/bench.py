"""Benchmark a store's own catalog and players: per-player latency of eligibility, reasons,
cart quotes and redeems, and how it grows as the catalog does.

`run_bench` checks, before it times anything (and before it opens or writes any store), that
the Catalog answers exactly as a naive loop over the promotions does, for every player and
moment, and that every quote it will time is consistent (a benchmark must never time wrong
answers: `BenchMismatch` otherwise). It prints nothing; `BenchReport.to_dict` is a JSON
document for regression checks, and `compare` reads a previous one against a new report of
the same run (same catalog, players, moments and repeat).

Quotes and redeems are timed on the catalog itself only (reported at scale 1): the copies of a
scaled catalog stack their discounts on a cart (a different quote, not the same work on a
larger catalog), and carry no codes.
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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, localcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from liveops_rules.catalog import Catalog
from liveops_rules.errors import LiveOpsError, Problem, ValidationError, describe
from liveops_rules.evaluate import check_moment, is_eligible
from liveops_rules.models import PromotionKind, User
from liveops_rules.models.cart import Cart
from liveops_rules.models.conditions import DateCondition, NumberCondition, StringCondition
from liveops_rules.models.promotions import PromoCode, Promotion
from liveops_rules.money import WIDE

if TYPE_CHECKING:
    from liveops_rules.pricing import Quote
    from liveops_rules.stores import RedemptionStore

StoreOpener = Callable[[], AbstractContextManager["RedemptionStore"]]
"""A zero-argument callable returning a context manager that opens a store (and closes it)."""

__all__ = [
    "DEFAULT_MAX_SLOWDOWN",
    "MAX_CARTS",
    "MAX_MOMENTS",
    "MAX_REPEAT",
    "MAX_SAMPLES",
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
    "IncomparableReportsError",
    "Moments",
    "StoreOpener",
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
MAX_SAMPLES = 10_000_000
"""The most samples one operation takes in one run: users x moments x repeat x scales."""
DEFAULT_MAX_SLOWDOWN = 1.5
"""`compare` flags a median more than this factor slower (1.5: 50% slower)."""

_INT_MAX = 2**31 - 1
_EXTERNAL_ID_MAX = 255
_NO_DATES = datetime(2026, 1, 1, tzinfo=UTC)
"""The moment of a catalog that has no dates at all: every moment answers the same."""
_MISSING_RATE = 0.2
_FIGURES = ("median_us", "p90_us", "p99_us", "max_us", "throughput_per_s")
_HEADER = ("promotions", "codes", "players", "moments", "repeat")
"""What two reports must share for `compare` to read one against the other."""


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


class IncomparableReportsError(ValidationError):
    """`compare` was given two runs that did not measure the same thing (another catalog,
    other players, moments or repeat), or that have no operation and scale in common."""


@attrs.frozen
class Figures:
    """One operation at one scale: per-call latency in microseconds (nearest-rank
    percentiles), operations per second (None when the timer measured no time at all), and
    the naive loop's median and ratio where there is one (`naive_ratio` = naive median /
    library median: above 1, the library is faster).

    Only `eligible` has a naive side (a loop of `is_eligible` over the promotions, against the
    Catalog's index). `evaluate` has none: `Catalog.evaluate_all` is itself that loop over
    `evaluate`, so a "naive" timing would time the same code twice; its answers are checked
    against `Catalog.eligible` instead."""

    operation: str
    scale: int
    samples: int
    median_us: float
    p90_us: float
    p99_us: float
    max_us: float
    throughput_per_s: float | None
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
    """The moments a run uses and how they were chosen (`note`, for the output); `run_bench`
    refuses an empty one or a moment without a UTC offset, naming it (`moments[i]`)."""

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
        throughput_per_s=len(ordered) / (total / 1e9) if total else None,
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
    """Every player at every moment: the Catalog's answers are the naive loop's, and each
    decision `evaluate_all` makes says eligible exactly for what `Catalog.eligible` gives."""
    for index, user in enumerate(users):
        player = _player(user, index)
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
                # `evaluate_all` is the loop of `evaluate` a naive side would run: its
                # decisions are read against the Catalog's index instead.
                decisions = catalog.evaluate_all(user, at)
                chosen = {id(p) for p in catalog.eligible(user, at)}
                wrong = [
                    p
                    for d, p in zip(decisions, promotions, strict=False)
                    if d.promotion != p or d.eligible != (id(d.promotion) in chosen)
                ]
                if wrong or len(decisions) != len(promotions):
                    counted = f"{len(decisions)} decisions for {len(promotions)} promotions"
                    raise BenchMismatch(
                        "evaluate",
                        player,
                        at,
                        scale,
                        f"{counted}; not as Catalog.eligible answers: {_describe_refs(wrong)}",
                    )


def _player(user: User, index: int) -> str:
    return user.id if user.id is not None else f"#{index} (anonymous)"


@attrs.frozen
class _Quoting:
    """The quotes `run_bench` times: player i prices cart i mod len(carts); an odd-numbered
    player uses promo code (i // 2) mod the number of promo codes, when the catalog has some."""

    promotions: Sequence[Promotion]
    carts: Sequence[Cart]
    codes: Mapping[str, PromoCode]
    texts: tuple[str, ...]
    catalog: Catalog

    @classmethod
    def of(
        cls,
        promotions: Sequence[Promotion],
        codes: Mapping[tuple[PromotionKind, str], Sequence[str]],
        carts: Sequence[Cart],
    ) -> _Quoting:
        from liveops_rules.pricing import promo_codes_of

        found = promo_codes_of(promotions, codes)
        return cls(promotions, carts, found, tuple(found), Catalog(promotions))

    def code(self, index: int) -> str | None:
        if not self.texts or index % 2 == 0:
            return None
        return self.texts[(index // 2) % len(self.texts)]

    def call(self, catalog: Catalog, users: Sequence[User]) -> Callable[[int, datetime], Quote]:
        from liveops_rules.pricing import Pricing

        pricing = Pricing(catalog, codes=self.codes)
        carts, code = self.carts, self.code

        def quote(i: int, at: datetime) -> Quote:
            return pricing.quote(carts[i % len(carts)], users[i], at, promo_code=code(i))

        return quote

    def verify(self, users: Sequence[User], moments: Sequence[datetime]) -> None:
        """Every quote to be timed: what it applies is eligible per a naive `is_eligible`
        loop (its promo code too), and its money adds up (each line's discounts are what the
        line lost, no final price above the price, the total the sum of the lines)."""
        quote = self.call(self.catalog, users)
        for index, user in enumerate(users):
            for at in moments:
                eligible = {
                    (p.kind, p.key or "") for p in self.promotions if is_eligible(p, user, at)
                }
                detail = self._problem(quote(index, at), eligible, self.code(index), user, at)
                if detail is not None:
                    raise BenchMismatch("quote", _player(user, index), at, 1, detail)

    def _problem(
        self,
        quote: Quote,
        eligible: set[tuple[PromotionKind, str]],
        code: str | None,
        user: User,
        at: datetime,
    ) -> str | None:
        for applied in quote.applied:
            if applied.kind is PromotionKind.PROMO_CODE:
                promo = None if code is None else self.codes.get(code)
                if promo is None or not is_eligible(promo, user, at):
                    return f"it applies promo code {applied.id}, which is not eligible"
            elif (applied.kind, applied.id) not in eligible:
                return f"it applies {applied.kind.value}:{applied.id}, which is not eligible"
        with localcontext(WIDE):
            total = before = Decimal(0)
            for line in quote.lines:
                if line.price is None:
                    continue
                assert line.final_price is not None
                assert line.total is not None
                assert line.total_before is not None
                if line.final_price > line.price or line.final_price < 0:
                    return f"line {line.sku} costs {line.final_price}, its price {line.price}"
                took = sum((a.amount for a in line.applied), Decimal(0))
                if line.total != line.final_price * line.quantity or took != (
                    line.total_before - line.total
                ):
                    return f"line {line.sku}: its total and discounts do not add up"
                total += line.total
                before += line.total_before
            taken = sum((a.amount for a in quote.applied), Decimal(0))
            if total != quote.total or before != quote.total_before:
                return f"total {quote.total} is not the sum of its lines ({total})"
            if quote.total > quote.total_before or taken != quote.discount:
                return f"total {quote.total} against {quote.total_before} before discounts"
        return None


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
    tracing = tracemalloc.is_tracing()  # a caller's own tracing is left as it was
    if not tracing:
        tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        catalog = Catalog(promotions)
        after, _ = tracemalloc.get_traced_memory()
    finally:
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


def _check_moments(moments: object, promotions: Sequence[Promotion]) -> Moments:
    if moments is None:
        return choose_moments(promotions)
    note: object = "as given"
    given: object = moments
    if isinstance(moments, Moments):
        given, note = moments.moments, moments.note
    if isinstance(given, str) or not isinstance(given, Sequence):
        raise ValidationError.single("moments", "a sequence of datetimes", given)
    if not 1 <= len(given) <= MAX_MOMENTS:
        raise ValidationError.single("moments", f"from 1 to {MAX_MOMENTS} moments", given)
    for index, at in enumerate(given):
        check_moment(at, f"moments[{index}]")
    if not isinstance(note, str):
        raise ValidationError.single("moments.note", "a string", note)
    return Moments(tuple(given), note)


def _check_codes(codes: object) -> dict[tuple[PromotionKind, str], tuple[str, ...]]:
    if codes is None:
        return {}
    if not isinstance(codes, Mapping):
        raise ValidationError.single(
            "codes", "a mapping of (kind, id) to codes, as load_catalog_codes reads", codes
        )
    checked: dict[tuple[PromotionKind, str], tuple[str, ...]] = {}
    for key, found in codes.items():
        if not (
            isinstance(key, tuple)
            and len(key) == 2
            and isinstance(key[0], PromotionKind)
            and isinstance(key[1], str)
        ):
            raise ValidationError.single("codes", "keys (PromotionKind, id)", key)
        name = f"codes[{key[0].value}:{key[1]}]"
        if (
            isinstance(found, str)
            or not isinstance(found, Sequence)
            or not all(isinstance(code, str) for code in found)
        ):
            raise ValidationError.single(name, "a sequence of codes (strings)", found)
        checked[key] = tuple(found)
    return checked


def _check_store(store: object) -> None:
    if store is None:
        return
    from liveops_rules.stores.protocol import RedemptionStore

    if not isinstance(store, RedemptionStore) and not callable(store):
        raise ValidationError.single(
            "store", "a RedemptionStore, or a callable opening one (StoreOpener)", store
        )


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
    store: RedemptionStore | StoreOpener | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BenchReport:
    """Measure `what` (of OPERATIONS) for every player at every moment, `repeat` times, on
    the catalog and on each of its `scales` (see `scaled`).

    `moments` default: `choose_moments(promotions)`. `quote`: player i prices cart
    i mod len(carts); when the catalog has promo codes, each odd-numbered player i uses promo
    code (i // 2) mod their number (in catalog order), so half the quotes carry one. `redeem`:
    player i redeems code i mod the number of codes (the catalog's `codes`, as
    `load_catalog_codes` reads them), on `store` after the catalog is imported into it, or by
    default on a throwaway SQLite file. `store` is a store, or a `StoreOpener` called only
    when redeem timing starts (after every check: a refused run opens nothing).
    `progress(done, total)` is called as calls are timed.

    Quotes and redeems are timed on the catalog itself only, reported at scale 1 whatever
    `scales` says: a scaled catalog's copies stack their discounts on the same cart (another
    quote, not the same one on a larger catalog) and carry no codes.

    Raises BenchMismatch, before any timing, when the Catalog and the naive loop disagree or
    a quote is inconsistent; ValidationError for a wrong input, naming it, and when the run
    would take more than MAX_SAMPLES samples per operation.
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
    moments = _check_moments(moments, promotions)
    checked_codes = _check_codes(codes)
    code_list = [code for found in checked_codes.values() for code in found]
    if "redeem" in operations and not code_list:
        raise ValidationError.single("codes", "a catalog with codes to redeem", "none")
    _check_store(store)
    if progress is not None and not callable(progress):
        raise ValidationError.single("progress", "a callable progress(done, total)", progress)
    at_list = moments.moments
    count = len(users)
    samples = count * len(at_list) * repeat * len(factors)
    if samples > MAX_SAMPLES:
        raise ValidationError.single(
            "users * moments * repeat * scales",
            f"at most {MAX_SAMPLES:,} samples per operation",
            f"{count} * {len(at_list)} * {repeat} * {len(factors)} = {samples:,}",
        )

    catalogs = {factor: scaled(promotions, factor) for factor in factors}
    # Every answer is checked before the first timing: a benchmark never times wrong ones.
    for factor, copies in catalogs.items():
        _verify(Catalog(copies), copies, users, at_list, operations, factor)
    quoting = None
    if "quote" in operations:
        quoting = _Quoting.of(promotions, checked_codes, carts)
        quoting.verify(users, at_list)

    per_pass = count * len(at_list) * repeat
    per_scale = 2 * ("eligible" in operations) + ("evaluate" in operations)
    once = ("quote" in operations) + ("redeem" in operations)
    ticker = _Progress(per_pass * (len(factors) * per_scale + once), progress)
    builds: list[Build] = []
    results: list[Figures] = []
    # The store is opened (and written) only now, every check done.
    if "redeem" in operations:
        results.append(
            _redeem(promotions, checked_codes, code_list, users, at_list, repeat, store, ticker)
        )
    if quoting is not None:
        call = quoting.call(Catalog(promotions), users)  # no cache the checks warmed
        results.append(_figures("quote", 1, _time_calls(call, count, at_list, repeat, ticker)))
    previous: dict[str, float] = {}
    for factor in factors:
        copies = catalogs[factor]
        builds.append(_build(copies, factor, repeat))
        found = _measure(
            Catalog(copies), copies, users, at_list, operations, repeat, factor, ticker
        )
        for operation in OPERATIONS:
            if operation in found:
                figures = found[operation]
                before = previous.get(operation)
                if before:
                    figures = attrs.evolve(figures, growth=figures.median_us / before)
                previous[operation] = figures.median_us
                results.append(figures)
    results.sort(key=lambda f: (f.scale, OPERATIONS.index(f.operation)))
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
    ticker: _Progress,
) -> dict[str, Figures]:
    """The Catalog's eligibility (the naive loop beside it) and reasons at one scale."""
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
        # Reasons are worked out when first read: reading them is part of the operation. No
        # naive side: `evaluate_all` is the loop over `evaluate` such a side would run.
        library = _time_calls(
            lambda i, at: [d.reasons for d in catalog.evaluate_all(users[i], at)],
            count,
            at_list,
            repeat,
            ticker,
        )
        found["evaluate"] = _figures("evaluate", factor, library)
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
    store: RedemptionStore | StoreOpener | None,
    ticker: _Progress,
) -> Figures:
    from liveops_rules.accounting import Accounting
    from liveops_rules.stores.protocol import RedemptionStore

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
    elif isinstance(store, RedemptionStore):
        samples = run(Accounting(store))
    else:
        opening = store()
        if not isinstance(opening, AbstractContextManager):
            raise ValidationError.single("store", "an opener returning a context manager", opening)
        with opening as opened:
            if not isinstance(opened, RedemptionStore):
                raise ValidationError.single("store", "an opener of a RedemptionStore", opened)
            samples = run(Accounting(opened))
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
    """None when the figure it divides by is 0."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return attrs.asdict(self)


def _keys(keys: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
    return [{"operation": operation, "scale": scale} for operation, scale in keys]


@attrs.frozen
class Comparison:
    """A report against a previous one: every change, the medians slower than allowed, the
    results only one run has, and those whose median could not be compared (0 or missing on
    a side: a timer too coarse to measure it)."""

    max_slowdown: float
    changes: tuple[Change, ...]
    slower: tuple[Change, ...]
    only_before: tuple[tuple[str, int], ...] = ()
    """(operation, scale) measured in the previous run only."""
    only_after: tuple[tuple[str, int], ...] = ()
    """(operation, scale) measured in the new run only."""
    not_compared: tuple[tuple[str, int], ...] = ()
    """(operation, scale) in both whose median is 0 or missing on a side."""

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
            "only_before": _keys(self.only_before),
            "only_after": _keys(self.only_after),
            "not_compared": _keys(self.not_compared),
        }


def _number(data: Mapping[str, Any], key: str, path: str) -> float | None:
    value: object = data.get(key)
    if value is None:
        return None
    if (
        not isinstance(value, int | float | Decimal)  # strict JSON reads fractions as Decimal
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValidationError.single(f"{path}.{key}", "a non-negative number or null", value)
    return float(value)


def _header(data: Mapping[str, Any], problems: list[Problem]) -> dict[str, Any]:
    """The fields of a report that say what was measured (`_HEADER`), checked."""
    header: dict[str, Any] = {}
    for key in _HEADER:
        value = data.get(key)
        if key == "moments":
            if not isinstance(value, list) or not all(isinstance(m, str) for m in value):
                problems.append(Problem("$.moments", "a list of moments", describe(value)))
                continue
        elif type(value) is not int or value < 0:
            problems.append(Problem(f"$.{key}", "a non-negative whole number", describe(value)))
            continue
        header[key] = value
    return header


def _load(data: object) -> tuple[dict[str, Any], dict[tuple[str, int], dict[str, float]]]:
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
    header = _header(data, problems)
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
                value = _number(result, key, path)
                if value is not None:
                    read[key] = value
            figures[operation, scale] = read
        except ValidationError as error:
            problems.extend(error.problems)
    if problems:
        raise ValidationError(problems)
    return header, figures


def load_report(data: object) -> dict[tuple[str, int], dict[str, float]]:
    """The figures of a `BenchReport.to_dict` document (as read from JSON), by (operation,
    scale); a ValidationError naming the first thing wrong. The fields that say what was
    measured (promotions, codes, players, moments, repeat) must be there too."""
    return _load(data)[1]


def _ordered(keys: Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(keys, key=lambda k: (k[1], OPERATIONS.index(k[0]))))


def compare(
    previous: object,
    report: BenchReport | object,
    *,
    max_slowdown: float = DEFAULT_MAX_SLOWDOWN,
) -> Comparison:
    """`report` (a BenchReport or its `to_dict`) against `previous` (a `to_dict` document):
    the change of every figure both have, and the medians more than `max_slowdown` times
    slower (a factor above 1: 1.5 is 50% slower). A median of 0 or missing on a side is not
    compared (`not_compared`); results only one run has are listed.

    ValidationError for a malformed document; IncomparableReportsError when the runs differ in
    promotions, codes, players, moments or repeat, or have no operation and scale in common.
    """
    if (
        type(max_slowdown) not in (int, float)
        or not math.isfinite(max_slowdown)
        or max_slowdown < 1
    ):
        raise ValidationError.single("max_slowdown", "a factor of 1 or more", max_slowdown)
    was_run, before = _load(previous)
    run, after = _load(report.to_dict() if isinstance(report, BenchReport) else report)
    differ = [
        Problem(key, f"{describe(was_run[key])} as in the previous run", describe(run[key]))
        for key in _HEADER
        if was_run[key] != run[key]
    ]
    if differ:
        raise IncomparableReportsError(differ)
    common = _ordered(before.keys() & after.keys())
    if not common:
        raise IncomparableReportsError.single(
            "results",
            "an operation and scale measured in both runs",
            f"previous {_describe_keys(_ordered(before))}, new {_describe_keys(_ordered(after))}",
        )
    changes: list[Change] = []
    slower: list[Change] = []
    not_compared: list[tuple[str, int]] = []
    for key in common:
        old, figures = before[key], after[key]
        if not old.get("median_us") or not figures.get("median_us"):
            not_compared.append(key)
        for name, value in figures.items():
            was = old.get(name)
            if was is None or (name == "median_us" and key in not_compared):
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
    return Comparison(
        float(max_slowdown),
        tuple(changes),
        tuple(slower),
        only_before=_ordered(before.keys() - after.keys()),
        only_after=_ordered(after.keys() - before.keys()),
        not_compared=tuple(not_compared),
    )


def _describe_keys(keys: Sequence[tuple[str, int]]) -> str:
    return ", ".join(f"{operation} x{scale}" for operation, scale in keys) or "no results"
