"""What a store keeps of sales: how many units of each SKU paid orders bought, by UTC day,
each order counted once (for upsell's best sellers). `sales_recorded` and `sold_in` are the
steps (see `accounting.steps`); `record_sales` and `best_sellers` run them on a store."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from liveops_rules.accounting import AccountingError, Refusal
from liveops_rules.accounting.steps import Steps, call, run_steps
from liveops_rules.chains.progress import Progress
from liveops_rules.errors import StoreError, ValidationError
from liveops_rules.models.values import SKU_PATTERN
from liveops_rules.stores import CounterSpec, CountResult, RedemptionStore
from liveops_rules.stores.bounds import check_count, check_stored_moment, check_text
from liveops_rules.stores.protocol import IdempotencyConflict

__all__ = ["MAX_WINDOW_DAYS", "best_sellers", "record_sales", "sales_recorded", "sold_in"]

_SKU = re.compile(SKU_PATTERN)

MAX_WINDOW_DAYS = 366
"""The longest window `best_sellers` looks back over."""


def _day(at: datetime) -> str:
    return at.astimezone(UTC).date().isoformat()


def _prefix(day: str) -> str:
    return f"u|sold|{day}|"


def _never(result: CountResult) -> Steps[Refusal]:
    raise StoreError(f"an unlimited sales counter refused a count: {result}")
    yield  # steps that end before asking anything


def record_sales(
    store: RedemptionStore, order_id: str, lines: Sequence[tuple[str, int]], at: datetime
) -> bool:
    """`sales_recorded` on `store`."""
    return run_steps(sales_recorded(order_id, lines, at), store)


def sales_recorded(order_id: str, lines: Sequence[tuple[str, int]], at: datetime) -> Steps[bool]:
    """Count a paid order's `(sku, quantity)` lines (a SKU's lines added up) as sold on `at`'s
    UTC day, once per order id whatever the retries (the same order id with other lines is an
    AccountingError `idempotency_conflict`); True when this call counted them. Every line and
    key is checked before anything is counted."""
    check_stored_moment(at)
    check_text(order_id, "order_id")
    totals: dict[str, int] = {}
    for index, line in enumerate(lines):
        if not isinstance(line, tuple) or len(line) != 2:
            raise ValidationError.single(f"lines[{index}]", "a (sku, quantity) pair", line)
        sku, quantity = line
        if not isinstance(sku, str) or not _SKU.fullmatch(sku):
            raise ValidationError.single(f"lines[{index}].sku", "an item SKU", sku)
        check_count(quantity, f"lines[{index}].quantity")
        totals[sku] = check_count(totals.get(sku, 0) + quantity, f"lines[{index}].quantity")
    day = _day(at)
    for sku in totals:  # every key fits before anything is counted
        check_text(f"sale|{order_id}|{sku}", "order_id and sku")
        check_text(_prefix(day) + sku, "sku")
    # One identity for the whole order: a retry with other lines is refused, never added.
    identity = json.dumps(["sale", sorted(totals.items())])
    try:  # the order's lines claimed first: other lines under its id are refused here
        yield call("remember", f"sale|{order_id}", identity, json.dumps(sorted(totals.items())))
    except IdempotencyConflict:
        raise AccountingError(
            "idempotency_conflict", f"Order {order_id}'s sales were recorded with other lines."
        ) from None
    progress = Progress()
    counted = False
    for sku, quantity in sorted(totals.items()):
        outcome = yield from progress.count(
            "sale",
            f"sale:{sku}",
            "",
            at,
            [CounterSpec(_prefix(day) + sku, None)],
            version=None,
            quantity=quantity,
            idempotency_key=f"sale|{order_id}|{sku}",
            identity=identity,
            refusal=_never,
        )
        assert outcome is not None
        counted = counted or not outcome.replayed
    return counted


def best_sellers(store: RedemptionStore, at: datetime, *, days: int = 30) -> list[tuple[str, int]]:
    """`sold_in` on `store`."""
    return run_steps(sold_in(at, days=days), store)


def sold_in(at: datetime, *, days: int = 30) -> Steps[list[tuple[str, int]]]:
    """The SKUs sold in the `days` UTC days up to `at`'s (its own included), with the units
    sold, most first, ties by SKU."""
    check_stored_moment(at)
    check_count(days, "days", 1, MAX_WINDOW_DAYS)
    totals: dict[str, int] = {}
    today = at.astimezone(UTC).date()
    for back in range(min(days, (today - date.min).days + 1)):  # none before year 1
        day = (today - timedelta(days=back)).isoformat()
        head = _prefix(day)
        for key, state in (yield call("counters_with_prefix", head)).items():
            sku = key[len(head) :]
            totals[sku] = totals.get(sku, 0) + state.used
    return sorted(((sku, n) for sku, n in totals.items() if n > 0), key=lambda p: (-p[1], p[0]))
