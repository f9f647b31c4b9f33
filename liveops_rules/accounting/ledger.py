"""The ledger check: counters against what the append-only ledger implies."""

from __future__ import annotations

from liveops_rules.stores.protocol import CounterState, RedemptionStore

__all__ = ["check_ledger"]


def check_ledger(store: RedemptionStore) -> list[str]:
    """Every disagreement between the store's counters and what its ledger implies, and every
    broken invariant (used, reserved >= 0; used + reserved <= limit + extra); [] when sound."""
    implied: dict[str, list[int]] = {}
    ledger, counters = store.audit()  # one snapshot: counting may go on meanwhile
    for entry in ledger:
        for key, used, reserved, extra in entry.deltas:
            totals = implied.setdefault(key, [0, 0, 0])
            totals[0] += used
            totals[1] += reserved
            totals[2] += extra
    problems = []
    for key in sorted(set(implied) | set(counters)):
        state = counters.get(key, CounterState())
        used, reserved, extra = implied.get(key, [0, 0, 0])
        if (state.used, state.reserved, state.extra) != (used, reserved, extra):
            problems.append(
                f"{key}: counter used={state.used} reserved={state.reserved} extra={state.extra}, "
                f"ledger implies used={used} reserved={reserved} extra={extra}"
            )
        if state.used < 0 or state.reserved < 0:
            problems.append(f"{key}: negative used or reserved")
        if state.limit is not None and state.used + state.reserved > state.limit + state.extra:
            problems.append(
                f"{key}: used {state.used} + reserved {state.reserved} over "
                f"limit {state.limit} + extra {state.extra}"
            )
    return problems
