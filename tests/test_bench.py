"""The benchmark API: figures consistent (never their speed), answers checked before timing,
synthetic players, scaled catalogs, redeems on a throwaway store, comparing reports."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
import pytest

import liveops_rules.bench as bench
from liveops_rules.bench import (
    BenchMismatch,
    IncomparableReportsError,
    choose_moments,
    compare,
    load_report,
    run_bench,
    scaled,
    synthetic_users,
)
from liveops_rules.catalog import Catalog
from liveops_rules.cli.inputs import read_input_file
from liveops_rules.errors import LiveOpsError, ValidationError
from liveops_rules.evaluate import evaluate
from liveops_rules.models import PromotionKind, User
from liveops_rules.models.cart import Cart, CartLine
from liveops_rules.pricing import AppliedPromotion
from liveops_rules.wire import load_cart, load_catalog_codes, load_user

SAMPLES = Path(str(resources.files("liveops_rules").joinpath("samples")))
AT = datetime(2026, 11, 28, 12, tzinfo=UTC)
PROMOTIONS, CODES = load_catalog_codes(read_input_file(str(SAMPLES / "catalog.json")))
USER = load_user(read_input_file(str(SAMPLES / "user.json")))
CART = load_cart(read_input_file(str(SAMPLES / "cart.json")))


def _consistent(figures: bench.Figures, samples: int) -> None:
    assert figures.samples == samples
    assert 0 < figures.median_us <= figures.p90_us <= figures.p99_us <= figures.max_us
    assert figures.throughput_per_s is not None
    assert figures.throughput_per_s > 0


def test_every_operation_on_the_samples_has_consistent_figures() -> None:
    users = [USER, *synthetic_users(PROMOTIONS, 9, seed=3)]
    report = run_bench(
        PROMOTIONS,
        users,
        moments=[AT],
        codes=CODES,
        carts=[CART],
        what=("eligible", "evaluate", "quote", "redeem"),
        repeat=2,
        scales=(1, 2),
    )
    assert report.players == 10
    assert report.scales == (1, 2)
    assert [(b.scale, b.promotions) for b in report.builds] == [(1, 10), (2, 20)]
    assert all(b.build_seconds > 0 and b.memory_bytes > 0 for b in report.builds)
    measured = {(f.operation, f.scale) for f in report.results}
    assert measured == {
        ("eligible", 1),
        ("evaluate", 1),
        ("quote", 1),
        ("redeem", 1),
        ("eligible", 2),
        ("evaluate", 2),
    }  # quotes and redeems on the catalog itself only: scaled copies stack discounts
    for figures in report.results:
        _consistent(figures, 10 * 2)
        if figures.operation == "eligible":
            assert figures.naive_median_us is not None
            assert figures.naive_median_us > 0
            assert figures.naive_ratio is not None
            assert figures.naive_ratio > 0
        else:  # evaluate_all is the naive loop itself: no ratio to show
            assert figures.naive_median_us is None
            assert figures.naive_ratio is None
        assert (figures.growth is None) == (figures.scale == 1)
    document = report.to_dict()
    assert document["liveops_rules"]
    assert document["python"]
    assert document["moments"] == [AT.isoformat()]
    keys = {tuple(sorted(result)) for result in document["results"]}
    assert len(keys) == 1  # every result has the same keys


def test_moments_multiply_the_samples_and_are_chosen_the_same_each_time() -> None:
    moments = choose_moments(PROMOTIONS, 3)
    assert moments == choose_moments(PROMOTIONS, 3)
    assert len(moments.moments) == 3
    default = choose_moments(PROMOTIONS)
    assert len(default.moments) == 1
    assert "inside the most windows" in default.note
    report = run_bench(PROMOTIONS, [USER, USER], moments=moments, what=("eligible",), repeat=2)
    figures = report.figure("eligible")
    assert figures is not None
    _consistent(figures, 2 * 3 * 2)


def test_synthetic_users_are_reproducible_and_name_the_catalogs_attributes() -> None:
    first = synthetic_users(PROMOTIONS, 50, seed=7)
    assert first == synthetic_users(PROMOTIONS, 50, seed=7)
    assert first != synthetic_users(PROMOTIONS, 50, seed=8)
    assert len({u.id for u in first}) == 50
    named = {c.attribute for p in PROMOTIONS for c in p.conditions}
    seen = {name for user in first for name in user.attributes}
    assert seen == named
    assert any(len(user.attributes) < len(named) for user in first)  # some missing
    assert any(user.attributes.get("tier") == "gold" for user in first)
    assert {"9", "10", "11"} <= {user.attributes.get("level") for user in first}


@pytest.mark.parametrize("factor", [1, 2, 5])
def test_scaled_copies_have_unique_ids_and_evaluate_as_their_originals(factor: int) -> None:
    copies = scaled(PROMOTIONS, factor)
    assert len(copies) == factor * len(PROMOTIONS)
    assert len({(p.kind, p.key) for p in copies}) == len(copies)
    Catalog(copies)  # valid ids
    users = [USER, *synthetic_users(PROMOTIONS, 20, seed=1)]
    for index, promotion in enumerate(copies):
        original = PROMOTIONS[index % len(PROMOTIONS)]
        for user in users:
            assert evaluate(promotion, user, AT).eligible == evaluate(original, user, AT).eligible
            assert [r.to_dict() for r in evaluate(promotion, user, AT).reasons] == [
                r.to_dict() for r in evaluate(original, user, AT).reasons
            ]


def test_a_wrong_library_answer_stops_the_bench_before_any_timing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    right = Catalog.eligible

    def dropping(self: Catalog, *args: object, **kwargs: object) -> list[object]:
        return list(right(self, *args, **kwargs)[1:])  # type: ignore[arg-type]

    def no_timing() -> int:
        raise AssertionError("timed before the answers were checked")

    monkeypatch.setattr(Catalog, "eligible", dropping)
    monkeypatch.setattr(bench, "_clock", no_timing)
    with pytest.raises(BenchMismatch) as error:
        run_bench(PROMOTIONS, [USER], moments=[AT], what=("eligible", "evaluate"))
    assert isinstance(error.value, LiveOpsError)
    assert error.value.player == "player-42"
    assert error.value.at == AT
    assert "player-42" in str(error.value)
    assert AT.isoformat() in str(error.value)


def test_redeem_on_a_throwaway_store_counts_every_call() -> None:
    users = synthetic_users(PROMOTIONS, 7, seed=2)
    report = run_bench(PROMOTIONS, users, moments=[AT], codes=CODES, what=("redeem",), repeat=3)
    figures = report.figure("redeem")
    assert figures is not None
    _consistent(figures, 7 * 3)
    assert figures.ok is not None
    assert figures.refused is not None
    assert figures.ok + figures.refused == 7 * 3
    assert figures.refused > 0  # a user limit of 1: the repeats are refused


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ({"repeat": 0}, "repeat"),
        ({"repeat": 1001}, "repeat"),
        ({"scales": (1, 65)}, "scales[1]"),
        ({"scales": (2, 1)}, "scales"),
        ({"what": ("eligible", "fly")}, "what"),
        ({"what": ("quote",)}, "carts"),
        ({"moments": []}, "moments"),
        ({"moments": [datetime(2026, 1, 1)]}, "moments[0]"),
    ],
)
def test_wrong_inputs_are_named(options: dict[str, object], path: str) -> None:
    with pytest.raises(ValidationError) as error:
        run_bench(PROMOTIONS, [USER], **options)  # type: ignore[arg-type]
    assert error.value.problems[0].path == path


def test_bounds_of_counts() -> None:
    with pytest.raises(ValidationError):
        synthetic_users(PROMOTIONS, 0)
    with pytest.raises(ValidationError):
        synthetic_users(PROMOTIONS, 1_000_001)
    with pytest.raises(ValidationError):
        scaled(PROMOTIONS, 65)
    with pytest.raises(ValidationError):
        run_bench(PROMOTIONS, [])
    with pytest.raises(ValidationError):
        run_bench(PROMOTIONS, [USER], what=("redeem",), codes={})


HEADER = {"promotions": 10, "codes": 4, "players": 10, "moments": [AT.isoformat()], "repeat": 1}


def _report(median: float) -> dict[str, Any]:
    result = {
        "operation": "eligible",
        "scale": 1,
        "samples": 10,
        "median_us": median,
        "p90_us": median * 2,
        "p99_us": median * 3,
        "max_us": median * 4,
        "throughput_per_s": 1e6 / median,
        "naive_median_us": None,
        "naive_ratio": None,
        "growth": None,
        "ok": None,
        "refused": None,
    }
    return {
        **HEADER,
        "results": [result, {**result, "operation": "evaluate", "median_us": 100.0}],
    }


def test_compare_flags_a_median_slower_than_the_factor_and_not_below_it() -> None:
    before = _report(10.0)
    assert compare(before, _report(14.9), max_slowdown=1.5).ok
    slower = compare(before, _report(15.1), max_slowdown=1.5)
    assert not slower.ok
    assert [(c.operation, c.figure) for c in slower.slower] == [("eligible", "median_us")]
    assert slower.slower[0].factor == pytest.approx(1.51)
    assert compare(before, _report(15.1), max_slowdown=2).ok
    assert compare(before, _report(1.0)).ok  # faster is fine
    throughput = [c for c in slower.changes if c.figure == "throughput_per_s"]
    assert throughput[0].factor == pytest.approx(1.51)  # above 1: slower, as for latency
    assert compare(before, before).to_dict()["ok"] is True


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d.pop("results"), "$.results"),
        (lambda d: d["results"][0].update(median_us="fast"), "$.results[0].median_us"),
        (lambda d: d["results"][0].update(median_us=-1), "$.results[0].median_us"),
        (lambda d: d.pop("players"), "$.players"),
        (lambda d: d.update(moments="today"), "$.moments"),
        (lambda d: d["results"][1].update(operation="fly"), "$.results[1].operation"),
        (lambda d: d["results"][0].update(scale=0), "$.results[0].scale"),
        (lambda d: d["results"][0].update(p90_us=-1), "$.results[0].p90_us"),
    ],
)
def test_a_malformed_previous_report_is_named(change: object, path: str) -> None:
    document = copy.deepcopy(_report(10.0))
    change(document)  # type: ignore[operator]
    with pytest.raises(ValidationError) as error:
        load_report(document)
    assert error.value.problems[0].path == path
    with pytest.raises(ValidationError):
        compare(document, _report(10.0))
    with pytest.raises(ValidationError):
        compare(_report(10.0), _report(10.0), max_slowdown=0.5)


def _no_timing() -> int:
    raise AssertionError("timed before the answers were checked")


# -- quotes -------------------------------------------------------------------------------


def test_quotes_are_timed_on_the_catalog_itself_and_half_use_a_promo_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from liveops_rules.pricing import Pricing

    right = Pricing.quote
    asked: list[tuple[str | None, object]] = []

    def recording(self: Pricing, cart: object, user: Any, at: object, **kwargs: Any) -> Any:
        asked.append((user.id, kwargs.get("promo_code")))
        return right(self, cart, user, at, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Pricing, "quote", recording)
    users = synthetic_users(PROMOTIONS, 4, seed=5)
    report = run_bench(
        PROMOTIONS, users, moments=[AT], codes=CODES, carts=[CART], what=("quote",), scales=(2,)
    )
    assert [(f.operation, f.scale) for f in report.results] == [("quote", 1)]
    # checked once, then timed once: players 1 and 3 use the catalog's promo code
    expected = [(u.id, "BLACKFRIDAY" if i % 2 else None) for i, u in enumerate(users)]
    assert asked == expected * 2


def _dearer(line: Any) -> Any:
    """The line with a final price above its price (a virtual-currency line as it was)."""
    if line.price is None:
        return line
    return attrs.evolve(line, final_price=line.price + 1)


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        (lambda q: attrs.evolve(q, total=q.total + 1), "not the sum of its lines"),
        (
            lambda q: attrs.evolve(
                q, applied=(*q.applied, AppliedPromotion(PromotionKind.ITEM_DISCOUNT, "999", 0))
            ),
            "discount:999, which is not eligible",
        ),
        (
            lambda q: attrs.evolve(q, lines=tuple(_dearer(line) for line in q.lines)),
            "its price",
        ),
    ],
)
def test_a_wrong_quote_stops_the_bench_before_any_timing(
    change: Any, detail: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from liveops_rules.pricing import Pricing

    right = Pricing.quote
    monkeypatch.setattr(Pricing, "quote", lambda *a, **k: change(right(*a, **k)))
    monkeypatch.setattr(bench, "_clock", _no_timing)
    with pytest.raises(BenchMismatch) as error:
        run_bench(PROMOTIONS, [USER], moments=[AT], codes=CODES, carts=[CART], what=("quote",))
    assert error.value.operation == "quote"
    assert detail in error.value.detail


def test_the_samples_quote_checks_out() -> None:
    quoting = bench._Quoting.of(PROMOTIONS, CODES, [CART])
    quoting.verify([USER, *synthetic_users(PROMOTIONS, 30, seed=4)], [AT])
    assert quoting.code(0) is None
    assert quoting.code(1) == "BLACKFRIDAY"


# -- evaluate, scales ---------------------------------------------------------------------


@pytest.mark.parametrize("broken", ["eligible", "evaluate_all"])
def test_an_evaluate_mismatch_stops_the_bench(broken: str, monkeypatch: pytest.MonkeyPatch) -> None:
    right = getattr(Catalog, broken)

    def dropping(self: Catalog, *args: Any, **kwargs: Any) -> list[Any]:
        return list(right(self, *args, **kwargs)[1:])

    monkeypatch.setattr(Catalog, broken, dropping)
    monkeypatch.setattr(bench, "_clock", _no_timing)
    with pytest.raises(BenchMismatch) as error:
        run_bench(PROMOTIONS, [USER], moments=[AT], what=("evaluate",))
    assert error.value.operation == "evaluate"


def test_a_mismatch_only_at_scale_2_stops_the_bench(monkeypatch: pytest.MonkeyPatch) -> None:
    right = Catalog.eligible

    def wrong_when_scaled(self: Catalog, *args: Any, **kwargs: Any) -> list[Any]:
        found = right(self, *args, **kwargs)
        return found[1:] if len(self) > len(PROMOTIONS) else found

    monkeypatch.setattr(Catalog, "eligible", wrong_when_scaled)
    run_bench(PROMOTIONS, [USER], moments=[AT], what=("eligible",))  # scale 1 alone: fine
    monkeypatch.setattr(bench, "_clock", _no_timing)
    with pytest.raises(BenchMismatch) as error:
        run_bench(PROMOTIONS, [USER], moments=[AT], what=("eligible",), scales=(1, 2))
    assert error.value.scale == 2


def test_scaled_copies_exclude_their_own_copies() -> None:
    from liveops_rules.models import ItemDiscount
    from liveops_rules.pricing import Pricing

    one = ItemDiscount(promotion_id=1, discount_percent="10", items=["a"], enabled=True)
    two = ItemDiscount(
        promotion_id=2, discount_percent="20", items=["a"], enabled=True, excluded_promotions=[1]
    )
    copies = scaled([one, two], 3)
    assert [p.promotion_id for p in copies] == [1, 2, 3, 4, 5, 6]
    assert [tuple(p.excluded_promotions) for p in copies] == [(), (1,), (), (3,), (), (5,)]
    cart = Cart(currency="USD", lines=[CartLine(sku="a", price="10.00", quantity=1)])
    quote = Pricing(copies).quote(cart, User("p", {}), AT)
    assert sorted(a.id for a in quote.applied) == ["2", "4", "6"]  # each copy of 2 drops its 1


# -- inputs, bounds, tracing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ({"moments": bench.Moments((), "none")}, "moments"),
        ({"moments": bench.Moments((datetime(2026, 1, 1),), "naive")}, "moments[0]"),
        ({"codes": [1, 2]}, "codes"),
        ({"codes": {(PromotionKind.COUPON, "winter_gift"): "AB"}}, "codes[coupon:winter_gift]"),
        ({"codes": {"winter_gift": ["AB"]}}, "codes"),
        ({"store": object()}, "store"),
        ({"progress": 5}, "progress"),
    ],
)
def test_wrong_library_inputs_are_named(options: dict[str, object], path: str) -> None:
    with pytest.raises(ValidationError) as error:
        run_bench(PROMOTIONS, [USER], **options)  # type: ignore[arg-type]
    assert error.value.problems[0].path == path


def test_the_total_samples_of_a_run_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_checking(*args: object) -> None:
        raise AssertionError("started a run past the bound")

    monkeypatch.setattr(bench, "_verify", no_checking)
    with pytest.raises(ValidationError) as error:
        run_bench(
            PROMOTIONS,
            [USER] * 2,
            moments=choose_moments(PROMOTIONS, 1000),
            repeat=1000,
            scales=tuple(range(1, 17)),
        )
    problem = error.value.problems[0]
    assert problem.path == "users * moments * repeat * scales"
    assert "2 * 1000 * 1000 * 16 = 32,000,000" in problem.found
    assert "10,000,000" in problem.expected


def test_tracing_stops_when_the_traced_build_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    import tracemalloc

    def failing(promotions: object) -> object:
        if tracemalloc.is_tracing():
            raise MemoryError
        return object()

    monkeypatch.setattr(bench, "Catalog", failing)
    assert not tracemalloc.is_tracing()
    with pytest.raises(MemoryError):
        bench._build(PROMOTIONS, 1, 1)
    assert not tracemalloc.is_tracing()
    tracemalloc.start()  # the caller's own tracing is left on
    try:
        with pytest.raises(MemoryError):
            bench._build(PROMOTIONS, 1, 1)
        assert tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()


# -- stores -------------------------------------------------------------------------------


def test_a_store_is_opened_only_once_every_check_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    from contextlib import contextmanager

    from liveops_rules.stores import open_store

    opened: list[str] = []

    @contextmanager
    def opener() -> Any:
        opened.append("open")
        store = open_store("memory://")
        try:
            yield store
        finally:
            store.close()

    users = [USER]
    with pytest.raises(ValidationError):  # no codes to redeem
        run_bench(PROMOTIONS, users, moments=[AT], what=("redeem",), store=opener)
    monkeypatch.setattr(Catalog, "eligible", lambda self, user, at, kinds=None: [])
    with pytest.raises(BenchMismatch):
        run_bench(
            PROMOTIONS, users, moments=[AT], codes=CODES, what=("eligible", "redeem"), store=opener
        )
    assert opened == []
    monkeypatch.undo()
    report = run_bench(PROMOTIONS, users, moments=[AT], codes=CODES, what=("redeem",), store=opener)
    assert opened == ["open"]
    assert report.figure("redeem") is not None


# -- zero medians, comparing --------------------------------------------------------------


def test_a_zero_median_has_no_throughput_and_compares_with_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bench, "_clock", lambda: 5)  # a timer too coarse to see a call
    report = run_bench(PROMOTIONS, [USER], moments=[AT])
    figures = report.figure("eligible")
    assert figures is not None
    assert figures.median_us == 0
    assert figures.throughput_per_s is None
    assert figures.naive_ratio is None
    comparison = compare(report.to_dict(), report)
    assert comparison.ok
    assert comparison.not_compared == (("eligible", 1), ("evaluate", 1))
    assert not [c for c in comparison.changes if c.figure == "median_us"]
    document = comparison.to_dict()
    assert document["not_compared"][0] == {"operation": "eligible", "scale": 1}


def test_compare_lists_what_only_one_run_has() -> None:
    before = _report(10.0)
    after = copy.deepcopy(before)
    after["results"][1]["scale"] = 2
    comparison = compare(before, after)
    assert comparison.only_before == (("evaluate", 1),)
    assert comparison.only_after == (("evaluate", 2),)
    assert [c.operation for c in comparison.changes] == ["eligible"] * 5


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d.update(results=[]), "results"),
        (lambda d: [r.update(scale=2) for r in d["results"]], "results"),
        (lambda d: d.update(promotions=1), "promotions"),
        (lambda d: d.update(codes=0), "codes"),
        (lambda d: d.update(players=11), "players"),
        (lambda d: d.update(moments=[]), "moments"),
        (lambda d: d.update(repeat=2), "repeat"),
    ],
)
def test_compare_refuses_runs_that_measured_other_things(change: Any, path: str) -> None:
    previous = copy.deepcopy(_report(10.0))
    change(previous)
    with pytest.raises(IncomparableReportsError) as error:
        compare(previous, _report(10.0))
    assert isinstance(error.value, ValidationError)
    assert error.value.problems[0].path == path
